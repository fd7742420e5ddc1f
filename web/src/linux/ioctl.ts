// ioctl(2): the fd's kind picks the table, as the kernel's file operations
// do (docs/linux-model.md §5.8): block ioctls common to every disk
// (blkdev_common_ioctl), then the driver's (lo_ioctl, or dm_blk_ioctl,
// which passes requests down to the device under its table), loop-control's,
// and device-mapper's control device. A name the model does not know is ENOTTY,
// as an unknown request number is.

import type { StepContext } from "../sim/op";
import { BLK_IOCTLS, blkdevIoctl, isBlkIoctl } from "./blkdev-ioctl";
import { DM_COMMANDS, dmControlIoctl } from "./dm/ioctl";
import { lookupFd } from "./fdtable";
import { fail, type Kernel } from "./kernel";
import { LOOP_CTL_IOCTLS, loopControlIoctl } from "./loop/control";
import { LOOP_IOCTLS, targetOfFd } from "./loop/ioctl";
import { driverIoctl } from "./dm/blk-ioctl";

/** Request numbers by name, for traces and docs. dm's are _IOWR(0xfd, nr, struct dm_ioctl) = 0xC138FD00 + nr. */
export const IOCTL_NUMBERS: Record<string, number> = {
  ...BLK_IOCTLS,
  ...LOOP_IOCTLS,
  ...LOOP_CTL_IOCTLS,
  ...Object.fromEntries(DM_COMMANDS.map((n, nr) => [n, 0xc138fd00 + nr])),
};

type Family = "blk" | "loop" | "loop-ctl" | "dm";

function familyOf(name: string): Family | undefined {
  if (isBlkIoctl(name)) return "blk";
  if (name in LOOP_IOCTLS) return "loop";
  if (name in LOOP_CTL_IOCTLS) return "loop-ctl";
  if ((DM_COMMANDS as readonly string[]).includes(name)) return "dm";
  return undefined;
}

export function vfsIoctl(ctx: StepContext, k: Kernel, fd: number, name: unknown, arg: unknown): unknown {
  const f = lookupFd(ctx, fd);
  if (typeof name !== "string") fail("ENOTTY", `ioctl request ${JSON.stringify(name)} is not a name the model knows`);
  const family = familyOf(name);
  if (family === undefined) fail("ENOTTY", `${name} is not an ioctl the model knows`);
  switch (f.kind) {
    case "file":
    case "dir":
      return fail("ENOTTY", `${name} on a ${f.kind === "dir" ? "directory" : "regular file"}`);
    case "misc":
      if (f.dev === "loop-control") {
        // loop_control_ioctl answers ENOSYS to everything but its three commands.
        if (family !== "loop-ctl") fail("ENOSYS", `${name} on /dev/loop-control`);
        return loopControlIoctl(ctx, k, name, arg);
      }
      // ctl_ioctl: a request whose type byte is not 0xfd is ENOTTY.
      if (family !== "dm") fail("ENOTTY", `${name} on /dev/mapper/control`);
      return dmControlIoctl(ctx, k, name, arg);
    case "disk":
      // The block layer's own (blkdev_ioctl, blkdev_common_ioctl), else the
      // driver's: lo_ioctl, or dm_blk_ioctl, which passes it down (dm/blk-ioctl.ts).
      if (isBlkIoctl(name)) return blkdevIoctl(ctx, k, f, name, arg);
      return driverIoctl(ctx, k, targetOfFd(f), name, family === "loop", arg);
  }
}
