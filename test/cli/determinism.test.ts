// What `blocklab explore` prints depends on the scenario, its configuration
// and the flags, never on the clock or the machine's load: shortening a
// counterexample is bounded by work (sim/shorten.ts), and only a bound the
// user set in seconds reads the clock, and then the output says that it cut
// the search. The full check, every lesson 20 times: `npm run determinism`.

import { afterEach, describe, expect, it, vi } from "vitest";
import { galleryExplorations, runCli } from "../support/gallery-explore";

const HOUR = 3_600_000;

/** Every clock a search could read jumps by an hour per read, as on a machine so loaded that each read comes an hour later. */
function slowClocks(): void {
  let t = 0;
  vi.spyOn(performance, "now").mockImplementation(() => (t += HOUR));
  vi.spyOn(Date, "now").mockImplementation(() => (t += HOUR));
}

afterEach(() => { vi.restoreAllMocks(); });

describe("determinism of what explore prints", () => {
  it("prints the same bytes under a clock that jumps an hour per read as under the real one", async () => {
    // dm-name-reuse's shortening visits thousands of states: a deadline would have cut it at its first clock read.
    const argv = galleryExplorations(["dm-name-reuse"])[0]!.argv;
    const real = await runCli(argv);
    slowClocks();
    const slow = await runCli(argv);
    expect(JSON.parse(slow.stdout)).toMatchObject({ verdict: "violation", complete: false, stoppedBy: "violation", violations: [{ shortest: true }] });
    expect(slow).toEqual(real);
  }, 60_000);

  it("a search cut by --max-seconds says that time cut it", async () => {
    slowClocks();
    const explored = JSON.parse((await runCli(["explore", "block-find-then-bind-fixed", "--max-seconds", "60", "--json"])).stdout);
    expect(explored).toMatchObject({ complete: false, stoppedBy: "seconds" });
    const sampled = JSON.parse((await runCli(["explore", "block-find-then-bind-fixed", "--mode", "random", "--max-seconds", "60", "--json"])).stdout);
    expect(sampled).toMatchObject({ complete: false, stoppedBy: "seconds", executions: 1 });
  }, 60_000);

  it.each(galleryExplorations(["lost-update", "losetup-find-free", "xenstore-forgery", "loop-reuse-race"]))("$id: two explorations print the same bytes", async ({ argv }) => {
    const first = await runCli(argv);
    expect(await runCli(argv)).toEqual(first);
  }, 60_000);
});
