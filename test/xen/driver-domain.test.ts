// A driver domain as the backend (xl's `backend=`): the disk's backend
// directory is under the driver domain's tree and owned by it, its blkback
// opens the device in its own kernel, `xl devd` runs the hotplug script
// there (on an image in its own filesystem), and the guest's I/O goes
// through its blkback and loop device. dom0 only writes xenstore.

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { LoopDevice } from "../../web/src/linux/objects";
import { verify } from "../../web/src/sim/verify";
import { drive, xsPeek } from "./blk-harness";

// storage is domid 1, work domid 2.
const BE = "/local/domain/1/backend/vbd/2/51712";
const FE = "/local/domain/2/device/vbd/51712";

function served(opts: { then?: (sys: Sys) => Promise<void>; guest?: (sys: Sys) => Promise<void>; backend?: string; mayCrash?: boolean } = {}): ScenarioDefinition {
  return {
    domains: { storage: { backend: true }, work: {} },
    files: { "/srv/work.img": { size: "64K", owner: "work", domain: "storage", fill: 0x11 } },
    actors: {
      toolstack: {
        mayCrash: opts.mayCrash ?? false,
        run: async (sys: Sys) => {
          await sys.xl.blockAttach("work", { target: "/srv/work.img", vdev: "xvda", script: "qubes-block", backend: opts.backend ?? "storage" });
          await (opts.then ?? (async () => {}))(sys);
        },
      },
      ...(opts.guest ? { guest: { domain: "work", run: opts.guest } } : {}),
    },
  };
}

describe("a driver domain as the backend", () => {
  it("attaches through the driver domain: its backend tree, its blkback, its loop device, its xl devd; the guest reads its image", async () => {
    let byte = -1;
    const d = await drive(served({
      guest: async (sys) => { byte = (await sys.disk.read("xvda", 0, 1))[0]!; },
    }), { patches: "v2" });
    expect(d.errors).toEqual({});
    expect(byte).toBe(0x11);
    expect(xsPeek(d.exec.store, `${FE}/backend`)).toBe(BE);
    expect(xsPeek(d.exec.store, `${FE}/backend-id`)).toBe("1");
    expect(xsPeek(d.exec.store, `${BE}/state`)).toBe("4");
    expect(xsPeek(d.exec.store, `${BE}/opened`)).toBe("1");
    // The device is the driver domain's; dom0's loop devices were never touched.
    expect(d.exec.store.peek<LoopDevice>("loop:storage:0")?.state).toBe("bound");
    expect(d.exec.store.peek<LoopDevice>("loop:dom0:0")?.state).toBe("unbound");
    expect(d.calls.some((c) => c.startsWith("toolstack:devd@storage ioctl LOOP_CONFIGURE"))).toBe(true);
    expect(d.calls.some((c) => c.startsWith("toolstack:hotplug "))).toBe(false);
    expect(d.calls.some((c) => c.startsWith("kernel:blkback.2@storage blkback ring"))).toBe(true);
  });

  it("destroying the guest detaches the disk there: the directories go, the loop device clears (autoclear after blkback's close)", async () => {
    const d = await drive(served({ then: (sys) => sys.xl.destroy("work") }), { patches: "v2" });
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, BE)).toBeUndefined();
    expect(xsPeek(d.exec.store, FE)).toBeUndefined();
    expect(d.exec.store.peek<LoopDevice>("loop:storage:0")?.state).toBe("unbound");
    expect(d.exec.store.peekKeys().filter((k) => /^(blkback|blkring|hotplug):/.test(k))).toEqual([]);
  });

  it("backend= must name dom0 or a driver domain, and not the guest itself: EINVAL", async () => {
    for (const backend of ["work", "nowhere"]) {
      const d = await drive(served({ backend }), { patches: "v2" });
      expect(d.errors).toEqual({ toolstack: "EINVAL" });
    }
  });

  it("permissions: the guest cannot write the driver domain's backend keys, nor the driver domain dom0's", async () => {
    const denied: Record<string, string> = {};
    const d = await drive({
      ...served({ then: async () => {} }),
      actors: {
        ...served().actors,
        forger: { domain: "work", run: async (sys: Sys) => {
          await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "4");
          try { await sys.xenstore.write(`${BE}/params`, "/srv/other.img"); } catch (e) { denied.guest = (e as { errno: string }).errno; }
        } },
        rogue: { domain: "storage", run: async (sys: Sys) => {
          try { await sys.xenstore.write("/local/domain/0/backend/vbd/2/51713/params", "/x"); } catch (e) { denied.driver = (e as { errno: string }).errno; }
        } },
      },
    }, { patches: "v2" });
    expect(d.errors).toEqual({});
    expect(denied).toEqual({ guest: "EACCES", driver: "EACCES" });
  });

  it("exhaustively (v2, a toolstack that may die at any step): the guest reads its own image, nothing leaks once it is gone", async () => {
    // No "progress": a guest whose toolstack died before its disk connected waits for it forever, as a real one would.
    const def: ScenarioDefinition = {
      ...served({ mayCrash: true, then: (sys) => sys.xl.destroy("work"), guest: async (sys) => { await sys.disk.read("xvda", 0, 1); } }),
      invariants: ["isolation", "no-leak"],
    };
    const before = buildScenario(def, resolveConfig("linux-6.1", "none"));
    const leak = await verify(before.spec, before.props, { mode: "explore", maxSeconds: 60 });
    expect(leak.violations[0]?.invariant).toBe("no-leak");
    const b = buildScenario(def, resolveConfig("linux-6.1", "v2"));
    const r = await verify(b.spec, b.props, { mode: "explore", maxSeconds: 120 });
    expect(r.error).toBeUndefined();
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.verdict).toBe("pass");
  }, 240_000);
});
