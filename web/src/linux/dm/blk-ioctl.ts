// dm_blk_ioctl: an ioctl on a dm block device (not on /dev/mapper/control)
// that the block layer did not answer itself (BLKGETSIZE64, BLKGETDISKSEQ:
// ioctl.ts). dm answers none of its own; it passes the request down to the
// one device under its table, as that device's driver ioctl, with the mode
// of the caller's dm fd (drivers/md/dm.c dm_prepare_ioctl, dm_blk_ioctl;
// dm-linear.c linear_prepare_ioctl), when:
//
//   - the live table has a size          else ENOTTY
//   - it has exactly one target          else ENOTTY
//   - that target passes ioctls through  else ENOTTY (of the model's
//     targets only linear has prepare_ioctl; striped, zero and error not)
//   - the device is not suspended        else EAGAIN
//   - linear maps the whole lower device (offset 0, same length), or the
//     caller has CAP_SYS_RAWIO           else ENOIOCTLCMD, which the VFS
//                                        turns into ENOTTY
//
// So `LOOP_GET_STATUS64` on a dm-linear device over all of /dev/loop0 is
// loop0's status, and `LOOP_CLR_FD` there clears loop0 (synchronously when
// dm's is its only open, as loop_clr_fd decides by disk_openers). A lower dm
// device passes it on again. Read in the sources; not run on a real kernel
// ([U] in docs/linux-model.md).

import type { StepContext } from "../../sim/op";
import { readDisk } from "../block";
import { isRoot } from "../creds";
import { fail, type Kernel } from "../kernel";
import { loopIoctl, type IoctlTarget } from "../loop/ioctl";
import { DM } from "../objects";

/** The device driver's ioctl (gendisk->fops->ioctl) of the disk `at` names: lo_ioctl or dm_blk_ioctl. */
export function driverIoctl(ctx: StepContext, k: Kernel, at: IoctlTarget, name: string, isLoopIoctl: boolean, arg: unknown, depth = 0): unknown {
  const disk = readDisk(ctx.store, at.disk);
  if (disk.driver === "loop") {
    // lo_ioctl passes what it does not know to lo_simple_ioctl: EINVAL.
    if (!isLoopIoctl) fail("EINVAL", `${name} on a loop device (${disk.name})`);
    return loopIoctl(ctx, k, at, name, arg);
  }
  return dmBlkIoctl(ctx, k, at, name, isLoopIoctl, arg, depth);
}

function dmBlkIoctl(ctx: StepContext, k: Kernel, at: IoctlTarget, name: string, isLoopIoctl: boolean, arg: unknown, depth: number): unknown {
  const disk = readDisk(ctx.store, at.disk);
  const md = DM.get(ctx.store, disk.driverKey);
  const table = md?.live ?? null;
  const size = table ? table.targets.reduce((n, t) => n + t.length, 0) : 0;
  if (!md || !table || size === 0) fail("ENOTTY", `${name} on ${disk.name}: no live table to pass it through`);
  if (table.targets.length !== 1) fail("ENOTTY", `${name} on ${disk.name}: dm passes ioctls through only for a table of one target (this one has ${table.targets.length})`);
  const target = table.targets[0]!;
  if (target.type !== "linear") fail("ENOTTY", `${name} on ${disk.name}: a ${target.type} target does not pass ioctls through`);
  if (md.suspended) fail("EAGAIN", `${name} on ${disk.name}: the device is suspended`);
  const leg = target.legs[0]!;
  const lower = readDisk(ctx.store, leg.disk);
  if ((leg.offset !== 0 || target.length !== lower.sectors) && !isRoot(ctx)) {
    fail("ENOTTY", `${name} on ${disk.name}: it maps part of ${lower.name}, which needs CAP_SYS_RAWIO (ENOIOCTLCMD)`);
  }
  // dm devices stack only a few deep; a loop in the model's tables would be a bug.
  if (depth > 16) fail("ENOTTY", `${name} on ${disk.name}: dm devices stacked too deep`);
  return driverIoctl(ctx, k, { ...at, disk: leg.disk }, name, isLoopIoctl, arg, depth + 1);
}
