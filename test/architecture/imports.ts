// Every import under web/src, resolved to the file it names: the graph the
// architecture test checks. Parsed with the TypeScript compiler (Svelte
// files: their <script> blocks), so type-only imports, re-exports, dynamic
// import() and `new URL("./x.ts", import.meta.url)` (a worker's entry) are
// all seen and told apart.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";

export interface ImportEdge {
  /** The importing file, relative to the repository (web/src/...). */
  from: string;
  /** What the import names as written ("../sim/op", "blocklab"). */
  specifier: string;
  /** The file it resolves to, relative to the repository; undefined for a package or an unresolved name. */
  to: string | undefined;
  /** `import type` / `export type` (or every name in braces marked `type`): erased at run time. */
  typeOnly: boolean;
  line: number;
}

const SOURCE = /\.(ts|svelte)$/;

export function sourceFiles(root: string, dir = "web/src"): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(root, rel));
    else if (SOURCE.test(name)) out.push(rel);
  }
  return out;
}

/** The TypeScript of a file: a Svelte component's <script> blocks, with the lines before them blanked so positions stay. */
function scriptOf(text: string, file: string): string {
  if (!file.endsWith(".svelte")) return text;
  let out = "";
  let last = 0;
  for (const m of text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    const start = m.index! + m[0].indexOf(">") + 1;
    out += text.slice(last, start).replace(/[^\n]/g, " ") + m[1];
    last = start + m[1]!.length;
  }
  return out + text.slice(last).replace(/[^\n]/g, " ");
}

function resolveFile(root: string, from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = normalize(join(dirname(from), spec));
  for (const c of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (existsSync(join(root, c)) && statSync(join(root, c)).isFile()) return c;
  }
  return undefined;
}

function allTypeOnly(clause: ts.ImportClause | undefined, named: ts.NamedImportBindings | ts.NamedExportBindings | undefined): boolean {
  if (clause?.name) return false;
  if (!named || !ts.isNamedImports(named) && !ts.isNamedExports(named)) return false;
  const els = (named as ts.NamedImports | ts.NamedExports).elements;
  return els.length > 0 && els.every((e) => e.isTypeOnly);
}

export function importsOf(root: string, file: string): ImportEdge[] {
  const text = scriptOf(readFileSync(join(root, file), "utf8"), file);
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (node: ts.Node, spec: string, typeOnly: boolean) =>
    edges.push({ from: file, specifier: spec, to: resolveFile(root, file, spec), typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      add(node, node.moduleSpecifier.text, c !== undefined && (c.isTypeOnly || allTypeOnly(c, c.namedBindings)));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text, node.isTypeOnly || allTypeOnly(undefined, node.exportClause));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true); // `import("../sim/store").Store` in a type
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node, node.arguments[0].text, false);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "URL" && node.arguments?.length === 2) {
      const [a, b] = node.arguments;
      if (ts.isStringLiteral(a!) && /\.ts$/.test(a.text) && b!.getText(sf) === "import.meta.url") add(node, a.text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

/** The folder a file belongs to: "web/src/linux/dm/table.ts" → "linux"; a file directly in web/src → its name. */
export function layerOf(file: string): string {
  return relative("web/src", file).split("/")[0]!;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.to === undefined) continue;
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)!.add(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const connect = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || next.get(v)?.has(v)) out.push(c.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) connect(v);
  return out;
}
