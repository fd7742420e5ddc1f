// The CLI end to end, as users run it: `node bin/blocklab.mjs ...` in a child
// process, on scenario files written to a temporary folder.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeShareLink } from "../../web/src/api/share-link";

const BIN = fileURLToPath(new URL("../../bin/blocklab.mjs", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const T = 20_000;

interface Ran { code: number; stdout: string; stderr: string }

function cli(args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: T }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const FILES: Record<string, string> = {
  "pass.ts": `import { scenario } from "blocklab";
export default scenario({
  title: "a passing one",
  actors: { a: async (sys) => { await sys.writeFile("/a", "1"); await sys.log("wrote", 1); } },
  invariants: ["progress", { name: "a written", atEnd: true, check: (w) => w.exists("dom0", "/a") }],
});
`,
  "race.ts": `import { scenario } from "blocklab";
const F = "/run/n";
async function bump(sys) {
  const n = Number(await sys.readFile(F));
  console.log("bump sees", n); // must not reach stdout with --json
  await sys.writeFile(F, String(n + 1));
}
export default scenario({
  files: { [F]: { content: "0" } },
  actors: { a: bump, b: bump },
  invariants: [{ name: "n is 2", atEnd: true, check: (w) => w.readFile("dom0", F) === "2" || \`n is \${w.readFile("dom0", F)}\` }],
});
`,
  "syntax.ts": `import { scenario } from "blocklab";
export default scenario({
  actors: {
    a: async (sys) => {
      await sys.readFile("/x"
    },
  },
});
`,
  "boom.ts": `import { scenario } from "blocklab";
export default scenario({
  actors: {
    a: async (sys) => {
      await sys.exists("/x");
      const o: any = undefined;
      o.field = 1;
    },
  },
});
`,
  "vacuous.ts": `import { scenario } from "blocklab";
export default scenario({
  actors: { a: async (sys) => { await sys.writeFile("/a", "1"); } },
  sometimes: [{ name: "b was written", check: (w) => w.exists("dom0", "/b") }],
});
`,
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "blocklab-cli-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("blocklab CLI", () => {
  it("run: a passing scenario exits 0 and prints the verdict and the trace", { timeout: T }, async () => {
    const r = await cli(["run", "pass.ts"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario +a passing one \(pass\.ts\)\nconfig +linux-6\.1, patches none\nmode +run \(default schedule/);
    expect(r.stdout).toMatch(/verdict +PASS/);
    expect(r.stdout).toMatch(/#0 +a +writeFile\("\/a", "1"\) → ok\n +#1 +a +log: wrote 1/);
  });

  it("--json prints the results document and nothing else", { timeout: T }, async () => {
    const r = await cli(["run", "pass.ts", "--json", "--kernel", "linux-6.12"], dir);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).slice(0, 6)).toEqual(["verdict", "config", "mode", "executions", "complete", "violations"]);
    expect(j).toMatchObject({ verdict: "pass", mode: "run", executions: 1, complete: true, violations: [], config: { kernel: "linux-6.12" } });
    expect(j.config.patches["dm-fd"]).toBe(false);
    expect(j.trace.steps).toHaveLength(2);
  });

  it("explore: a violation exits 1 with the invariant, the trace, a replay command and a link; the replay reproduces it", { timeout: T }, async () => {
    const flags = ["--kernel", "linux-6.1.192", "--patch", "blkback-opened"];
    const r = await cli(["explore", "race.ts", ...flags], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/verdict +VIOLATION/);
    expect(r.stdout).toMatch(/explored +\d+ executions?, \d+ states, \d+ transitions; not complete: stopped at the first violation/);
    expect(r.stdout).toMatch(/violation of "n is 2": n is 1\n +#0 +a +readFile\("\/run\/n"\) → "0"\n +#1 +b +readFile\("\/run\/n"\) → "0"/);
    const replay = /^replay +(npx blocklab .*)$/m.exec(r.stdout)![1]!;
    expect(replay).toMatch(/^npx blocklab run race\.ts --kernel linux-6\.1\.192 --patch blkback-opened --schedule 1\.\S+$/);
    const link = /^open +(\S+)$/m.exec(r.stdout)![1]!;
    expect(link.startsWith("http://localhost:4173/#v1/")).toBe(true);

    const again = await cli([...replay.split(" ").slice(2), "--json"], dir);
    expect(again.code).toBe(1);
    const j = JSON.parse(again.stdout);
    expect(j.mode).toBe("run");
    expect(j.config.kernel).toBe("linux-6.1.192");
    expect(j.violations[0]).toMatchObject({ invariant: "n is 2", message: "n is 1", replay });
    expect(j.violations[0].trace.steps.map((s: { actor: string; call: string }) => `${s.actor}:${s.call}`)).toEqual(["a:readFile", "b:readFile", "b:writeFile", "a:writeFile"]); // shortened: one preemption
    expect(again.stderr).toMatch(/bump sees 0/); // the scenario's console output went to stderr

    const shared = await decodeShareLink(link);
    expect(shared.code).toBe(FILES["race.ts"]);
    expect(shared.schedule).toBe(j.violations[0].schedule);
    expect(shared.config).toEqual(j.config);
  });

  it("a syntax error is FILE:LINE:COL with exit 2", { timeout: T }, async () => {
    const r = await cli(["run", "syntax.ts"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^syntax\.ts:6:5: parse error: Expected `,` or `\)` but found `}`\n$/);
  });

  it("an error thrown by an actor is exit 2 with its message and line (also in --json)", { timeout: T }, async () => {
    const r = await cli(["explore", "boom.ts", "--json"], dir);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe("error");
    expect(j.error).toMatchObject({ line: 7, actor: "a" });
    expect(j.error.message).toMatch(/^a: TypeError: Cannot set properties of undefined/);
    expect(r.stderr).toMatch(/^boom\.ts:7:\d+: a: TypeError: Cannot set properties of undefined/);
  });

  it("a sometimes property that never held is exit 4 (vacuous)", { timeout: T }, async () => {
    const r = await cli(["explore", "vacuous.ts"], dir);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/verdict +VACUOUS: never held in any execution: "b was written"/);
    expect(r.stdout).toMatch(/complete: every interleaving up to the bounds/);
  });

  it("bad usage is exit 3 with the usage text: unknown flag, missing file, unknown patch id", { timeout: T }, async () => {
    const [flag, missing, patch] = await Promise.all([
      cli(["run", "pass.ts", "--colour"], dir),
      cli(["explore", "nothere.ts"], dir),
      cli(["run", "pass.ts", "--patch", "dm-fdd"], dir),
    ]);
    for (const r of [flag, missing, patch]) {
      expect(r.code).toBe(3);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/\n\nusage:\n  npx blocklab run/);
    }
    expect(flag.stderr).toMatch(/^blocklab: unknown flag --colour/);
    expect(missing.stderr).toMatch(/^blocklab: no such file: nothere\.ts/);
    expect(patch.stderr).toMatch(/^blocklab: unknown patch id "dm-fdd" .*did you mean "dm-fd"\?/);
  });

  it("gallery lists the lessons, and run/explore take a gallery id", { timeout: T }, async () => {
    const [list, lesson] = await Promise.all([cli(["gallery"], REPO), cli(["explore", "check-then-act", "--patches", "v2"], dir)]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^lost-update +Lost update/m);
    expect(list.stdout).toMatch(/^check-then-act +Check then act/m);
    expect(list.stdout).toMatch(/file: web\/src\/scenarios\/lost-update\.ts/);
    expect(lesson.code).toBe(1);
    expect(lesson.stdout).toMatch(/^config +linux-6\.1, patches v2$/m);
    expect(lesson.stdout).toMatch(/^replay +npx blocklab run check-then-act --patches v2 --schedule /m);
    expect(readFileSync(join(REPO, "web/src/scenarios/check-then-act.ts"), "utf8")).toMatch(/^import \{ scenario, type Sys \} from "blocklab";$/m);
  });
});
