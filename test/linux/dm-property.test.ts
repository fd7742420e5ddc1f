// Random sequences of device-mapper and loop calls by one to three actors,
// in random interleavings, keep the model's own invariants after every step
// (docs/linux-model.md §9.4): diskseq values unique and never going down,
// openers and open counts never negative and matching who holds each disk,
// hash cells pointing at the device with that name, dev_t entries at
// registered live disks, and every exclusive claim held by someone who exists.

import { errnoOf } from "../../web/src/sim/op";
import type { ScenarioDefinition, Sys } from "blocklab";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { DevtIndex, DmHashEntry, FdTable, Gendisk, LoopDevice, MappedDevice } from "../../web/src/linux/objects";
import type { Execution } from "../../web/src/sim/execution";
import type { Invariant } from "../../web/src/sim/properties";
import { verify } from "../../web/src/sim/verify";

type Op =
  | { k: "create"; name: string; uuid: boolean; fd: boolean; deferred: boolean }
  | { k: "load"; name: string; table: number }
  | { k: "up"; name: string; table: number }
  | { k: "resume" | "suspend" | "status" | "clear"; name: string }
  | { k: "remove"; name: string; deferred: boolean }
  | { k: "removeAll"; deferred: boolean }
  | { k: "rename"; name: string; to: string }
  | { k: "openDm"; minor: number }
  | { k: "openLoop"; index: number; excl: boolean }
  | { k: "close" }
  | { k: "read" }
  | { k: "attach"; index: number; img: string; autoclear: boolean }
  | { k: "detach"; index: number }
  | { k: "ctlRemove"; index: number };

const NAMES = ["a", "b", "c"];
const TABLES = [
  [{ sector_start: 0, length: 64, target_type: "error", params: "" }],
  [{ sector_start: 0, length: 32, target_type: "zero", params: "" }],
  [{ sector_start: 0, length: 64, target_type: "linear", params: "7:1 0" }],
  [{ sector_start: 0, length: 32, target_type: "linear", params: "/dev/loop2 16" }, { sector_start: 32, length: 16, target_type: "zero", params: "" }],
  [{ sector_start: 0, length: 32, target_type: "striped", params: "2 8 7:1 0 7:2 0" }],
  [{ sector_start: 0, length: 16, target_type: "linear", params: "254:0 0" }],
];

const name = fc.constantFrom(...NAMES);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("create" as const), name, uuid: fc.boolean(), fd: fc.boolean(), deferred: fc.boolean() }),
  fc.record({ k: fc.constant("load" as const), name, table: fc.nat(TABLES.length - 1) }),
  fc.record({ k: fc.constant("up" as const), name, table: fc.nat(TABLES.length - 1) }),
  fc.record({ k: fc.constantFrom("resume" as const, "suspend" as const, "status" as const, "clear" as const), name }),
  fc.record({ k: fc.constant("remove" as const), name, deferred: fc.boolean() }),
  fc.record({ k: fc.constant("removeAll" as const), deferred: fc.boolean() }),
  fc.record({ k: fc.constant("rename" as const), name, to: name }),
  fc.record({ k: fc.constant("openDm" as const), minor: fc.nat(2) }),
  fc.record({ k: fc.constant("openLoop" as const), index: fc.integer({ min: 1, max: 2 }), excl: fc.boolean() }),
  fc.constant({ k: "close" as const }),
  fc.constant({ k: "read" as const }),
  fc.record({ k: fc.constant("attach" as const), index: fc.integer({ min: 1, max: 3 }), img: fc.constantFrom("a", "b"), autoclear: fc.boolean() }),
  fc.record({ k: fc.constant("detach" as const), index: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant("ctlRemove" as const), index: fc.integer({ min: 1, max: 3 }) }),
);

const F = { SUSPEND: 2, DEFERRED_REMOVE: 1 << 17, FD: 1 << 20 };

/** How often each kind of op succeeded, over the whole property run: the run must not be vacuous. */
const succeeded = new Map<string, number>();

/** An actor that runs its ops in order; an errno is an ordinary answer, anything else fails the run. */
function actor(ops: Op[]) {
  return async (sys: Sys) => {
    const fds: number[] = [];
    const ctl = await sys.open("/dev/mapper/control", { write: true });
    for (const op of ops) {
      try {
        await run(sys, ctl, fds, op);
        succeeded.set(op.k, (succeeded.get(op.k) ?? 0) + 1);
      } catch (e) {
        if (errnoOf(e) === undefined) throw e;
      }
    }
  };
}

async function run(sys: Sys, ctl: number, fds: number[], op: Op): Promise<void> {
  switch (op.k) {
    case "create": {
      const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: op.name, uuid: op.uuid ? `U-${op.name}` : "", flags: (op.fd ? F.FD : 0) | (op.deferred ? F.DEFERRED_REMOVE : 0) });
      if (r.fd !== undefined) fds.push(r.fd);
      return;
    }
    case "load": await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: op.name, targets: TABLES[op.table]! }); return;
    // dmsetup create: three steps, each its own, other actors in between.
    case "up": await sys.dmsetup.create(op.name, TABLES[op.table]!.map((t) => `${t.sector_start} ${t.length} ${t.target_type} ${t.params}`).join("\n")); return;
    case "resume": await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: op.name }); return;
    case "suspend": await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: op.name, flags: F.SUSPEND }); return;
    case "status": await sys.ioctl(ctl, "DM_DEV_STATUS", { name: op.name }); return;
    case "clear": await sys.ioctl(ctl, "DM_TABLE_CLEAR", { name: op.name }); return;
    case "remove": await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: op.name, flags: op.deferred ? F.DEFERRED_REMOVE : 0 }); return;
    case "removeAll": await sys.ioctl(ctl, "DM_REMOVE_ALL", { flags: op.deferred ? F.DEFERRED_REMOVE : 0 }); return;
    case "rename": await sys.ioctl(ctl, "DM_DEV_RENAME", { name: op.name, new_name: op.to }); return;
    case "openDm": fds.push(await sys.open(`/dev/dm-${op.minor}`)); return;
    case "openLoop": fds.push(await sys.open(`/dev/loop${op.index}`, { excl: op.excl })); return;
    case "close": if (fds.length) await sys.close(fds.shift()!); return;
    // Reads never wait here: a read on a suspended device would block the actor for good.
    case "read": return;
    case "attach": {
      const fd = await sys.open(`/dev/loop${op.index}`, { write: true });
      try {
        const back = await sys.open(`/img/${op.img}`, { write: true });
        try {
          await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: back, info: { lo_flags: op.autoclear ? 4 : 0 } });
        } finally {
          await sys.close(back);
        }
      } finally {
        await sys.close(fd);
      }
      return;
    }
    case "detach": {
      const fd = await sys.open(`/dev/loop${op.index}`);
      try {
        await sys.ioctl(fd, "LOOP_CLR_FD");
      } finally {
        await sys.close(fd);
      }
      return;
    }
    case "ctlRemove": {
      const fd = await sys.open("/dev/loop-control");
      try {
        await sys.ioctl(fd, "LOOP_CTL_REMOVE", op.index);
      } finally {
        await sys.close(fd);
      }
    }
  }
}

function entries<T>(exec: Execution, kind: string): [string, T][] {
  return exec.store.peekKeys().filter((k) => k.startsWith(`${kind}:dom0:`)).map((k) => [k, exec.store.peek<T>(k)!]);
}

/** The §9.4 invariants, over the store as it is between two steps. */
function invariants(): Invariant {
  let seen = new Map<string, number>();
  let lastCounter = 0;
  return {
    name: "kernel model invariants (§9.4)",
    check: (exec) => {
      const counter = exec.store.peek<{ last: number }>("diskseq:dom0")?.last ?? 0;
      if (counter < lastCounter) seen = new Map(); // a new execution
      lastCounter = counter;
      const disks = entries<Gendisk>(exec, "disk");
      const mds = entries<MappedDevice>(exec, "dm");
      const loops = entries<LoopDevice>(exec, "loop");
      const fdtables = entries<FdTable>(exec, "fdtable");
      const values = new Set<number>();
      for (const [key, disk] of disks) {
        const alloc = Number(key.slice(key.lastIndexOf(":s") + 2));
        if (disk.diskseq < alloc || disk.diskseq > counter) return `${disk.name} has diskseq ${disk.diskseq} (allocated ${alloc}, counter ${counter})`;
        if (values.has(disk.diskseq)) return `two disks share diskseq ${disk.diskseq}`;
        values.add(disk.diskseq);
        if ((seen.get(key) ?? 0) > disk.diskseq) return `${disk.name}'s diskseq went down`;
        seen.set(key, disk.diskseq);
        if (disk.openers < 0) return `${disk.name} has ${disk.openers} openers`;
        // Who holds the disk: fds, the mapped devices whose tables use it, loop devices backed by it.
        const byFd: string[] = [];
        for (const [tk, t] of fdtables) for (const [n, f] of Object.entries(t.fds)) if (f.kind === "disk" && f.disk === key) byFd.push(`fd:dom0:${tk.slice("fdtable:dom0:".length)}:${n}`);
        const byDm = mds.filter(([, md]) => [md.live, md.inactive].some((t) => t?.devices.includes(key)));
        const byLoop = loops.filter(([, lo]) => lo.backing?.file === key);
        if (disk.openers !== byFd.length + byDm.length + byLoop.length) return `${disk.name} has ${disk.openers} openers, but ${byFd.length} fds, ${byDm.length} dm tables and ${byLoop.length} loops hold it`;
        if (disk.claim) {
          if (disk.claim.holder === "dm:dom0") {
            if (disk.claim.count !== byDm.length) return `${disk.name}'s dm claim counts ${disk.claim.count}, ${byDm.length} mapped devices hold it`;
          } else if (!byFd.includes(disk.claim.holder)) return `${disk.name} is claimed by ${disk.claim.holder}, which does not hold it`;
        } else if (byDm.length > 0) return `${disk.name} is held by dm without a claim`;
        if (disk.driver === "dm") {
          const md = exec.store.peek<MappedDevice>(disk.driverKey);
          if (md && md.openCount !== disk.openers) return `dm-${md.minor}: open_count ${md.openCount}, openers ${disk.openers}`;
        }
      }
      for (const [, md] of mds) {
        if (md.openCount < 0) return `dm-${md.minor} has open_count ${md.openCount}`;
        if (!exec.store.peek(md.disk)) return `dm-${md.minor}'s disk ${md.disk} is gone`;
        if (md.teardown && md.name !== null) return `dm-${md.minor} is torn down but still named ${md.name}`;
      }
      for (const [key, e] of entries<DmHashEntry>(exec, "dmname")) {
        const md = exec.store.peek<MappedDevice>(`dm:dom0:${e.minor}`);
        if (md?.name !== key.slice("dmname:dom0:".length)) return `${key} points at dm-${e.minor}, named ${md?.name}`;
        if (md.deleting) return `${key} points at a device being deleted`;
      }
      for (const [key, e] of entries<DmHashEntry>(exec, "dmuuid")) {
        if (exec.store.peek<MappedDevice>(`dm:dom0:${e.minor}`)?.uuid !== key.slice("dmuuid:dom0:".length)) return `${key} points at the wrong device`;
      }
      for (const [key, e] of entries<DevtIndex>(exec, "devt")) {
        const disk = exec.store.peek<Gendisk>(e.disk);
        if (!disk?.registered || !disk.live) return `${key} points at ${e.disk}, which is not a registered live disk`;
        if (key !== `devt:dom0:${disk.major}:${disk.minor}`) return `${key} points at ${disk.name} (${disk.major}:${disk.minor})`;
      }
      for (const [tk, t] of fdtables) for (const f of Object.values(t.fds)) if (f.kind === "disk" && !exec.store.peek(f.disk)) return `${tk} has an fd to a freed disk ${f.disk}`;
      for (const [, lo] of loops) if ((lo.state === "bound" || lo.state === "rundown") !== (lo.backing !== null)) return `loop${lo.index} is ${lo.state} with backing ${JSON.stringify(lo.backing)}`;
      return undefined;
    },
  };
}

const PATCHES = ["none", { "bdev-file": true, "dm-fd": "ignore" }, { "bdev-file": true, "dm-fd": "reject", "loop-autoclear-delete": true }] as const;

describe("random dm and loop calls by 1-3 actors keep the §9.4 invariants", () => {
  it("holds for random programs and random interleavings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom("linux-6.1.192" as const, "linux-6.12" as const),
        fc.nat(PATCHES.length - 1),
        fc.nat(1000),
        async (programs, kernel, patchIdx, seed) => {
          const def: ScenarioDefinition = {
            files: { "/img/a": { size: "64K" }, "/img/b": { size: "64K" } },
            actors: Object.fromEntries(programs.map((ops, i) => [`p${i}`, actor(ops)])),
            invariants: [],
          };
          const b = buildScenario(def, resolveConfig(kernel, PATCHES[patchIdx]!));
          b.props.invariants.push(invariants());
          const r = await verify(b.spec, b.props, { mode: "random", seed, maxExecutions: 3, maxSteps: 2000, shortenStates: 0 });
          if (r.verdict === "error") throw (r as { error?: { error?: unknown } }).error?.error ?? new Error("verify error");
          expect(r.violations.map((v) => v.message)).toEqual([]);
        },
      ),
      { numRuns: 150, seed: 20240611 },
    );
    for (const k of ["create", "load", "up", "remove", "rename", "openDm", "attach", "detach"]) expect(succeeded.get(k) ?? 0, k).toBeGreaterThan(10);
  }, 300_000);

  it("the invariant check can fail: a disk with a negative opener count is reported", async () => {
    const b = buildScenario({ actors: { t: async (sys) => { await sys.log("x"); } }, invariants: [] }, resolveConfig("linux-6.1.192", "none"));
    const inv = invariants();
    const { Execution } = await import("../../web/src/sim/execution");
    const exec = new Execution(b.spec);
    await exec.start();
    expect(inv.check(exec)).toBeUndefined();
    const disk = exec.store.peek<Gendisk>("disk:dom0:s1")!;
    exec.store.set("disk:dom0:s1", { ...disk, openers: -1 });
    expect(inv.check(exec)).toMatch(/loop0 has -1 openers/);
  });
});
