// Guest block I/O through the whole stack: blkfront's ring and grants in the
// data plane, blkback's batch, dom0's loop device, the image.

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { verify } from "../../web/src/sim/verify";

describe("guest disk I/O", () => {
  it("disk.read returns the image's bytes, and disk.write lands in the image (round trip)", async () => {
    const seen: Record<string, number[]> = {};
    const def: ScenarioDefinition = {
      domains: { work: {} },
      files: { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 } },
      actors: {
        toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" }); },
        guest: { domain: "work", run: async (sys) => {
          seen.before = [...(await sys.disk.read("xvda", 3, 2))].slice(0, 4);
          await sys.disk.write("xvda", 3, new Uint8Array(512).fill(0xab));
          const after = await sys.disk.read("xvda", 2, 3);
          seen.after = [after[0]!, after[512]!, after[1024]!];
          seen.error = [await sys.disk.read("xvda", 200, 1).then(() => 0, (e) => (e.errno === "EIO" ? 1 : 2))];
        } },
        check: async (sys) => {
          await sys.xenstore.waitFor("/local/domain/1/device/vbd/51712/state", (v) => v === "4");
        },
      },
      invariants: ["isolation", "progress"],
    };
    const b = buildScenario(def, resolveConfig("linux-6.1", "none"));
    const r = await verify(b.spec, b.props, { mode: "run" });
    expect(r.error).toBeUndefined();
    expect(r.verdict).toBe("pass");
    expect(seen.before).toEqual([0x11, 0x11, 0x11, 0x11]);
    expect(seen.after).toEqual([0x11, 0xab, 0x11]);
    expect(seen.error).toEqual([1]);
    const image = b.machine.dp!.readImage(0, 3 * 512, 512);
    expect([...image].every((x) => x === 0xab)).toBe(true);
  });
});
