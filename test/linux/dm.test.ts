// Device-mapper against docs/linux-model.md §5.3-5.8 and §7.2: the front
// door's rules (version, data_size, name and uuid, the header on failure,
// bits and padding echoed), the errno of each command in each situation of
// a device's life, minors, diskseq, deferred removal in the worker's two
// steps, REMOVE_ALL, LIST_DEVICES, rename, suspend and resume, table status
// and deps, and the kernel differences between 6.1.192 and 6.12.

import type { DmIoctlResult, KernelId, Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import type { UEventQueue } from "../../web/src/linux/objects";
import { attachLoop, control, dmOutcome, drive, errnoOf, errorTable, F, linear } from "./dm-support";

const KERNELS: [KernelId, [number, number, number]][] = [["linux-6.1.192", [4, 47, 0]], ["linux-6.12", [4, 48, 0]]];

describe("the front door (ctl_ioctl)", () => {
  for (const [kernel, v] of KERNELS) {
    it(`${kernel}: the version rule, with the kernel's version written back even on EINVAL`, async () => {
      const seen: [string, unknown][] = [];
      await drive(async (sys) => {
        const ctl = await control(sys);
        for (const asked of [[4, 0, 0], [5, 0, 0], [4, 99, 0], [4, v[1], 0], [4, v[1] + 1, 0], [3, 0, 0], [4, v[1], 77]] as [number, number, number][]) {
          try {
            const r = await sys.ioctl(ctl, "DM_VERSION", { version: asked });
            seen.push(["0", [r.version, r.data_size]]);
          } catch (e) {
            const r = (e as { result: DmIoctlResult }).result;
            seen.push([(e as { errno: string }).errno, [r.version, r.data_size]]);
          }
        }
      }, { kernel });
      const ok = ["0", [v, 16384]];
      const bad = ["EINVAL", [v, 16384]];
      expect(seen).toEqual([ok, bad, bad, ok, bad, bad, ok]);
    });
  }

  it("a failed command copies back only the version: the result is the caller's header (flags, dev, data_size, padding as sent)", async () => {
    let res: DmIoctlResult | undefined;
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      try {
        await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", flags: 0x100000 | F.INACTIVE_PRESENT, padding: 7, dev: { major: 254, minor: 9 }, event_nr: 3 });
      } catch (e) {
        res = (e as { result: DmIoctlResult }).result;
      }
    });
    expect(res).toMatchObject({ version: [4, 47, 0], flags: 0x100000 | F.INACTIVE_PRESENT, padding: 7, dev: { major: 254, minor: 9 }, event_nr: 3, data_size: 16384, data_start: 312, name: "a", open_count: 0 });
  });

  it("data_size below 305 is EINVAL; name and uuid together are EINVAL (except for the list commands); an empty create name is EINVAL", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "x", data_size: 304 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", data_size: 305 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a", uuid: "u" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_LIST_DEVICES", { name: "a", uuid: "" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "b", uuid: "u-b" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { uuid: "u-b" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { uuid: "u-b", dev: { major: 254, minor: 1 } })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { dev: { major: 254, minor: 1 } })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { dev: { major: 253, minor: 1 } })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", {})));
    });
    expect(seen).toEqual(["EINVAL", "0", "EINVAL", "0", "EINVAL", "0", "0", "ENXIO", "0", "ENXIO", "ENXIO"]);
  });

  it("a name longer than 127 bytes is cut to 127 (validate_params forces name[127] to NUL)", async () => {
    let name = "";
    await drive(async (sys) => {
      const ctl = await control(sys);
      name = (await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "n".repeat(200) })).name;
    });
    expect(name).toBe("n".repeat(127));
  });

  it("unknown flag bits and the padding word come back unchanged; a handler never clears bits it does not use", async () => {
    const seen: [number, number][] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      for (const cmd of ["DM_DEV_CREATE", "DM_DEV_STATUS"] as const) {
        const r = await sys.ioctl(ctl, cmd, { name: "e", flags: 0x100000 | 0x80 | 0x400000, padding: 0xa5a5a5a5 });
        seen.push([r.flags, r.padding]);
      }
    });
    expect(seen).toEqual([[0x100000 | 0x80 | 0x400000, 0xa5a5a5a5], [0x100000 | 0x80 | 0x400000, 0xa5a5a5a5]]);
  });

  it("validate_params clears BUFFER_FULL, UEVENT_GENERATED and DATA_OUT on the way in; flags can be given as names", async () => {
    let r: DmIoctlResult | undefined;
    await drive(async (sys) => {
      const ctl = await control(sys);
      r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", flags: ["DM_BUFFER_FULL_FLAG", "DM_UEVENT_GENERATED_FLAG", "DM_DATA_OUT_FLAG", "DM_SKIP_LOCKFS_FLAG"] });
    });
    expect(r!.flags).toBe(1 << 10);
    expect(r!.flag_names).toEqual(["DM_SKIP_LOCKFS_FLAG"]);
  });

  it("DM_* on the wrong fd: ENOTTY on a dm disk, EINVAL on a loop disk, ENOSYS on loop-control; a bad flag name is EINVAL", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable() });
      const dm = await sys.open("/dev/dm-0");
      const lo = await sys.open("/dev/loop0");
      const lc = await sys.open("/dev/loop-control");
      seen.push(await errnoOf(sys.ioctl(dm, "DM_VERSION", {})));
      seen.push(await errnoOf(sys.ioctl(lo, "DM_VERSION", {})));
      seen.push(await errnoOf(sys.ioctl(lc, "DM_VERSION", {})));
      seen.push(await errnoOf(sys.ioctl(ctl, "BLKGETDISKSEQ")));
      seen.push(await errnoOf(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a", flags: ["DM_NO_SUCH_FLAG" as "DM_UUID_FLAG"] })));
    });
    expect(seen).toEqual(["ENOTTY", "EINVAL", "ENOSYS", "ENOTTY", "EINVAL"]);
  });
});

// ---------------------------------------------------------------------------
// The "Errno by dm situation" table of §5.4.

type Situation = "no such name" | "created, no table" | "active, closed" | "open" | "marked deferred, still open" | "marked, closed, worker not run" | "worker step 1 done" | "destroyed";
type Column = "STATUS" | "REMOVE" | "REMOVE+DEFERRED" | "SUSPEND" | "TABLE_LOAD" | "open";

const SITUATIONS: Record<Situation, Record<Column, string>> = {
  "no such name": { STATUS: "ENXIO", REMOVE: "ENXIO", "REMOVE+DEFERRED": "ENXIO", SUSPEND: "ENXIO", TABLE_LOAD: "ENXIO", open: "ENOENT" },
  "created, no table": { STATUS: "0", REMOVE: "0", "REMOVE+DEFERRED": "0", SUSPEND: "0", TABLE_LOAD: "0", open: "ENOENT" },
  "active, closed": { STATUS: "0", REMOVE: "0+UEVENT_GENERATED", "REMOVE+DEFERRED": "0+UEVENT_GENERATED", SUSPEND: "0", TABLE_LOAD: "0", open: "ok" },
  open: { STATUS: "0", REMOVE: "EBUSY", "REMOVE+DEFERRED": "0+DEFERRED_REMOVE", SUSPEND: "0", TABLE_LOAD: "0", open: "ok" },
  "marked deferred, still open": { STATUS: "0+DEFERRED_REMOVE", REMOVE: "EBUSY", "REMOVE+DEFERRED": "0+DEFERRED_REMOVE", SUSPEND: "0+DEFERRED_REMOVE", TABLE_LOAD: "0+DEFERRED_REMOVE", open: "ok" },
  "marked, closed, worker not run": { STATUS: "0+DEFERRED_REMOVE", REMOVE: "0+UEVENT_GENERATED", "REMOVE+DEFERRED": "0+UEVENT_GENERATED", SUSPEND: "0+DEFERRED_REMOVE", TABLE_LOAD: "0+DEFERRED_REMOVE", open: "ok" },
  "worker step 1 done": { STATUS: "ENXIO", REMOVE: "ENXIO", "REMOVE+DEFERRED": "ENXIO", SUSPEND: "ENXIO", TABLE_LOAD: "ENXIO", open: "ENXIO" },
  destroyed: { STATUS: "ENXIO", REMOVE: "ENXIO", "REMOVE+DEFERRED": "ENXIO", SUSPEND: "ENXIO", TABLE_LOAD: "ENXIO", open: "ENOENT" },
};

async function into(sys: Sys, ctl: number, s: Situation): Promise<void> {
  if (s === "no such name") return;
  await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
  if (s === "created, no table") return;
  await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(2048, "7:1") });
  await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a" });
  if (s === "active, closed") return;
  const fd = await sys.open("/dev/dm-0");
  if (s === "open") return;
  await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a", flags: F.DEFERRED_REMOVE });
  if (s === "marked deferred, still open") return;
  await sys.close(fd);
  if (s === "marked, closed, worker not run") return;
  await sys.log(s === "worker step 1 done" ? "one" : "two");
}

async function column(sys: Sys, ctl: number, c: Column): Promise<string> {
  const watch: (keyof typeof F)[] = ["DEFERRED_REMOVE", "UEVENT_GENERATED"];
  switch (c) {
    case "STATUS": return dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" }), watch);
    case "REMOVE": return dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a" }), watch);
    case "REMOVE+DEFERRED": return dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a", flags: F.DEFERRED_REMOVE }), watch);
    case "SUSPEND": return dmOutcome(sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a", flags: F.SUSPEND }), watch);
    case "TABLE_LOAD": return dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable() }), watch);
    case "open": {
      try {
        await sys.close(await sys.open("/dev/dm-0"));
        return "ok";
      } catch (e) {
        return (e as { errno: string }).errno;
      }
    }
  }
}

describe("errno by dm situation (§5.4)", () => {
  for (const [situation, row] of Object.entries(SITUATIONS) as [Situation, Record<Column, string>][]) {
    it(situation, async () => {
      const got: Partial<Record<Column, string>> = {};
      for (const c of Object.keys(row) as Column[]) {
        await drive(async (sys) => {
          const ctl = await control(sys);
          await attachLoop(sys, 1);
          await into(sys, ctl, situation);
          got[c] = await column(sys, ctl, c);
        }, { hooks: { one: { worker: 1 }, two: { worker: 2 } } });
      }
      expect(got).toEqual(row);
    });
  }
});

// ---------------------------------------------------------------------------

describe("creating devices: names per kernel, minors, diskseq", () => {
  for (const [kernel, refuses] of [["linux-6.1.192", false], ["linux-6.12", true]] as const) {
    it(`${kernel}: "control", "." and ".." are ${refuses ? "refused with no minor and no diskseq used" : "ordinary names"}; "x/y" is EINVAL on both`, async () => {
      const seen: string[] = [];
      const exec = await drive(async (sys) => {
        const ctl = await control(sys);
        for (const name of ["control", ".", "..", "x/y"]) seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name })));
        const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "z" });
        seen.push(`z=${r.dev.minor}`);
      }, { kernel });
      const last = exec.store.peek<{ last: number }>("diskseq:dom0")!.last;
      if (refuses) {
        expect(seen).toEqual(["EINVAL", "EINVAL", "EINVAL", "EINVAL", "z=0"]);
        expect(last).toBe(9);
      } else {
        expect(seen).toEqual(["0", "0", "0", "EINVAL", "z=3"]);
        expect(last).toBe(12);
      }
    });
  }

  it("a duplicate name is EBUSY after using up a diskseq and freeing the minor it took (G:L96)", async () => {
    const seen: (string | number)[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      seen.push((await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" })).dev.minor);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "b", uuid: "u" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "c", uuid: "u" })));
      seen.push((await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "d" })).dev.minor);
      for (const n of ["a", "b", "d"]) {
        await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: n, targets: errorTable() });
        seen.push(Number((await sys.readFile(`/sys/block/dm-${n === "a" ? 0 : n === "b" ? 1 : 2}/diskseq`)).trim()));
      }
    });
    // loop0-7 have 1-8: a 9, the failed a 10, b 11, the failed c 12, d 13.
    expect(seen).toEqual([0, "EBUSY", "0", "EBUSY", 2, 9, 11, 13]);
  });

  it("minors: the lowest free one is reused at once after a remove; a persistent minor that is taken is ENXIO (dm_create)", async () => {
    const seen: (string | number)[] = [];
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      for (const n of ["a", "b", "c"]) await sys.ioctl(ctl, "DM_DEV_CREATE", { name: n });
      await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "b" });
      seen.push((await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "d" })).dev.minor);
      seen.push((await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "e", flags: F.PERSISTENT_DEV, dev: { major: 254, minor: 7 } })).dev.minor);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { name: "f", flags: F.PERSISTENT_DEV, dev: { major: 254, minor: 7 } })));
      seen.push((await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "g" })).dev.minor);
    });
    expect(seen).toEqual([1, 7, "ENXIO", 3]);
    // The ENXIO create allocated nothing: a..g took 9, 10, 11, d 12, e 13, g 14.
    expect(exec.store.peek<{ last: number }>("diskseq:dom0")!.last).toBe(14);
  });

  it("a created device is not registered: no sysfs, no node, no uevent; the first TABLE_LOAD registers it (add uevent), not the next", async () => {
    const seen: string[] = [];
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      seen.push(`${r.flags} ${r.data_size} ${r.target_count}`);
      seen.push(await errnoOf(sys.readFile("/sys/block/dm-0/diskseq")));
      seen.push(await errnoOf(sys.stat("/dev/dm-0")));
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable() });
      seen.push((await sys.readFile("/sys/block/dm-0/diskseq")).trim());
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable(4096) });
    });
    expect(seen).toEqual(["0 305 0", "ENOENT", "ENOENT", "9"]);
    expect(exec.store.peek<UEventQueue>("uevents:dom0:dm-0")!.events.map((e) => e.action)).toEqual(["add"]);
  });
});

describe("deferred removal: the worker's two steps and the window between them (§7.2)", () => {
  it("after the last close the device waits for the worker; step 1 frees the name, step 2 the minor, sysfs and node", async () => {
    const seen: Record<string, unknown> = {};
    await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(2048, "/dev/loop1") });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a" });
      seen.holders = await sys.readdir("/sys/block/loop1/holders");
      const fd = await sys.open("/dev/dm-0");
      seen.remove = await dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a", flags: F.DEFERRED_REMOVE }), ["DEFERRED_REMOVE"]);
      await sys.close(fd);
      seen.pending = await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" }), ["DEFERRED_REMOVE"]);
      await sys.log("one");
      seen.afterUnhash = [
        await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" })),
        await errnoOf(sys.stat("/sys/block/dm-0")),
        await errnoOf(sys.stat("/dev/dm-0")),
        await errnoOf(sys.open("/dev/dm-0")),
        await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { dev: { major: 254, minor: 0 } })),
      ];
      // The name is free already; the minor is not.
      seen.recreated = (await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" })).dev.minor;
      await sys.log("two");
      seen.afterDestroy = [await errnoOf(sys.stat("/sys/block/dm-0")), await errnoOf(sys.stat("/dev/dm-0")), await sys.readdir("/sys/block/loop1/holders")];
      seen.next = (await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "b" })).dev.minor;
    }, { hooks: { one: { worker: 1 }, two: { worker: 1 } } });
    expect(seen).toEqual({
      holders: ["dm-0"],
      remove: "0+DEFERRED_REMOVE",
      pending: "0+DEFERRED_REMOVE",
      afterUnhash: ["ENXIO", "ok", "ok", "ENXIO", "ENXIO"],
      recreated: 1,
      afterDestroy: ["ENOENT", "ENOENT", []],
      next: 0,
    });
  });

  it("a device opened again before the worker runs stays marked, and goes at its next last close", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable() });
      const fd = await sys.open("/dev/dm-0");
      await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a", flags: F.DEFERRED_REMOVE });
      await sys.close(fd);
      const again = await sys.open("/dev/dm-0");
      await sys.log("work");
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" }), ["DEFERRED_REMOVE"]));
      // @cancel_deferred_remove clears the mark; closing then leaves the device alone.
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TARGET_MSG", { name: "a", message: "@cancel_deferred_remove" }), ["DEFERRED_REMOVE"]));
      await sys.close(again);
      await sys.log("work");
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" }), ["DEFERRED_REMOVE"]));
    }, { hooks: { work: { worker: 2 } } });
    expect(seen).toEqual(["0+DEFERRED_REMOVE", "0", "0"]);
  });
});

describe("sysfs holders/ and slaves/: the two links bd_link_disk_holder makes together (block/holder.c)", () => {
  it("a registered dm device over loop1 and loop2: loop*/holders/dm-0 and dm-0/slaves/loop* are symlinks ../../<other>; an inactive table's devices count; both go with the table", async () => {
    const seen: Record<string, unknown> = {};
    await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1);
      await attachLoop(sys, 2, "b");
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      seen.before = [await sys.readdir("/sys/block/loop1/slaves"), await errnoOf(sys.stat("/sys/block/dm-0/slaves"))];
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "7:1") });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a" });
      seen.loaded = [await sys.readdir("/sys/block/dm-0/slaves"), await sys.readdir("/sys/block/loop1/holders"), await sys.readdir("/sys/block/dm-0/holders")];
      seen.links = [await sys.readlink("/sys/block/dm-0/slaves/loop1"), await sys.readlink("/sys/block/loop1/holders/dm-0")];
      // The links are followed: stat gives the other disk's directory, a path through them reaches its attributes.
      seen.follow = [
        (await sys.stat("/sys/block/dm-0/slaves/loop1")).type,
        await sys.exists("/sys/block/dm-0/slaves/loop1"),
        (await sys.readFile("/sys/block/dm-0/slaves/loop1/loop/backing_file")).trim(),
        (await sys.readFile("/sys/block/loop1/holders/dm-0/dm/name")).trim(),
        await errnoOf(sys.readlink("/sys/block/dm-0/slaves")),
        await sys.exists("/sys/block/dm-0/slaves/loop2"),
      ];
      // An inactive table next to the live one opens its devices too (md->table_devices): linked as the disk is registered.
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "7:2") });
      seen.inactive = [await sys.readdir("/sys/block/dm-0/slaves"), await sys.readdir("/sys/block/loop2/holders")];
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a" });
      seen.swapped = [await sys.readdir("/sys/block/dm-0/slaves"), await sys.readdir("/sys/block/loop1/holders")];
      await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a" });
      seen.removed = [await sys.readdir("/sys/block/loop2/holders"), await errnoOf(sys.readdir("/sys/block/dm-0/slaves"))];
    });
    expect(seen).toEqual({
      before: [[], "ENOENT"],
      loaded: [["loop1"], ["dm-0"], []],
      links: ["../../loop1", "../../dm-0"],
      follow: ["directory", true, "/img/a", "a", "EINVAL", false],
      inactive: [["loop1", "loop2"], ["dm-0"]],
      swapped: [["loop2"], []],
      removed: [[], "ENOENT"],
    });
  });
});

describe("REMOVE_ALL, LIST_DEVICES, rename", () => {
  it("REMOVE_ALL removes every closed device, skips (and with DEFERRED_REMOVE marks) open ones, and copies back only the version", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      for (const n of ["b", "a", "c"]) {
        await sys.ioctl(ctl, "DM_DEV_CREATE", { name: n });
        await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: n, targets: errorTable() });
      }
      const fd = await sys.open("/dev/dm-2");
      const r = await sys.ioctl(ctl, "DM_REMOVE_ALL", { flags: F.DEFERRED_REMOVE, name: "ignored", padding: 3 });
      seen.push([r.version, r.data_size, r.name, r.flags, r.padding]);
      seen.push((await sys.ioctl(ctl, "DM_LIST_DEVICES", {})).names!.map((n) => n.name));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "c" }), ["DEFERRED_REMOVE"]));
      await sys.close(fd);
    });
    expect(seen).toEqual([[[4, 47, 0], 16384, "ignored", F.DEFERRED_REMOVE, 3], ["c"], "0+DEFERRED_REMOVE"]);
  });

  it("LIST_DEVICES: sorted by strcmp, prefix filters on name and uuid, uuids with DM_UUID_FLAG, BUFFER_FULL when data_size is too small", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      for (const [n, u] of [["d", ""], [".", ""], ["c", "CRYPT-1"], ["control", ""], ["Z", "LVM-x"]]) await sys.ioctl(ctl, "DM_DEV_CREATE", { name: n, uuid: u });
      const all = await sys.ioctl(ctl, "DM_LIST_DEVICES", {});
      seen.push(all.names!.map((n) => `${n.name}=${n.dev.minor}`), all.data_size);
      seen.push((await sys.ioctl(ctl, "DM_LIST_DEVICES", { name: "c" })).names!.map((n) => n.name));
      seen.push((await sys.ioctl(ctl, "DM_LIST_DEVICES", { uuid: "LVM-", flags: F.UUID })).names);
      const small = await sys.ioctl(ctl, "DM_LIST_DEVICES", { data_size: 312 + 40 });
      seen.push(small.flags & F.BUFFER_FULL, small.names, small.data_size);
      const none = await sys.ioctl(ctl, "DM_LIST_DEVICES", { name: "nope" });
      seen.push(none.names, none.data_size);
    });
    // needed per entry: align8(12 + len + 1) + 8.
    expect(seen).toEqual([
      [".=1", "Z=4", "c=2", "control=3", "d=0"], 312 + 4 * 24 + 32,
      ["c", "control"],
      [{ name: "Z", dev: { major: 254, minor: 4 }, event_nr: 0, uuid: "LVM-x" }],
      F.BUFFER_FULL, undefined, 305,
      [], 312,
    ]);
  });

  it("rename: EINVAL for an empty or bad name, EBUSY when taken, ENXIO for a missing device, a uuid is set once; event_nr moves with a live table", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "b" });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "a", new_name: "" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "a", new_name: "x/y" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "a", new_name: "b" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "nosuch", new_name: "c" })));
      const r = await sys.ioctl(ctl, "DM_DEV_RENAME", { name: "a", new_name: "c" });
      seen.push([r.name, r.event_nr, r.flags]);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "c", new_name: "U1", flags: F.UUID })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "c", new_name: "U2", flags: F.UUID })));
      seen.push((await sys.ioctl(ctl, "DM_DEV_STATUS", { uuid: "U1" })).name);
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "c", targets: errorTable() });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "c" });
      const moved = await sys.ioctl(ctl, "DM_DEV_RENAME", { name: "c", new_name: "d" });
      seen.push([moved.event_nr, moved.flags & F.UEVENT_GENERATED]);
    });
    // dm_hash_rename writes no name into the header: the reply keeps the name the caller sent.
    expect(seen).toEqual(["EINVAL", "EINVAL", "EBUSY", "ENXIO", ["a", 0, 0], "ENXIO", "0", "EINVAL", "c", [1, F.UEVENT_GENERATED]]);
  });

  it("linux-6.12 refuses renaming to \"control\"; 6.1.192 does not", async () => {
    for (const [kernel, want] of [["linux-6.1.192", "0"], ["linux-6.12", "EINVAL"]] as const) {
      let got = "";
      await drive(async (sys) => {
        const ctl = await control(sys);
        await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
        got = await dmOutcome(sys.ioctl(ctl, "DM_DEV_RENAME", { name: "a", new_name: "control" }));
      }, { kernel });
      expect(got).toBe(want);
    }
  });
});

describe("tables: load, suspend, resume, status, deps", () => {
  it("TABLE_LOAD checks in order: no targets, zero length, unknown type, a gap, the target's own arguments, its device", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      const load = (targets: { sector_start: number; length: number; target_type: string; params: string }[], extra = {}) =>
        dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets, ...extra }));
      seen.push(await load([]));
      seen.push(await load([{ sector_start: 0, length: 0, target_type: "linear", params: "7:1 0" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "mirror", params: "" }]));
      seen.push(await load([{ sector_start: 8, length: 8, target_type: "error", params: "" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "error", params: "" }, { sector_start: 4, length: 8, target_type: "error", params: "" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "7:1" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "7:1 x" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "7:40 0" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "254:0 0" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "/dev/nosuch 0" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "/img/a 0" }]));
      seen.push(await load([{ sector_start: 0, length: 9, target_type: "striped", params: "2 4 7:1 0 7:1 8" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "striped", params: "2 4 7:1 0" }]));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "zero", params: "x" }]));
      seen.push(await load(linear(8, "7:1"), { target_count: 2 }));
      seen.push(await load(linear(8, "7:1"), { data_size: 312 + 40 }));
      seen.push(await load([{ sector_start: 0, length: 8, target_type: "linear", params: "7:1 0" }, { sector_start: 8, length: 8, target_type: "nope", params: "" }]));
      seen.push(await load(linear(8, "7:1")));
    });
    expect(seen).toEqual(["EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "ENXIO", "EINVAL", "ENODEV", "ENODEV", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "0"]);
  });

  it("linux-6.12 says ENOENT and ENOTBLK for a path that is not a block device (6.1 said ENODEV)", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "/dev/nosuch") })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "/img/a") })));
    }, { kernel: "linux-6.12" });
    expect(seen).toEqual(["ENOENT", "ENOTBLK"]);
  });

  it("a failed load leaves the lower devices as they were; a device held with O_EXCL by someone else is EBUSY; two dm devices may share a disk", async () => {
    const seen: unknown[] = [];
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1);
      await attachLoop(sys, 2, "b");
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a" });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: [...linear(8, "7:1"), { sector_start: 8, length: 8, target_type: "linear", params: "7:2" }] })));
      const excl = await sys.open("/dev/loop2", { excl: true });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "7:2") })));
      await sys.close(excl);
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: linear(8, "7:1") });
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "b" });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "b", targets: linear(8, "7:1", 8) })));
      seen.push(await errnoOf(sys.open("/dev/loop1", { excl: true })));
      seen.push(await sys.readdir("/sys/block/loop1/holders"));
    });
    const loop1 = exec.store.peek<{ openers: number; claim: unknown }>("disk:dom0:s2")!;
    expect(seen).toEqual(["EINVAL", "EBUSY", "0", "EBUSY", ["dm-0", "dm-1"]]);
    expect(loop1.openers).toBe(2);
    expect(loop1.claim).toEqual({ holder: "dm:dom0", count: 2 });
    expect(exec.store.peek<{ openers: number; claim: unknown }>("disk:dom0:s3")).toMatchObject({ openers: 0, claim: null });
  });

  it("suspend and resume: 0x62 with an inactive table, the swap at resume, the size change carries RESIZE=1, diskseq unchanged (G61:L209-213)", async () => {
    const seen: unknown[] = [];
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1, "b");
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "f" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "f", targets: linear(2048, "7:1") });
      const r1 = await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "f" });
      seen.push(r1.flags.toString(16), r1.target_count);
      const l2 = await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "f", targets: linear(1024, "7:1") });
      seen.push(l2.flags.toString(16), l2.target_count);
      seen.push((await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "f", flags: F.SUSPEND })).flags.toString(16));
      const r2 = await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "f", event_nr: 7 });
      seen.push(r2.flags.toString(16));
      const fd = await sys.open("/dev/dm-0");
      seen.push(await sys.ioctl(fd, "BLKGETSIZE64"), await sys.ioctl(fd, "BLKGETDISKSEQ"));
      await sys.close(fd);
      // Resume of a device that is not suspended and has no new table: just its status, no uevent.
      seen.push((await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "f" })).flags.toString(16));
    });
    // loop1 took diskseq 9 at its attach, f 10; resume and the table swap keep it.
    expect(seen).toEqual(["2020", 1, "60", 1, "62", "2020", 1024 * 512, 10, "20"]);
    const events = exec.store.peek<UEventQueue>("uevents:dom0:dm-0")!.events;
    expect(events.map((e) => [e.action, e.env])).toEqual([["add", {}], ["change", {}], ["change", { DM_COOKIE: "7", RESIZE: "1" }]]);
  });

  it("a suspended device blocks I/O until it is resumed; resuming a suspended device without a table is EINVAL", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "x" });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "x", flags: F.SUSPEND });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "x" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "x" }), ["SUSPEND"]));
    });
    expect(seen).toEqual(["EINVAL", "0+SUSPEND"]);
  });

  it("TABLE_STATUS (info and table lines), TABLE_DEPS (last device first), QUERY_INACTIVE, TABLE_CLEAR, BUFFER_FULL", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 1);
      await attachLoop(sys, 2, "b");
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "s" });
      const targets = [
        { sector_start: 0, length: 16, target_type: "striped", params: "2 8 /dev/loop1 0 7:2 16" },
        { sector_start: 16, length: 8, target_type: "linear", params: "/dev/loop2 100" },
        { sector_start: 24, length: 8, target_type: "zero", params: "" },
      ];
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "s", targets });
      const noLive = await sys.ioctl(ctl, "DM_TABLE_STATUS", { name: "s", flags: F.STATUS_TABLE });
      seen.push(noLive.targets, noLive.data_size);
      const inactive = await sys.ioctl(ctl, "DM_TABLE_STATUS", { name: "s", flags: F.STATUS_TABLE | F.QUERY_INACTIVE });
      seen.push(inactive.targets!.map((t) => `${t.sector_start} ${t.length} ${t.target_type} ${t.params}`), inactive.target_count, inactive.flags.toString(16));
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "s" });
      const info = await sys.ioctl(ctl, "DM_TABLE_STATUS", { name: "s" });
      seen.push(info.targets!.map((t) => t.status));
      const deps = await sys.ioctl(ctl, "DM_TABLE_DEPS", { name: "s" });
      seen.push(deps.deps, deps.data_size);
      seen.push((await sys.ioctl(ctl, "DM_TABLE_DEPS", { name: "s", data_size: 312 + 8 })).flags & F.BUFFER_FULL);
      const cut = await sys.ioctl(ctl, "DM_TABLE_STATUS", { name: "s", flags: F.STATUS_TABLE, data_size: 312 + 80 });
      seen.push(cut.flags & F.BUFFER_FULL, cut.targets!.length);
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "s", targets: errorTable(32) });
      const cleared = await sys.ioctl(ctl, "DM_TABLE_CLEAR", { name: "s" });
      seen.push(cleared.flags.toString(16));
    });
    expect(seen).toEqual([
      undefined, 305,
      ["0 16 striped 2 8 7:1 0 7:2 16", "16 8 linear 7:2 100", "24 8 zero "], 3, "1050",
      ["2 7:1 7:2 1 AA", "", ""],
      [{ major: 7, minor: 2 }, { major: 7, minor: 1 }], 312 + 8 + 16,
      F.BUFFER_FULL,
      F.BUFFER_FULL, 1,
      "20",
    ]);
  });

  it("LIST_VERSIONS, GET_TARGET_VERSION, SET_GEOMETRY (nothing copied back), ARM_POLL, TARGET_MSG to a target", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      seen.push((await sys.ioctl(ctl, "DM_LIST_VERSIONS", {})).versions!.map((v) => v.name));
      seen.push((await sys.ioctl(ctl, "DM_GET_TARGET_VERSION", { name: "striped" })).versions);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_GET_TARGET_VERSION", { name: "mirror" })));
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "g" });
      const geo = await sys.ioctl(ctl, "DM_DEV_SET_GEOMETRY", { name: "g", geometry: "100 16 63 0", flags: 0x800000 });
      seen.push(geo.flags, geo.data_size);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_SET_GEOMETRY", { name: "g", geometry: "70000 16 63 0" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_SET_GEOMETRY", { name: "g", geometry: "1 1 1 2" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_ARM_POLL", {})));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TARGET_MSG", { name: "g", message: "" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TARGET_MSG", { name: "g", message: "@stats_list" })));
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "g", targets: errorTable(8) });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "g" });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TARGET_MSG", { name: "g", message: "hello", sector: 0 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_TARGET_MSG", { name: "g", message: "hello", sector: 8 })));
    });
    expect(seen).toEqual([
      ["zero", "striped", "linear", "error"],
      [{ name: "striped", version: [1, 6, 0] }],
      "EINVAL",
      0x800000, 16384,
      "EINVAL", "EINVAL", "0", "EINVAL", "EINVAL", "EINVAL", "EINVAL",
    ]);
  });

  it("DM_DEV_WAIT blocks until the device's event number moves (a rename with a live table)", async () => {
    let waited: DmIoctlResult | undefined;
    const { started } = await import("./harness");
    const { exec } = await started({
      actors: {
        waiter: async (sys) => {
          const ctl = await control(sys);
          await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "w" });
          await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "w", targets: errorTable(8) });
          await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "w" });
          await sys.writeFile("/run/ready", "1");
          // By number: a wait by name would not find the renamed device (the model looks it up again when it wakes).
          waited = await sys.ioctl(ctl, "DM_DEV_WAIT", { dev: { major: 254, minor: 0 }, event_nr: 0 });
        },
        renamer: async (sys) => {
          const ctl = await control(sys);
          await sys.ioctl(ctl, "DM_DEV_RENAME", { name: "w", new_name: "w2" });
        },
      },
      invariants: ["progress"],
    }, "linux-6.1.192");
    const waiter = exec.actors.findIndex((a) => a.who.name === "waiter");
    const renamer = exec.actors.findIndex((a) => a.who.name === "renamer");
    for (let i = 0; i < 5; i++) await exec.step({ actor: waiter });
    expect(exec.isEnabled(waiter)).toBe(false);
    while (exec.isEnabled(renamer)) await exec.step({ actor: renamer });
    expect(exec.isEnabled(waiter)).toBe(true);
    await exec.step({ actor: waiter });
    expect(waited).toMatchObject({ name: "w2", event_nr: 1 });
  });
});

describe("ioctls on a dm device: dm_blk_ioctl passes them down to the one device under its table", () => {
  it("a linear table over all of loop0: loop0's ioctls answer through dm-0; a table dm cannot pass through is ENOTTY; suspended is EAGAIN", async () => {
    const seen: Record<string, unknown> = {};
    await drive(async (sys) => {
      const ctl = await control(sys);
      await attachLoop(sys, 0, "a");
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "whole" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "whole", targets: linear(2048, "7:0") });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "whole" });
      const dm = await sys.open("/dev/dm-0");
      const st = (await sys.ioctl(dm, "LOOP_GET_STATUS64")) as { lo_number: number; lo_file_name: string };
      seen.status = [st.lo_number, st.lo_file_name];
      seen.dmOnDm = await errnoOf(sys.ioctl(dm, "DM_VERSION", {})); // passed down to lo_ioctl: EINVAL
      // The size and diskseq are the dm device's own (the block layer answers them, not the driver).
      seen.size = await sys.ioctl(dm, "BLKGETSIZE64");
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "whole", flags: F.SUSPEND });
      seen.suspended = await errnoOf(sys.ioctl(dm, "LOOP_GET_STATUS64"));
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "whole" });
      // Two targets, or a target without prepare_ioctl: nothing is passed down.
      for (const [dev, targets] of [
        ["two", [{ sector_start: 0, length: 1024, target_type: "linear", params: "7:0 0" }, { sector_start: 1024, length: 1024, target_type: "linear", params: "7:0 1024" }]],
        ["zero", [{ sector_start: 0, length: 2048, target_type: "zero", params: "" }]],
      ] as const) {
        await sys.ioctl(ctl, "DM_DEV_CREATE", { name: dev });
        await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: dev, targets: [...targets] });
        await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: dev });
      }
      seen.two = await errnoOf(sys.ioctl(await sys.open("/dev/dm-1"), "LOOP_GET_STATUS64"));
      seen.zero = await errnoOf(sys.ioctl(await sys.open("/dev/dm-2"), "LOOP_GET_STATUS64"));
      // Part of loop0 (needs CAP_SYS_RAWIO, which root has), and dm over dm: passed down twice.
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "part" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "part", targets: linear(1024, "7:0", 512) });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "part" });
      seen.part = ((await sys.ioctl(await sys.open("/dev/dm-3"), "LOOP_GET_STATUS64")) as { lo_number: number }).lo_number;
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "top" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "top", targets: linear(2048, "/dev/dm-0") });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "top" });
      seen.stacked = ((await sys.ioctl(await sys.open("/dev/dm-4"), "LOOP_GET_STATUS64")) as { lo_number: number }).lo_number;
    });
    expect(seen).toEqual({ status: [0, ""], dmOnDm: "EINVAL", size: 2048 * 512, suspended: "EAGAIN", two: "ENOTTY", zero: "ENOTTY", part: 0, stacked: 0 });
  });

  it("LOOP_CLR_FD through dm-0 clears loop0 at once when dm's is its only open (loop_clr_fd counts the loop disk's openers), and only marks autoclear when someone else has it open too", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      for (const [i, img] of [[0, "a"], [1, "b"]] as const) await attachLoop(sys, i, img);
      for (const [name, dev] of [["x", "7:0"], ["y", "7:1"]]) {
        await sys.ioctl(ctl, "DM_DEV_CREATE", { name });
        await sys.ioctl(ctl, "DM_TABLE_LOAD", { name, targets: linear(2048, dev) });
        await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name });
      }
      const other = await sys.open("/dev/loop1"); // a second opener of loop1
      await sys.ioctl(await sys.open("/dev/dm-0"), "LOOP_CLR_FD");
      await sys.ioctl(await sys.open("/dev/dm-1"), "LOOP_CLR_FD");
      const status = async (path: string) => {
        try {
          const st = (await sys.ioctl(await sys.open(path), "LOOP_GET_STATUS64")) as { lo_flag_names: string[] };
          return `bound ${st.lo_flag_names.join(",")}`;
        } catch (e) {
          return (e as { errno: string }).errno;
        }
      };
      seen.push(await status("/dev/loop0"), await status("/dev/loop1"));
      await sys.close(other);
    });
    expect(seen).toEqual(["ENXIO", "bound LO_FLAGS_AUTOCLEAR"]);
  });
});
