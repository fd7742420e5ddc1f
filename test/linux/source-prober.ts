// The page cache, sysfs slaves/ and the block layer's own calls (fsync,
// lseek, O_DIRECT, BLKROSET and the other block ioctls, BLKDISCARD) have no
// golden record: prober.c never made these calls. This sequence makes them
// through Sys, printing records of the golden traces' shape; the expected
// answers (test/fixtures/from-source/) were written from the kernel sources,
// not recorded on a kernel. Steps 30-33 follow prober.c's 0-26 and the
// end marker 99, on a fresh boot.

import type { Sys } from "blocklab";
import type { ProbeRecord } from "./prober";

type Attempt = { ok: true; value: unknown } | { ok: false; errno: string };

async function attempt(f: () => Promise<unknown>): Promise<Attempt> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    const err = e as { errno?: string };
    if (typeof err.errno !== "string") throw e;
    return { ok: false, errno: err.errno };
  }
}

const bytes = (b: unknown) => Array.from(b as Uint8Array);

export async function runSourceProber(sys: Sys, out: ProbeRecord[]): Promise<void> {
  let step = 0;
  /** Runs one call and records its answer; `extra` turns a successful value into the record's extra fields. */
  const rec = async (op: string, args: Record<string, unknown>, f: () => Promise<unknown>, extra?: (v: unknown) => Record<string, unknown>) => {
    const a = await attempt(f);
    const more = a.ok && extra ? extra(a.value) : {};
    // A read returns its byte count, as pread(2); a readdir or readlink record carries its answer as extras.
    const ret = !a.ok ? null : a.value instanceof Uint8Array ? a.value.length : extra ? 0 : (a.value ?? 0);
    out.push({ step, op, args, ret, errno: a.ok ? null : a.errno, ...more });
    return a.ok ? a.value : undefined;
  };
  const ctl = await sys.open("/dev/mapper/control", { write: true });
  const dm = async (name: string, targets: { sector_start: number; length: number; target_type: string; params: string }[]) => {
    await sys.ioctl(ctl, "DM_DEV_CREATE", { name });
    await sys.ioctl(ctl, "DM_TABLE_LOAD", { name, targets });
    await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name });
  };

  // Step 30: a buffered write through dm zero (dm-0) is read back from the page cache.
  step = 30;
  await dm("z", [{ sector_start: 0, length: 64, target_type: "zero", params: "" }]);
  const fd = (await rec("open", { path: "/dev/dm-0", flags: "O_RDWR" }, () => sys.open("/dev/dm-0", { write: true }))) as number;
  await rec("pwrite", { dev: "dm-0", offset: 4096, bytes: [7, 8] }, () => sys.write(fd, 4096, new Uint8Array([7, 8])));
  await rec("pread", { dev: "dm-0", offset: 4096, length: 2 }, () => sys.read(fd, 4096, 2), (v) => ({ bytes: bytes(v) }));
  const direct = (await rec("open", { path: "/dev/dm-0", flags: "O_RDONLY|O_DIRECT" }, () => sys.open("/dev/dm-0", { direct: true }))) as number;
  await rec("pread", { dev: "dm-0", offset: 4096, length: 512, direct: true }, () => sys.read(direct, 4096, 512), (v) => ({ bytes: bytes(v).slice(0, 2) }));
  await rec("pread", { dev: "dm-0", offset: 4096, length: 2 }, () => sys.read(fd, 4096, 2), (v) => ({ bytes: bytes(v) }));
  await rec("pread", { dev: "dm-0", offset: 100, length: 512, direct: true }, () => sys.read(direct, 100, 512), (v) => ({ bytes: bytes(v) }));
  await rec("pread", { dev: "dm-0", offset: 512, length: 100, direct: true }, () => sys.read(direct, 512, 100), (v) => ({ bytes: bytes(v) }));
  await rec("BLKFLSBUF", { dev: "dm-0" }, () => sys.ioctl(fd, "BLKFLSBUF"));
  await rec("pread", { dev: "dm-0", offset: 4096, length: 2 }, () => sys.read(fd, 4096, 2), (v) => ({ bytes: bytes(v) }));
  await rec("pwrite", { dev: "dm-0", offset: 0, bytes: [5] }, () => sys.write(fd, 0, new Uint8Array([5])));
  await rec("close", { fd: "direct" }, () => sys.close(direct));
  await rec("close", { fd: "rw" }, () => sys.close(fd));
  const again = (await rec("open", { path: "/dev/dm-0", flags: "O_RDONLY" }, () => sys.open("/dev/dm-0"))) as number;
  await rec("pread", { dev: "dm-0", offset: 0, length: 1 }, () => sys.read(again, 0, 1), (v) => ({ bytes: bytes(v) }));
  await sys.close(again);

  // Step 31: loop1 over /img/b under dm-1 (linear): holders/ and slaves/.
  step = 31;
  const lo = await sys.open("/dev/loop1", { write: true });
  const img = await sys.open("/img/b", { write: true });
  await rec("LOOP_CONFIGURE", { dev: "loop1", file: "/img/b" }, () => sys.ioctl(lo, "LOOP_CONFIGURE", { fd: img }));
  await sys.close(img);
  await dm("l", [{ sector_start: 0, length: 2048, target_type: "linear", params: "7:1 0" }]);
  await rec("readdir", { path: "/sys/block/dm-1/slaves" }, () => sys.readdir("/sys/block/dm-1/slaves"), (v) => ({ names: v }));
  await rec("readlink", { path: "/sys/block/dm-1/slaves/loop1" }, () => sys.readlink("/sys/block/dm-1/slaves/loop1"), (v) => ({ target: v }));
  await rec("readdir", { path: "/sys/block/loop1/holders" }, () => sys.readdir("/sys/block/loop1/holders"), (v) => ({ names: v }));
  await rec("readlink", { path: "/sys/block/loop1/holders/dm-1" }, () => sys.readlink("/sys/block/loop1/holders/dm-1"), (v) => ({ target: v }));
  await rec("readdir", { path: "/sys/block/loop1/slaves" }, () => sys.readdir("/sys/block/loop1/slaves"), (v) => ({ names: v }));

  // Step 32: the block layer's ioctls, lseek and fsync on loop1 (fd opened before the dm table: its first open).
  step = 32;
  for (const name of ["BLKGETSIZE", "BLKGETSIZE64", "BLKSSZGET", "BLKPBSZGET", "BLKBSZGET", "BLKROGET"] as const) await rec(name, { dev: "loop1" }, () => sys.ioctl(lo, name));
  await rec("BLKROSET", { dev: "loop1", value: 1 }, () => sys.ioctl(lo, "BLKROSET", 1));
  await rec("BLKROGET", { dev: "loop1" }, () => sys.ioctl(lo, "BLKROGET"));
  await rec("pwrite", { dev: "loop1", offset: 0, bytes: [1] }, () => sys.write(lo, 0, new Uint8Array([1])));
  await rec("BLKROSET", { dev: "loop1", value: 0 }, () => sys.ioctl(lo, "BLKROSET", 0));
  await rec("lseek", { dev: "loop1", offset: 0, whence: "SEEK_END" }, () => sys.lseek(lo, 0, "SEEK_END"));
  await rec("lseek", { dev: "loop1", offset: 1, whence: "SEEK_END" }, () => sys.lseek(lo, 1, "SEEK_END"));
  await rec("lseek", { dev: "loop1", offset: -512, whence: "SEEK_CUR" }, () => sys.lseek(lo, -512, "SEEK_CUR"));
  await rec("lseek", { path: "/dev/mapper/control", offset: 0, whence: "SEEK_SET" }, () => sys.lseek(ctl, 0, "SEEK_SET"));
  await rec("pwrite", { dev: "loop1", offset: 8192, bytes: [9] }, () => sys.write(lo, 8192, new Uint8Array([9])));
  await rec("fsync", { dev: "loop1" }, () => sys.fsync(lo));
  await rec("fdatasync", { dev: "loop1" }, () => sys.fdatasync(lo));
  await rec("fsync", { path: "/dev/mapper/control" }, () => sys.fsync(ctl));
  const file = await sys.open("/img/b");
  await rec("pread", { path: "/img/b", offset: 8192, length: 1 }, () => sys.read(file, 8192, 1), (v) => ({ bytes: bytes(v) }));

  // Step 33: BLKDISCARD, and O_DIRECT at open.
  step = 33;
  const ro = await sys.open("/dev/loop1");
  await rec("BLKDISCARD", { dev: "loop1", flags: "O_RDONLY", range: [0, 4096] }, () => sys.ioctl(ro, "BLKDISCARD", [0, 4096]));
  await rec("BLKDISCARD", { dev: "loop1", range: [1, 512] }, () => sys.ioctl(lo, "BLKDISCARD", [1, 512]));
  await rec("BLKDISCARD", { dev: "loop1", range: [0, 2097152] }, () => sys.ioctl(lo, "BLKDISCARD", [0, 2 << 20]));
  await rec("BLKDISCARD", { dev: "loop1", range: [8192, 4096] }, () => sys.ioctl(lo, "BLKDISCARD", [8192, 4096]));
  await rec("pread", { path: "/img/b", offset: 8192, length: 1 }, () => sys.read(file, 8192, 1), (v) => ({ bytes: bytes(v) }));
  const z = await sys.open("/dev/dm-0", { write: true });
  await rec("BLKDISCARD", { dev: "dm-0", range: [0, 4096] }, () => sys.ioctl(z, "BLKDISCARD", [0, 4096]));
  await rec("open", { path: "/img/a", flags: "O_RDONLY|O_DIRECT" }, () => sys.open("/img/a", { direct: true }));
  await rec("open", { path: "/dev/loop-control", flags: "O_RDWR|O_DIRECT" }, () => sys.open("/dev/loop-control", { write: true, direct: true }));

  step = 99;
  out.push({ step, op: "done", args: {}, ret: null, errno: null });
}
