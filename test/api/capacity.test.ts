// Every capacity of the machine is checked when a scenario is built, with a
// message that names the limit and the number (api/capacity.ts), and the
// CLI reports it as an error in the scenario (exit 2), never as an internal
// error. Each limit is tried at its value (accepted) and one past it.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import type { Machine } from "../../web/src/api/machine";
import { resolveConfig } from "../../web/src/api/config";
import { scenarioProblems } from "../../web/src/api/scenario";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { Execution } from "../../web/src/sim/execution";
import { runCli } from "../support/gallery-explore";

const one = { a: async () => {} };
const images = (n: number, size: `${number}M`, fill?: number): NonNullable<ScenarioDefinition["files"]> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`/img/${i}`, { size, ...(fill !== undefined ? { fill } : {}) }]));
const guests = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`g${i}`, {}]));
const build = (def: ScenarioDefinition) => buildScenario(def, resolveConfig("linux-6.1", "none"));

describe("capacities, checked when a scenario is built", () => {
  it("disk images: 256", () => {
    expect(scenarioProblems({ files: images(256, "1M"), actors: one })).toEqual([]);
    expect(scenarioProblems({ files: images(257, "1M"), actors: one })).toEqual(["files: 257 disk images; the data plane holds at most 256"]);
  });

  it("guests: 63 (64 domain ids with dom0's)", () => {
    expect(scenarioProblems({ domains: guests(63), actors: one })).toEqual([]);
    expect(scenarioProblems({ domains: guests(64), actors: one })).toEqual(["domains: 64 guests; at most 63 (the data plane has 64 domain ids, dom0's included)"]);
  });

  it("an image's size: 4 TiB, the data plane's largest, below ext4's 16 TiB - 4 KiB", () => {
    expect(scenarioProblems({ files: { "/img": { size: "4096G" } }, actors: one })).toEqual([]);
    expect(scenarioProblems({ files: { "/img": { size: "5120G" } }, actors: one })).toEqual([
      'files["/img"]: size 5120G is more than the data plane\'s largest image, 4096G (4 TiB; Linux\'s ext4 takes files up to 16T - 4K, 17592186040320 bytes)',
    ]);
    expect(scenarioProblems({ files: { "/img": { size: 2 ** 42 + 512 } }, actors: one })[0]).toMatch(/^files\["\/img"\]: size 4398046511616 bytes is more than/);
  });

  it("filled images: 64M each, 256M in all (the arena grows by them)", async () => {
    expect(scenarioProblems({ files: { "/img": { size: "65M", fill: 1 } }, actors: one })).toEqual([
      'files["/img"]: a filled image may be at most 64M, got 65M (fill writes every byte at each reset)',
    ]);
    expect(scenarioProblems({ files: images(5, "64M", 1), actors: one })).toEqual([
      "files: the filled images hold 320M in all; at most 256M (fill writes every byte into the data plane's arena at each reset)",
    ]);
    // A zero fill writes nothing: no limit.
    expect(scenarioProblems({ files: images(5, "64M", 0), actors: one })).toEqual([]);
    // A filled image boots with the run's own 256 MiB still free: its frames come on top.
    const exec = new Execution(build({ files: images(1, "64M", 7), actors: one }).spec);
    await exec.start();
    const dp = (exec.spec.external as Machine).dp!;
    expect(dp.framesLimit - dp.framesInUse).toBeGreaterThan(255 << 8);
  }, 60_000);

  it("the CLI reports a capacity as an error in the scenario (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "blocklab-capacity-"));
    try {
      const big = join(dir, "big.ts");
      writeFileSync(big, `import { scenario } from "blocklab";
export default scenario({ files: { "/img": { size: "5120G" } }, actors: { a: async () => {} } });
`);
      const r = await runCli(["run", big, "--json"]);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toMatch(/^malformed scenario: files\["\/img"\]: size 5120G is more than the data plane's largest image/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

