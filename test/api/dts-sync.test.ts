// blocklab.d.ts is what the editor shows users; the runtime must have every
// method it declares, and declare every method it has. The compiler checks
// the types (sys.ts is typed by the .d.ts, and the module shape below); this
// test checks the objects themselves.

import { Machine } from "../../web/src/api/machine";
import { resolveConfig } from "../../web/src/api/config";
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as api from "../../web/src/api/index";
import { makeSys } from "../../web/src/api/sys";

// The implementation's module has every value the declared module promises.
type Declared = typeof import("blocklab");
const _shape: Declared = api;
void _shape;

const DTS = new URL("../../web/src/api/blocklab.d.ts", import.meta.url);

/** Paths of every method of Sys in the .d.ts, following its tool objects (`losetup.attach`). */
function declaredMethods(): string[] {
  const src = ts.createSourceFile("blocklab.d.ts", readFileSync(DTS, "utf8"), ts.ScriptTarget.ES2022, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  const visit = (n: ts.Node) => {
    if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
    ts.forEachChild(n, visit);
  };
  visit(src);
  const out: string[] = [];
  const walk = (name: string, prefix: string) => {
    const decl = interfaces.get(name);
    if (!decl) throw new Error(`interface ${name} not found in blocklab.d.ts`);
    for (const m of decl.members) {
      const key = m.name && ts.isIdentifier(m.name) ? m.name.text : undefined;
      if (!key) continue;
      if (ts.isMethodSignature(m)) out.push(prefix + key);
      else if (ts.isPropertySignature(m) && m.type && ts.isTypeReferenceNode(m.type) && ts.isIdentifier(m.type.typeName) && interfaces.has(m.type.typeName.text)) {
        walk(m.type.typeName.text, `${prefix}${key}.`);
      }
    }
  };
  walk("Sys", "");
  return out.sort();
}

function runtimeMethods(o: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === "function" ? [prefix + k] : typeof v === "object" && v !== null ? runtimeMethods(v as Record<string, unknown>, `${prefix}${k}.`) : [],
  ).sort();
}

describe("blocklab.d.ts and the runtime agree", () => {
  const sys = makeSys({ call: () => new Promise(() => {}) }, { index: 0, name: "a", domain: "dom0" }, new Machine(resolveConfig(undefined, undefined), ["dom0"], [])) as unknown as Record<string, unknown>;

  it("every Sys method declared exists on the runtime Sys object, and no other", () => {
    const declared = declaredMethods();
    expect(declared).toContain("readFile");
    expect(declared).toContain("losetup.attach");
    expect(declared).toContain("xenstore.transaction");
    expect(declared.length).toBeGreaterThan(30);
    expect(runtimeMethods(sys)).toEqual(declared);
  });

  // docs/scenario-api.md is the contract users rely on; its Sys section and
  // the declarations must name the same calls.
  const contractFile = new URL("../../docs/scenario-api.md", import.meta.url);
  const contractNames = (): string[] => {
    const contract = readFileSync(contractFile, "utf8");
    const start = contract.indexOf("## `Sys`");
    const end = contract.indexOf("## Results");
    expect(start, "docs/scenario-api.md has a section \"## `Sys`\"").toBeGreaterThan(0);
    expect(end, "docs/scenario-api.md has a section \"## Results\" after it").toBeGreaterThan(start);
    // A list item names its tool once (`xenstore.read(path)`, `write(path, value)`, ...);
    // bare names after it, on its line or the next ones, belong to that tool.
    const named: string[] = [];
    let tool = "";
    for (const line of contract.slice(start, end).split("\n")) {
      if (line.startsWith("- ")) tool = /`(\w+)\.\w+\(/.exec(line)?.[1] ?? "";
      for (const m of line.matchAll(/`(?:(\w+)\.)?(\w+)\(/g)) named.push(m[1] ? `${m[1]}.${m[2]}` : tool ? `${tool}.${m[2]}` : m[2]!);
    }
    return [...new Set(named)].sort();
  };

  it("declares every call that docs/scenario-api.md's Sys section names", () => {
    const named = contractNames();
    expect(named).toContain("xenstore.waitFor");
    expect(named).toContain("ioctl");
    const declared = declaredMethods();
    expect(named.filter((n) => !declared.includes(n))).toEqual([]);
  });

  it("docs/scenario-api.md's Sys section names every call declared", () => {
    const named = contractNames();
    expect(declaredMethods().filter((n) => !named.includes(n))).toEqual([]);
  });
});
