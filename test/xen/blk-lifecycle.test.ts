// The toolstack's teardown paths and blkback's side of them, in the default
// schedule (or one interleaving picked by holding an actor back):
// `xl block-detach`, `xl shutdown`, `xl destroy` with libxl's ordering, the
// states each side reaches, and what is left (nothing); blkback's removal
// while a batch's bios are in flight (EBUSY: the ring is kept, and the block
// device is closed only when the last bio completes, the moment an
// autoclear loop device detaches).

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import type { BlkbackDevice, BlkbackRing } from "../../web/src/xen/blkback";
import type { LoopDevice } from "../../web/src/linux/objects";
import type { Store } from "../../web/src/sim/store";
import { domainGet } from "../../web/src/xen/domain";
import { leakViolation } from "../../web/src/xen/invariants";
import { BE, drive, FE, LIBXL, tracker, xsPeek } from "./blk-harness";

const BLKBACK = "blkback:0:1:51712";
const BLKRING = "blkring:0:1:51712";
const FILES: ScenarioDefinition["files"] = { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 } };

function withToolstack(after: (sys: Sys) => Promise<void>, script: "block" | "qubes-block" = "block"): ScenarioDefinition {
  return {
    domains: { work: {} },
    files: FILES,
    actors: {
      toolstack: async (sys) => {
        await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script });
        await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "4");
        await after(sys);
      },
    },
  };
}

/** Nothing of the device is left: no xenstore directory, no driver object, no ring, no job, the loop device unbound. */
function expectNothingLeft(store: Store): void {
  expect(xsPeek(store, FE)).toBeUndefined();
  expect(xsPeek(store, BE)).toBeUndefined();
  expect(xsPeek(store, LIBXL)).toBeUndefined();
  expect(store.peekKeys().filter((k) => /^(blkback|blkring|blkfront|blkif|hotplug):/.test(k))).toEqual([]);
  expect(store.peek<LoopDevice>("loop:dom0:0")?.state).toBe("unbound");
}

/** The toolstack's steps (without the process's own exit, which is not libxl's). */
const toolstackCalls = (calls: string[]) => calls.filter((c) => c.startsWith("toolstack ") && c !== "toolstack exit").map((c) => c.slice("toolstack ".length));
const STATES = [`${FE}/state`, `${BE}/state`, `${BE}/online`, "/local/domain/1/control/shutdown"];

describe("xl block-detach", () => {
  it("one transaction (online 0, state 5), waits for Closed, runs the script's remove, then removes the three directories", async () => {
    const t = tracker(STATES);
    const d = await drive(withToolstack((sys) => sys.xl.blockDetach("work", "xvda")), { onStep: t.onStep });
    expect(d.errors).toEqual({});
    expect(toolstackCalls(d.calls).slice(5)).toEqual([
      "xenstore read", // the backend exists
      "xenstore read", // the script, from libxl's own copy
      "xenstore transaction (block-detach)",
      "xenstore wait", // backend state 6
      "hotplug remove",
      "hotplug wait",
      "xenstore rm (device)",
    ]);
    // blkfront answers the backend's Closing with Closed; blkback follows to Closed and, offline, unregisters.
    expect(t.seen[`${FE}/state`]).toEqual(["1", "3", "4", "6", undefined]);
    expect(t.seen[`${BE}/state`]).toEqual(["1", "2", "4", "5", "6", undefined]);
    expect(t.seen[`${BE}/online`]).toEqual(["1", "0", undefined]);
    expectNothingLeft(d.exec.store);
    // The guest lives on.
    expect(domainGet(d.exec.store, 1)?.state).toBe("running");
  });

  it("of a disk that is not attached: ENOENT, after one read", async () => {
    const seen: string[] = [];
    const d = await drive({
      domains: { work: {} },
      actors: { toolstack: async (sys) => { await sys.xl.blockDetach("work", "xvdb").catch((e) => seen.push(e.errno)); } },
    });
    expect(seen).toEqual(["ENOENT"]);
    expect(toolstackCalls(d.calls)).toEqual(["xenstore read"]);
  });

  it("refuses what is not a guest or not a virtual device: EINVAL", async () => {
    const seen: string[] = [];
    await drive({
      domains: { work: {} },
      actors: {
        toolstack: async (sys) => {
          await sys.xl.blockDetach("dom0", "xvda").catch((e) => seen.push(e.errno));
          await sys.xl.blockDetach("nobody", "xvda").catch((e) => seen.push(e.errno));
          await sys.xl.blockDetach("work", "floppy").catch((e) => seen.push(e.errno));
        },
      },
    });
    expect(seen).toEqual(["EINVAL", "EINVAL", "EINVAL"]);
  });
});

describe("xl shutdown and xl destroy", () => {
  it("shutdown: control/shutdown = poweroff, the guest's disks go Closing, then the domain is destroyed and its disks detached", async () => {
    const t = tracker(STATES);
    const d = await drive(withToolstack((sys) => sys.xl.shutdown("work")), { onStep: t.onStep });
    expect(d.errors).toEqual({});
    expect(toolstackCalls(d.calls).slice(5)).toEqual([
      "xenstore write", // control/shutdown
      "wait for shutdown", // every connected frontend Closing
      "domain destroy",
      "xenstore directory", // libxl's list of the guest's disks
      "xenstore read",
      "xenstore transaction (block-detach)",
      "xenstore wait", // the guest is dead: libxl's timeout, certain
      "hotplug remove",
      "hotplug wait",
      "xenstore rm (device)",
    ]);
    expect(t.seen["/local/domain/1/control/shutdown"]).toEqual(["", "poweroff", undefined]);
    // The guest's blkfront goes Closing (xenbus_dev_shutdown) and blkback mirrors it; the frontend
    // directory, the guest's own, goes with the domain, so blkback reads Unknown and unregisters.
    expect(t.seen[`${FE}/state`]).toEqual(["1", "3", "4", "5", undefined]);
    expect(t.seen[`${BE}/state`]).toEqual(["1", "2", "4", "5", undefined]);
    expect(domainGet(d.exec.store, 1)?.state).toBe("destroyed");
    expectNothingLeft(d.exec.store);
    expect(leakViolation(d.exec.store, ["dom0", "work"])).toBeUndefined();
  });

  it("destroy: the domain dies at once (no Closing), then its disks are detached", async () => {
    const t = tracker(STATES);
    const d = await drive(withToolstack((sys) => sys.xl.destroy("work")), { onStep: t.onStep });
    expect(d.errors).toEqual({});
    expect(toolstackCalls(d.calls).slice(5)).toEqual([
      "domain destroy",
      "xenstore directory",
      "xenstore read",
      "xenstore transaction (block-detach)",
      "xenstore wait",
      "hotplug remove",
      "hotplug wait",
      "xenstore rm (device)",
    ]);
    expect(t.seen[`${FE}/state`]).toEqual(["1", "3", "4", undefined]);
    expect(t.seen[`${BE}/state`]).toEqual(["1", "2", "4", "5", undefined]);
    expect(domainGet(d.exec.store, 1)?.state).toBe("destroyed");
    expectNothingLeft(d.exec.store);
    expect(leakViolation(d.exec.store, ["dom0", "work"])).toBeUndefined();
  });

  it("destroy of a destroyed domain does nothing more; re-creating it is ENOSYS", async () => {
    const seen: string[] = [];
    const d = await drive({
      domains: { work: {} },
      actors: {
        toolstack: async (sys) => {
          await sys.xl.destroy("work");
          await sys.xl.destroy("work");
          await sys.xl.create("work").catch((e) => seen.push(e.errno));
        },
      },
    });
    expect(d.errors).toEqual({});
    expect(seen).toEqual(["ENOSYS"]);
    expect(domainGet(d.exec.store, 1)?.state).toBe("destroyed");
  });
});

describe("blkback's removal with bios in flight", () => {
  it("EBUSY: the ring stays mapped, and the block device (autoclear) is closed and detached when the last bio completes", async () => {
    const inflightAndListed = (s: Store) => {
      const ring = s.peek<BlkbackRing>(BLKRING);
      return ring !== undefined && ring.inflight > 0 && xsPeek(s, BE) !== undefined;
    };
    let removedWithInflight: { dpRing: number | null; loop: string | undefined; ringState: string } | undefined;
    let closedAt: { call: string; beGone: boolean } | undefined;
    let prevLoop: string | undefined;
    const def: ScenarioDefinition = {
      domains: { work: {} },
      files: FILES,
      actors: {
        guest: { domain: "work", run: async (sys) => { await sys.disk.read("xvda", 0, 8).catch(() => undefined); } },
        toolstack: async (sys) => {
          await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" });
          await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "4");
          await sys.xl.blockDetach("work", "xvda");
        },
      },
    };
    const d = await drive(def, {
      patches: "v2",
      // The batch's bios do not complete until the toolstack has removed the device.
      hold: [{ actor: "kernel:blkback.1", while: inflightAndListed }],
      onStep: (rec, exec) => {
        const s = exec.store;
        const be = s.peek<BlkbackDevice>(BLKBACK);
        const loop = s.peek<LoopDevice>("loop:dom0:0")?.state;
        if (be?.removed && removedWithInflight === undefined) {
          const dpRing = s.peek<BlkbackRing>(BLKRING)?.dpRing ?? null;
          removedWithInflight = { dpRing, loop, ringState: exec.spec.external && dpRing !== null ? d0(exec).backendIndices(dpRing).state : "none" };
        }
        if (prevLoop === "bound" && loop === "unbound") closedAt = { call: `${exec.actors[rec.actor]!.who.name} ${rec.call}`, beGone: be === undefined };
        prevLoop = loop;
      },
    });
    expect(d.errors).toEqual({});
    // Unregistered while a bio was in flight: the ring is still mapped, the loop device still bound.
    expect(removedWithInflight).toEqual({ dpRing: expect.any(Number), loop: "bound", ringState: "connected" });
    // The removal finished with the bios: the same step closed the device and autoclear detached it.
    expect(closedAt).toEqual({ call: "kernel:blkback.1 blkback ring", beGone: true });
    expectNothingLeft(d.exec.store);
  });

  it("a guest destroyed while its batch is in flight: the bios complete into a ring nobody reads, and the removal finishes", async () => {
    const inflight = (s: Store) => (s.peek<BlkbackRing>(BLKRING)?.inflight ?? 0) > 0;
    const def: ScenarioDefinition = {
      domains: { work: {} },
      files: FILES,
      actors: {
        guest: { domain: "work", run: async (sys) => { await sys.disk.read("xvda", 0, 8); } },
        toolstack: async (sys) => {
          await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" });
          await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "4");
          await sys.xl.destroy("work");
        },
      },
    };
    let diedInflight = false;
    const d = await drive(def, {
      patches: "v2",
      // The toolstack destroys the guest only once a batch is in flight, whose bios complete only after the death.
      hold: [
        { actor: "toolstack", while: (s) => domainGet(s, 1)?.state === "running" && xsPeek(s, `${FE}/state`) === "4" && !inflight(s) },
        { actor: "kernel:blkback.1", while: (s) => inflight(s) && domainGet(s, 1)?.state === "running" },
      ],
      onStep: (_, exec) => { diedInflight ||= inflight(exec.store) && domainGet(exec.store, 1)?.state !== "running"; },
    });
    expect(diedInflight).toBe(true);
    // The guest's read is answered by nobody: its domain is gone.
    expect(d.errors).toEqual({ guest: "EIO" });
    expectNothingLeft(d.exec.store);
  });
});

// The data plane of a running execution (the machine is the spec's external state).
function d0(exec: { spec: { external?: unknown } }) {
  return (exec.spec.external as { dp: import("../../web/src/core/data-plane").DataPlane }).dp;
}

describe("dev->state: the drivers compare with their own state, not with the node", () => {
  it("a stray write of the frontend's state node does not make blkfront set its ring up again when the backend pokes Connected (a resize)", async () => {
    const t = tracker([`${FE}/state`, `${FE}/ring-ref`, `${FE}/event-channel`]);
    const d = await drive(withToolstack(async (sys) => {
      await sys.xenstore.write(`${FE}/state`, "1"); // not blkfront's doing: its dev->state stays Connected
      await sys.xenstore.write(`${BE}/state`, "4"); // the backend's node rewritten: blkback_changed(Connected) again
      await sys.xenstore.write("/tool/poked", "1");
    }), { onStep: t.onStep });
    expect(d.errors).toEqual({});
    // talk_to_blkback ran once (Initialised once, one ring-ref and event channel); blkfront_connect's switch to
    // Connected finds dev->state Connected already and writes nothing: the stray "1" stays.
    expect(t.seen[`${FE}/state`]).toEqual(["1", "3", "4", "1"]);
    expect(t.seen[`${FE}/ring-ref`]!.filter((v) => v !== undefined)).toHaveLength(1);
    expect(t.seen[`${FE}/event-channel`]!.filter((v) => v !== undefined)).toHaveLength(1);
    expect(d.exec.store.peek<number>(`xbdev:${FE}`)).toBe(4);
  });
});
