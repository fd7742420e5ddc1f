// The dm switches of docs/linux-model.md §6.2 and §6.5: `dm-fd` with each
// dmFlagPolicy (ignore, reject, strict-v5), dmFlagPolicy with `dm-fd` off,
// strict mode for major-5 callers, and `rfc-dm-refcount-bug`'s leak.

import type { DmIoctlResult, PatchSelection } from "blocklab";
import { describe, expect, it } from "vitest";
import type { FdTable } from "../../web/src/linux/objects";
import { control, dmOutcome, drive, errorTable, F } from "./dm-support";

const fdOn = (policy: "ignore" | "reject" | "strict-v5", bug = false): PatchSelection =>
  ({ "bdev-file": true, "dm-fd": policy, ...(bug ? { "rfc-dm-refcount-bug": true } : {}) });

async function createWith(patches: PatchSelection, arg: Record<string, unknown>) {
  let out: { r?: DmIoctlResult; errno?: string; result?: DmIoctlResult } = {};
  let fds: FdTable["fds"] = {};
  const exec = await drive(async (sys) => {
    const ctl = await control(sys);
    try {
      out = { r: await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", ...arg }) };
    } catch (e) {
      out = { errno: (e as { errno: string }).errno, result: (e as { result: DmIoctlResult }).result };
    }
    await sys.log("look");
  }, { patches, hooks: { look: { inspect: (x) => { fds = x.store.peek<FdTable>("fdtable:dom0:t")?.fds ?? {}; } } } });
  return { ...out, exec, fds, diskseq: exec.store.peek<{ last: number }>("diskseq:dom0")!.last };
}

describe("dm-fd and dmFlagPolicy on DM_DEV_CREATE", () => {
  it("mainline (every switch off): bit 20 and bit 21 are ignored and echoed, no fd", async () => {
    const { r, fds } = await createWith("none", { flags: F.FD | (1 << 21) });
    expect(r!.flags).toBe(F.FD | (1 << 21));
    expect(r!.fd).toBeUndefined();
    expect(Object.keys(fds)).toEqual(["3"]);
  });

  it("dm-fd off, reject: bits above 20 are EINVAL before check_name (no diskseq used); bit 20 alone is echoed", async () => {
    const bad = await createWith({ dmFlagPolicy: "reject" }, { flags: 1 << 21 });
    expect([bad.errno, bad.diskseq]).toEqual(["EINVAL", 8]);
    const ok = await createWith({ dmFlagPolicy: "reject" }, { flags: F.FD });
    expect([ok.r!.flags, ok.r!.fd]).toEqual([F.FD, undefined]);
  });

  it("dm-fd with reject (the RFC): bit 20 gives an fd on the new device, counted once; bits above 20 and DEFERRED_REMOVE without FD are EINVAL", async () => {
    const { r, fds } = await createWith(fdOn("reject"), { flags: F.FD });
    expect(r!.fd).toBe(4);
    expect(r!.padding).toBe(4);
    expect(fds["4"]).toEqual({ kind: "disk", disk: "disk:dom0:s9", write: true, excl: false });
    expect(r!.open_count).toBe(1);
    expect((await createWith(fdOn("reject"), { flags: F.FD | (1 << 22) })).errno).toBe("EINVAL");
    const lone = await createWith(fdOn("reject"), { flags: F.DEFERRED_REMOVE });
    expect([lone.errno, lone.diskseq]).toEqual(["EINVAL", 8]);
  });

  it("dm-fd with ignore: bit 20 gives an fd, unknown bits are ignored, DEFERRED_REMOVE without FD is ignored", async () => {
    const a = await createWith(fdOn("ignore"), { flags: F.FD | (1 << 25) });
    expect([a.r!.fd, a.r!.flags]).toEqual([4, F.FD | (1 << 25)]);
    const b = await createWith(fdOn("ignore"), { flags: F.DEFERRED_REMOVE });
    expect([b.r!.fd, b.r!.flags & F.DEFERRED_REMOVE]).toEqual([undefined, F.DEFERRED_REMOVE]);
  });

  it("dm-fd with strict-v5: a major-4 caller's bit 20 is hidden and echoed (no fd); a major-5 caller gets the fd and its diskseq", async () => {
    const v4 = await createWith(fdOn("strict-v5"), { flags: F.FD });
    expect([v4.r!.version, v4.r!.flags, v4.r!.fd, v4.r!.diskseq]).toEqual([[4, 49, 0], F.FD, undefined, undefined]);
    const v5 = await createWith(fdOn("strict-v5"), { version: [5, 0, 0], flags: F.FD });
    expect([v5.r!.version, v5.r!.fd, v5.r!.diskseq, v5.r!.data_size]).toEqual([[5, 49, 0], 4, 9, 312]);
  });

  it("DEFERRED_REMOVE with the fd: the device dies with its last opener (after the worker's two steps)", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", flags: F.FD | F.DEFERRED_REMOVE });
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" }), ["DEFERRED_REMOVE"]));
      await sys.close(r.fd!);
      await sys.log("settle");
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" })));
    }, { patches: fdOn("reject"), hooks: { settle: { worker: 2 } } });
    expect(seen).toEqual(["0+DEFERRED_REMOVE", "ENXIO"]);
  });

  it("rfc-dm-refcount-bug: open_count 2 with one opener; after the close it stays 1, REMOVE is EBUSY and the deferred removal never comes", async () => {
    const seen: (string | number)[] = [];
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", flags: F.FD | F.DEFERRED_REMOVE });
      seen.push(r.open_count);
      await sys.close(r.fd!);
      await sys.log("settle");
      seen.push((await sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a" })).open_count);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "a" })));
    }, { patches: fdOn("reject", true), hooks: { settle: { worker: 2 } } });
    expect(seen).toEqual([2, 1, "EBUSY"]);
    expect(exec.store.peek("dmwork:dom0")).toBeUndefined();
    expect(exec.store.peek<{ openers: number }>("disk:dom0:s9")!.openers).toBe(0);
  });

  it("the fd works once a table is loaded and resumed (the RFC's intent, not its ENXIO)", async () => {
    let seq = 0;
    await drive(async (sys) => {
      const ctl = await control(sys);
      const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", flags: F.FD });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: [{ sector_start: 0, length: 8, target_type: "zero", params: "" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "a" });
      seq = await sys.ioctl(r.fd!, "BLKGETDISKSEQ");
      expect(Array.from(await sys.read(r.fd!, 0, 4))).toEqual([0, 0, 0, 0]);
    }, { patches: fdOn("reject") });
    expect(seq).toBe(9);
  });
});

describe("strict-v5 for major-5 callers", () => {
  const strict: PatchSelection = { dmFlagPolicy: "strict-v5" };

  it("check_version: 4.x up to 49 and 5.x up to 49; 6 is EINVAL; the reply is 4.49 or 5.49", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      for (const v of [[4, 49, 0], [4, 50, 0], [5, 0, 0], [5, 49, 1], [5, 50, 0], [6, 0, 0]] as [number, number, number][]) {
        try {
          seen.push(["0", (await sys.ioctl(ctl, "DM_VERSION", { version: v })).version]);
        } catch (e) {
          seen.push([(e as { errno: string }).errno, (e as { result: DmIoctlResult }).result.version]);
        }
      }
    }, { patches: strict });
    expect(seen).toEqual([["0", [4, 49, 0]], ["EINVAL", [4, 49, 0]], ["0", [5, 49, 0]], ["0", [5, 49, 0]], ["EINVAL", [5, 49, 0]], ["EINVAL", [5, 49, 0]]]);
  });

  it("strict checks: unsupported flags, open_count, event_nr, a NO_PARAMS header with a payload, an over-long name, a small data_size", async () => {
    const seen: string[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      const v5 = { version: [5, 0, 0] as [number, number, number] };
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { ...v5, name: "a" })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", flags: 1 << 21 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", open_count: 1 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", event_nr: 1 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { ...v5, name: "nosuch", event_nr: 1 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", data_size: 16384 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_CREATE", { ...v5, name: "n".repeat(128) })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_LIST_DEVICES", { ...v5, data_size: 310 })));
      // The same sloppiness from a major-4 caller is accepted.
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a", flags: 1 << 21, event_nr: 1 })));
    }, { patches: strict });
    expect(seen).toEqual(["0", "EINVAL", "EINVAL", "EINVAL", "ENXIO", "EINVAL", "EINVAL", "EINVAL", "0"]);
  });

  it("the expected diskseq: a lookup of a device with another diskseq finds nothing (ENXIO); status replies carry it", async () => {
    const seen: unknown[] = [];
    await drive(async (sys) => {
      const ctl = await control(sys);
      const v5 = { version: [5, 0, 0] as [number, number, number] };
      const made = await sys.ioctl(ctl, "DM_DEV_CREATE", { ...v5, name: "a" });
      seen.push(made.diskseq);
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", diskseq: made.diskseq! })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", diskseq: made.diskseq! + 1 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_STATUS", { ...v5, name: "a", padding: made.diskseq! + 1 })));
      seen.push(await dmOutcome(sys.ioctl(ctl, "DM_DEV_REMOVE", { ...v5, name: "a", diskseq: made.diskseq! + 1 })));
      seen.push((await sys.ioctl(ctl, "DM_DEV_STATUS", { name: "a", padding: 12345 })).diskseq);
    }, { patches: strict });
    expect(seen).toEqual([9, "0", "ENXIO", "ENXIO", "ENXIO", undefined]);
  });

  it("DM_EXISTS_FLAG: a strict create of an existing name fails with EBUSY and copies back the existing device's status", async () => {
    let res: DmIoctlResult | undefined;
    let errno = "";
    await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "a", uuid: "U" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "a", targets: errorTable() });
      try {
        await sys.ioctl(ctl, "DM_DEV_CREATE", { version: [5, 0, 0], name: "b", uuid: "U", flags: F.EXISTS });
      } catch (e) {
        errno = (e as { errno: string }).errno;
        res = (e as { result: DmIoctlResult }).result;
      }
    }, { patches: strict });
    expect(errno).toBe("EBUSY");
    expect(res).toMatchObject({ name: "a", uuid: "U", dev: { major: 254, minor: 0 }, diskseq: 9, data_size: 312 });
    expect(res!.flags & F.EXISTS).toBe(F.EXISTS);
  });

  it("DM_DISABLE_UEVENTS_FLAG (bit 9) on a strict create: the device never queues a uevent; REMOVE says no UEVENT_GENERATED", async () => {
    let removeFlags = -1;
    const exec = await drive(async (sys) => {
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { version: [5, 0, 0], name: "q", flags: 1 << 9 });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "q", targets: errorTable() });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "q" });
      removeFlags = (await sys.ioctl(ctl, "DM_DEV_REMOVE", { name: "q" })).flags;
    }, { patches: strict });
    expect(removeFlags & F.UEVENT_GENERATED).toBe(0);
    expect(exec.store.peek("uevents:dom0:dm-0")).toBeUndefined();
  });
});
