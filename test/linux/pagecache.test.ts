// The block-device page cache (linux/pagecache.ts), O_DIRECT, fsync,
// lseek and the block layer's own ioctls (linux/blkdev-ioctl.ts,
// linux/discard.ts), each through Sys as a script would use them.

import type { KernelId, Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import { attachLoop, control, IMG } from "./dm-support";
import { outcome, runScript } from "./harness";

const KERNELS: KernelId[] = ["linux-6.1.192", "linux-6.12"];

/** dm-0 = "z", one `zero` target of 64 sectors. */
async function zeroDevice(sys: Sys): Promise<void> {
  const ctl = await control(sys);
  await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "z" });
  await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "z", targets: [{ sector_start: 0, length: 64, target_type: "zero", params: "" }] });
  await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "z" });
  await sys.close(ctl);
}

const bytes = (b: Uint8Array) => Array.from(b).join(",");

async function peekImage(sys: Sys, path: string, offset: number, n: number): Promise<string> {
  const fd = await sys.open(path);
  const got = bytes(await sys.read(fd, offset, n));
  await sys.close(fd);
  return got;
}

describe.each(KERNELS)("the page cache on %s", (kernel) => {
  it("a buffered write through a dm zero target reads back until the cache goes; O_DIRECT reads the device (zeros)", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      await zeroDevice(sys);
      const fd = await sys.open("/dev/dm-0", { write: true });
      const direct = await sys.open("/dev/dm-0", { direct: true });
      await sys.write(fd, 4096 + 3, new Uint8Array([7, 8]));
      seen.push(bytes(await sys.read(fd, 4096 + 2, 4)));
      // The direct read writes the dirty page back first (the zero target drops it); the page stays cached, clean.
      seen.push(bytes(await sys.read(direct, 4096, 4096).then((b) => b.subarray(2, 6))));
      seen.push(bytes(await sys.read(fd, 4096 + 2, 4)));
      // BLKFLSBUF writes back and drops the cache: now the reads see the device.
      seen.push(await outcome(sys.ioctl(fd, "BLKFLSBUF")));
      seen.push(bytes(await sys.read(fd, 4096 + 2, 4)));
      await sys.write(fd, 0, new Uint8Array([5]));
      // Closing one of two fds keeps the cache; the last close drops it.
      await sys.close(direct);
      seen.push(bytes(await sys.read(fd, 0, 1)));
      await sys.close(fd);
      const again = await sys.open("/dev/dm-0");
      seen.push(bytes(await sys.read(again, 0, 1)));
    }, IMG);
    expect(seen).toEqual(["0,7,8,0", "0,0,0,0", "0,7,8,0", "ok:0", "0,0,0,0", "5", "0"]);
  });

  it("the image gets a buffered write at fsync or at the last close, not before; a partial page keeps the device's other bytes", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      const fd = await sys.open("/dev/loop1", { write: true });
      const other = await sys.open("/dev/loop1");
      await sys.write(fd, 10, new Uint8Array([1, 2]));
      seen.push(await peekImage(sys, "/img/a", 8, 6));
      seen.push(await outcome(sys.fsync(other)));
      seen.push(await peekImage(sys, "/img/a", 8, 6));
      await sys.write(fd, 20, new Uint8Array([3]));
      await sys.close(fd);
      seen.push(await peekImage(sys, "/img/a", 18, 4));
      await sys.close(other);
      seen.push(await peekImage(sys, "/img/a", 18, 4));
    }, IMG);
    expect(seen).toEqual(["170,170,170,170,170,170", "ok", "170,170,1,2,170,170", "170,170,170,170", "170,170,3,170"]);
  });

  it("O_DIRECT: offset and length in logical blocks (EINVAL), 0 bytes past the end; a direct write writes the dirty range back and drops it", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      const fd = await sys.open("/dev/loop1", { write: true });
      const direct = await sys.open("/dev/loop1", { write: true, direct: true });
      seen.push(await outcome(sys.read(direct, 100, 512).then(bytes)));
      seen.push(await outcome(sys.read(direct, 512, 100).then(bytes)));
      seen.push(await outcome(sys.read(direct, 1 << 20, 512).then((b) => String(b.length))));
      await sys.write(fd, 0, new Uint8Array([1]));
      seen.push(await outcome(sys.write(direct, 512, new Uint8Array(512).fill(2))));
      seen.push(await peekImage(sys, "/img/a", 0, 1));
      seen.push(bytes(await sys.read(fd, 511, 2)));
      seen.push(await outcome(sys.write(direct, 0, new Uint8Array(3))));
    }, IMG);
    expect(seen).toEqual(["EINVAL", "EINVAL", "ok:\"0\"", "ok:512", "1", "170,2", "EINVAL"]);
  });

  it("O_DIRECT at open: a directory and a control device refuse it; a file only where tmpfs has direct I/O", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      seen.push(await outcome(sys.open("/img", { direct: true }).then(() => undefined)));
      seen.push(await outcome(sys.open("/dev/loop-control", { direct: true }).then(() => undefined)));
      seen.push(await outcome(sys.open("/img/a", { direct: true }).then(() => undefined)));
    }, IMG);
    expect(seen).toEqual(["EINVAL", "EINVAL", kernel === "linux-6.12" ? "ok" : "EINVAL"]);
  });
});

describe("fsync and lseek", () => {
  it("fsync: nothing to do on a file, EINVAL on a control device; lseek: SEEK_END is a disk's size and nothing may pass it, a file's may, ESPIPE on a control device", async () => {
    const seen: string[] = [];
    await runScript("linux-6.12", "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      const file = await sys.open("/img/a");
      const ctl = await control(sys);
      const dev = await sys.open("/dev/loop1");
      const dir = await sys.open("/img");
      seen.push(await outcome(sys.fsync(file)), await outcome(sys.fdatasync(ctl)));
      seen.push(await outcome(sys.lseek(dev, 0, "SEEK_END")), await outcome(sys.lseek(dev, -10, "SEEK_CUR")), await outcome(sys.lseek(dev, 5, "SEEK_CUR")));
      seen.push(await outcome(sys.lseek(dev, 1, "SEEK_END")), await outcome(sys.lseek(dev, -1, "SEEK_SET")), await outcome(sys.lseek(dev, 0, "SEEK_BAD" as never)));
      seen.push(await outcome(sys.lseek(file, 10, "SEEK_END")), await outcome(sys.lseek(ctl, 0, "SEEK_SET")), await outcome(sys.lseek(dir, 0, "SEEK_END")));
    }, IMG);
    expect(seen).toEqual(["ok", "EINVAL", "ok:1048576", "ok:1048566", "ok:1048571", "EINVAL", "EINVAL", "EINVAL", "ok:1048586", "ESPIPE", "EINVAL"]);
  });
});

describe.each(KERNELS)("the block layer's ioctls on %s", (kernel) => {
  it("sizes: BLKGETSIZE in sectors, BLKSSZGET and BLKPBSZGET the loop block size, BLKBSZGET set at the first open; dm stacks the largest", async () => {
    const seen: unknown[] = [];
    await runScript(kernel, "none", async (sys) => {
      const fd = await sys.open("/dev/loop1", { write: true });
      const img = await sys.open("/img/a", { write: true });
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: img, block_size: 4096 });
      for (const name of ["BLKGETSIZE", "BLKSSZGET", "BLKPBSZGET", "BLKBSZGET"] as const) seen.push(await sys.ioctl(fd, name));
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "l" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "l", targets: [{ sector_start: 0, length: 8, target_type: "linear", params: "7:1 0" }, { sector_start: 8, length: 1, target_type: "zero", params: "" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "l" });
      const dm = await sys.open("/dev/dm-0");
      // 9 sectors: 4608 bytes, so set_init_blocksize stops at 4096 (the logical block size).
      for (const name of ["BLKGETSIZE", "BLKSSZGET", "BLKPBSZGET", "BLKBSZGET"] as const) seen.push(await sys.ioctl(dm, name));
      await sys.close(dm);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "s" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "s", targets: [{ sector_start: 0, length: 3, target_type: "zero", params: "" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "s" });
      const small = await sys.open("/dev/dm-1");
      // 1536 bytes: 512 divides it, 1024 does not.
      seen.push(await sys.ioctl(small, "BLKSSZGET"), await sys.ioctl(small, "BLKBSZGET"));
    }, IMG);
    expect(seen).toEqual([2048, 4096, 4096, 4096, 9, 4096, 4096, 4096, 512, 512]);
  });

  it("BLKROSET makes writes EPERM and BLKROGET say so, for the disk's life (it outlives the fd); BLKROGET also shows a read-only binding", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      const fd = await sys.open("/dev/loop1", { write: true });
      seen.push(await outcome(sys.ioctl(fd, "BLKROGET")), await outcome(sys.ioctl(fd, "BLKROSET", 1)), await outcome(sys.ioctl(fd, "BLKROGET")));
      seen.push(await outcome(sys.write(fd, 0, new Uint8Array(1))));
      await sys.close(fd);
      const again = await sys.open("/dev/loop1", { write: true });
      seen.push(await outcome(sys.ioctl(again, "BLKROGET")), await outcome(sys.ioctl(again, "BLKROSET", "yes" as never)), await outcome(sys.ioctl(again, "BLKROSET", 0)));
      seen.push(await outcome(sys.write(again, 0, new Uint8Array(1))));
      const ro = await sys.open("/dev/loop2", { write: true });
      const img = await sys.open("/img/b");
      await sys.ioctl(ro, "LOOP_CONFIGURE", { fd: img });
      seen.push(await outcome(sys.ioctl(ro, "BLKROGET")));
    }, IMG);
    expect(seen).toEqual(["ok:0", "ok:0", "ok:1", "EPERM", "ok:1", "EINVAL", "ok:0", "ok:1", "ok:1"]);
  });

  it("BLKDISCARD: a loop device punches a hole (zeros) and drops the cached range; EBADF, alignment and range; dm zero and error per kernel", async () => {
    const seen: string[] = [];
    await runScript(kernel, "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      const fd = await sys.open("/dev/loop1", { write: true });
      const ro = await sys.open("/dev/loop1");
      await sys.write(fd, 4096, new Uint8Array([1]));
      seen.push(await outcome(sys.ioctl(ro, "BLKDISCARD", [0, 8192])));
      seen.push(await outcome(sys.ioctl(fd, "BLKDISCARD", [1, 512])), await outcome(sys.ioctl(fd, "BLKDISCARD", [0, 100])), await outcome(sys.ioctl(fd, "BLKDISCARD", [0, 2 << 20])));
      seen.push(await outcome(sys.ioctl(fd, "BLKDISCARD", [0, 8192])));
      // The dirty page in the range is gone (not written back), and the image reads zeros there.
      seen.push(bytes(await sys.read(fd, 4095, 3)), await peekImage(sys, "/img/a", 4095, 3));
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "ze" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "ze", targets: [{ sector_start: 0, length: 8, target_type: "zero", params: "" }, { sector_start: 8, length: 8, target_type: "error", params: "" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "ze" });
      const dm = await sys.open("/dev/dm-0", { write: true });
      seen.push(await outcome(sys.ioctl(dm, "BLKDISCARD", [0, 4096])), await outcome(sys.ioctl(dm, "BLKDISCARD", [4096, 4096])));
    }, IMG);
    const dmRows = kernel === "linux-6.12" ? ["ok:0", "EIO"] : ["EOPNOTSUPP", "EOPNOTSUPP"];
    expect(seen).toEqual(["EBADF", "EINVAL", "EINVAL", "EINVAL", "ok:0", "0,0,0", "0,0,0", ...dmRows]);
  });
});
