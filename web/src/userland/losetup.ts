// losetup as ordinary library code over Sys: several system calls, each its
// own step, in the order util-linux makes them, so the races between them
// show (the device found free is bound by someone else before LOOP_CONFIGURE).
// The step order follows util-linux's `losetup -f --show` (loopcxt_find_unused
// via LOOP_CTL_GET_FREE, then loopcxt_setup_device); its retry on EBUSY is
// kept, its exact count and delays are not verified (docs/linux-model.md §11).

import type { LoopAttachment, LoopListEntry, Sys } from "blocklab";
import { errnoOf } from "../sim/op";

/** How many times attach goes back to LOOP_CTL_GET_FREE when the device it found was taken meanwhile. */
const ATTACH_ATTEMPTS = 16;

export async function losetupAttach(sys: Sys, file: string, options: { autoclear?: boolean; readOnly?: boolean; keepFd?: boolean } = {}): Promise<LoopAttachment> {
  const flags = (options.autoclear ? 4 : 0) | (options.readOnly ? 1 : 0);
  const backing = await sys.open(file, { write: !options.readOnly });
  try {
    for (let attempt = 1; ; attempt++) {
      const ctl = await sys.open("/dev/loop-control", { write: true });
      let index: number;
      try {
        index = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
      } finally {
        await sys.close(ctl);
      }
      const path = `/dev/loop${index}`;
      const fd = await sys.open(path, { write: !options.readOnly });
      try {
        await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: backing, info: { lo_flags: flags, lo_file_name: file } });
      } catch (e) {
        await sys.close(fd);
        if (errnoOf(e) === "EBUSY" && attempt < ATTACH_ATTEMPTS) continue;
        throw e;
      }
      const diskseq = await sys.ioctl(fd, "BLKGETDISKSEQ");
      const st = await sys.stat(path);
      const out: LoopAttachment = { path, index, major: st.rdev.major, minor: st.rdev.minor, diskseq };
      if (options.keepFd) out.fd = fd;
      else await sys.close(fd);
      return out;
    }
  } finally {
    await sys.close(backing);
  }
}

/** `losetup -d`: LOOP_CLR_FD through a fresh fd. */
export async function losetupDetach(sys: Sys, path: string): Promise<void> {
  const fd = await sys.open(path);
  try {
    await sys.ioctl(fd, "LOOP_CLR_FD");
  } finally {
    await sys.close(fd);
  }
}

/** `losetup -l`: the bound devices, from sysfs (util-linux reads sysfs first). */
export async function losetupList(sys: Sys): Promise<LoopListEntry[]> {
  const out: LoopListEntry[] = [];
  for (const name of await sys.readdir("/sys/block")) {
    const m = /^loop(\d+)$/.exec(name);
    if (!m) continue;
    const dir = `/sys/block/${name}`;
    try {
      // Each read is a step: the device may be detached or removed between them, then it is skipped.
      const backingFile = (await sys.readFile(`${dir}/loop/backing_file`)).trimEnd();
      const autoclear = (await sys.readFile(`${dir}/loop/autoclear`)).trim() === "1";
      const readOnly = (await sys.readFile(`${dir}/ro`)).trim() === "1";
      const diskseq = Number((await sys.readFile(`${dir}/diskseq`)).trim());
      out.push({ path: `/dev/${name}`, index: Number(m[1]), backingFile, autoclear, readOnly, diskseq });
    } catch (e) {
      if (errnoOf(e) !== "ENOENT") throw e;
    }
  }
  return out;
}
