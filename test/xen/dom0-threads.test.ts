// dom0's kernel threads, as in Linux: blkback serves each guest's rings from
// a thread of its own (xen_blkif_schedule runs as one kthread per ring, here
// one per frontend domain), so one guest's batch never waits behind
// another's; dom0's xenwatch stays one thread for every device.

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { drive } from "./blk-harness";

const VMS = ["work", "vault"] as const;

function twoVms(then: (sys: Sys, domid: number) => Promise<void> = async () => {}): ScenarioDefinition {
  return {
    domains: { work: {}, vault: {} },
    files: { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 }, "/img/vault.img": { size: "64K", owner: "vault", fill: 0x22 } },
    actors: {
      ...Object.fromEntries(VMS.map((vm, i) => [`toolstack-${vm}`, async (sys: Sys) => {
        await sys.xl.blockAttach(vm, { target: `/img/${vm}.img`, vdev: "xvda", script: "qubes-block" });
        await sys.xenstore.waitFor(`/local/domain/${i + 1}/device/vbd/51712/state`, (v) => v === "4");
      }])),
      ...Object.fromEntries(VMS.map((vm, i) => [`guest-${vm}`, { domain: vm, run: (sys: Sys) => then(sys, i + 1) }])),
    },
  };
}

describe("dom0's threads", () => {
  it("blkback serves each guest's ring from its own thread; both guests read their own image", async () => {
    const got: Record<number, number> = {};
    const d = await drive(twoVms(async (sys, domid) => {
      const [byte] = await sys.disk.read("xvda", 0, 1);
      got[domid] = byte!;
    }), { patches: "v2" });
    expect(d.errors).toEqual({});
    expect(got).toEqual({ 1: 0x11, 2: 0x22 });
    const names = d.exec.actors.map((a) => a.who.name);
    expect(names.filter((n) => n.startsWith("kernel:blkback"))).toEqual(["kernel:blkback.1", "kernel:blkback.2"]);
    expect(names.filter((n) => n.startsWith("kernel:xenwatch"))).toEqual(["kernel:xenwatch", "kernel:xenwatch@work", "kernel:xenwatch@vault"]);
    expect(d.calls.filter((c) => / blkback ring$/.test(c)).map((c) => c.split(" ")[0])).toEqual(expect.arrayContaining(["kernel:blkback.1", "kernel:blkback.2"]));
  });
});
