// PLACEHOLDER until the device-mapper model lands: every dm command fails
// with ENOSYS and says so. Replaced by the dm-ioctl.c model (§5.3-5.4).

import type { StepContext } from "../../sim/op";
import { fail, type Kernel } from "../kernel";

/** struct dm_ioctl commands by number (uapi dm-ioctl.h); each is _IOWR(0xfd, nr, struct dm_ioctl). */
export const DM_COMMANDS = [
  "DM_VERSION", "DM_REMOVE_ALL", "DM_LIST_DEVICES", "DM_DEV_CREATE", "DM_DEV_REMOVE", "DM_DEV_RENAME", "DM_DEV_SUSPEND",
  "DM_DEV_STATUS", "DM_DEV_WAIT", "DM_TABLE_LOAD", "DM_TABLE_CLEAR", "DM_TABLE_DEPS", "DM_TABLE_STATUS", "DM_LIST_VERSIONS",
  "DM_TARGET_MSG", "DM_DEV_SET_GEOMETRY", "DM_DEV_ARM_POLL", "DM_GET_TARGET_VERSION",
] as const;

export function dmControlIoctl(_ctx: StepContext, _k: Kernel, name: string, _arg: unknown): unknown {
  return fail("ENOSYS", `${name}: device-mapper is not emulated yet`);
}
