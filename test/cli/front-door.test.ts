// The CLI and the sandbox load a scenario through one front door
// (api/load-scenario.ts): the same broken scenario gives the same message
// at the same place in both. The CLI's side is its main() on a file, as
// `blocklab run FILE --json` (test/cli/cli.test.ts runs the binary itself);
// the sandbox's side is its loading logic (worker/load-job.ts) on the
// scenario transpiled as the editor transpiles it (CommonJS with a source
// map).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_DEFAULT_EXPORT } from "../../web/src/api/load-scenario";
import { loadJob } from "../../web/src/worker/load-job";
import type { JobError } from "../../web/src/worker/protocol";
import { main } from "../../web/src/cli/main";

const ACTORS = `actors: { a: async (sys) => { await sys.exists("/x"); } }`;

/** Broken scenarios, and what the front door says about each (a fragment of the message, and whether it has a place). */
const BROKEN: Record<string, { code: string; says: string; placed: boolean }> = {
  "throws-error.ts": {
    code: `import { scenario } from "blocklab";\nconst where = "nowhere";\nthrow new Error(\`no config \${where}\`);\nexport default scenario({ ${ACTORS} });\n`,
    says: "no config nowhere", placed: true,
  },
  "type-error.ts": {
    code: `import { scenario } from "blocklab";\nconst o: any = undefined;\n  console.log(o.field);\nexport default scenario({ ${ACTORS} });\n`,
    says: "TypeError: Cannot read properties of undefined (reading 'field')", placed: true,
  },
  "throws-string.ts": {
    code: `import { scenario } from "blocklab";\nthrow "boom";\nexport default scenario({ ${ACTORS} });\n`,
    says: "uncaught boom", placed: false,
  },
  "throws-bare-object.ts": {
    code: `import { scenario } from "blocklab";\nthrow Object.create(null);\nexport default scenario({ ${ACTORS} });\n`,
    says: "uncaught {}", placed: false,
  },
  "no-default.ts": {
    code: `import { scenario } from "blocklab";\nexport const s = scenario({ ${ACTORS} });\n`,
    says: NO_DEFAULT_EXPORT, placed: false,
  },
  "not-an-object.ts": {
    code: `export default 42;\n`,
    says: "malformed scenario: a scenario is an object ({ title, actors, ... }), got number", placed: false,
  },
  "malformed-call.ts": {
    code: `import { scenario } from "blocklab";\n\nexport default scenario({ ${ACTORS}, colour: 1 } as any);\n`,
    says: `malformed scenario: scenario: unknown field "colour"`, placed: true,
  },
  "malformed-plain.ts": {
    code: `export default { actors: { a: 1 }, kernel: "linux-9.9", invariants: ["no-lake"] };\n`,
    says: `malformed scenario:\n  - unknown kernel "linux-9.9"`, placed: false,
  },
  "throwing-getter.ts": {
    code: `export default {\n  get actors() {\n    throw new RangeError("no actors today");\n  },\n};\n`,
    says: "RangeError: no actors today", placed: true,
  },
};

/** A scenario that loads, for the problems of what the caller asks of it. */
const GOOD = `import { scenario } from "blocklab";\nexport default scenario({ ${ACTORS} });\n`;

function transpile(code: string, fileName: string): { js: string; sourceMap?: string } {
  // The editor's options (ui/editor/monaco.ts) that shape the emitted code.
  const out = ts.transpileModule(code, { fileName, compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.CommonJS, strict: true, sourceMap: true, esModuleInterop: true } });
  return { js: out.outputText, sourceMap: out.sourceMapText };
}

async function inSandbox(code: string, fileName: string, ask: { overrides?: { patch: [string, string][] }; schedule?: string } = {}): Promise<JobError> {
  const r = await loadJob({ ...transpile(code, fileName), overrides: ask.overrides ?? null, schedule: ask.schedule });
  if (r.ok) throw new Error(`${fileName} loaded in the sandbox`);
  return r.error;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = { stdout: "", stderr: "" };
  const code = await main(args, { out: (t) => { r.stdout += t; }, err: (t) => { r.stderr += t; }, cwd: dir });
  return { code, ...r };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "blocklab-front-door-"));
  for (const [name, { code }] of Object.entries(BROKEN)) writeFileSync(join(dir, name), code);
  writeFileSync(join(dir, "good.ts"), GOOD);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("one front door for the CLI and the sandbox", () => {
  it("a broken scenario: the same message on the same line, in both", async () => {
    for (const [name, { code, says, placed }] of Object.entries(BROKEN)) {
      const r = await cli(["run", name, "--json"]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      const fromCli = JSON.parse(r.stdout).error as { message: string; line?: number; column?: number };
      const fromSandbox = await inSandbox(code, name);
      expect(fromCli.message, name).toContain(says);
      expect(fromSandbox.phase, name).toBe("load");
      expect(fromSandbox.message, name).toBe(fromCli.message);
      // The same line. Columns come through each environment's source map
      // (Vite's transform, TypeScript's emit), which mark different tokens
      // inside an expression: `export default scenario({` is at scenario in
      // one and at { in the other.
      expect(fromSandbox.position?.line, name).toBe(fromCli.line);
      expect(fromCli.line !== undefined, `${name}: placed`).toBe(placed);
    }
  });

  it("what the caller asks that the scenario cannot give: the same words, under each caller's own name for it", async () => {
    const schedule = await cli(["run", "good.ts", "--schedule", "1.z"]);
    const patch = await cli(["run", "good.ts", "--patch", "dm-fd"]);
    const firstLine = (r: { stderr: string }) => r.stderr.split("\n")[0]!;
    expect(schedule.code).toBe(3);
    expect(firstLine(schedule)).toMatch(/^blocklab: the schedule moves actor 35, but the scenario has \d+ actors/);
    expect(await inSandbox(GOOD, "good.ts", { schedule: "1.z" })).toEqual({ phase: "config", message: firstLine(schedule).replace("blocklab: ", "") });

    expect(patch.code).toBe(3);
    expect(firstLine(patch).startsWith(`blocklab: patch "dm-fd" (2/7) needs "bdev-file" (1/7) on too`)).toBe(true);
    expect(await inSandbox(GOOD, "good.ts", { overrides: { patch: [["dm-fd", "on"]] } }))
      .toEqual({ phase: "config", message: `the configuration panel: ${firstLine(patch).replace("blocklab: ", "")}` });
  });
});
