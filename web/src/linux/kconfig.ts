// What the base kernel and the patch switches turn on, derived once from a
// run's Config and closed over by the handlers. It is constant for a run,
// so it is never stored: reading it must not enter footprints.
// docs/linux-model.md §2 gives the source of each row.

import type { Config, DmFlagPolicy, KernelId, ResolvedPatches } from "blocklab";

export interface KernelConfig {
  kernel: KernelId;
  patches: ResolvedPatches;
  /** b90ecc0379eb: disk_force_media_change takes the next diskseq (loop attach, change-fd, detach). */
  mediaChangeBumpsDiskseq: boolean;
  /** "loop: Fix a race between loop detach and loop open" (6.11): LOOP_CLR_FD only marks autoclear; the detach is at the last close. */
  loopClrFdAlwaysLazy: boolean;
  /** Same patch: lo_open refuses a device in rundown or deleting (ENXIO). */
  loopOpenRefusesRundown: boolean;
  /** 6.5+ check_name: DM_DEV_CREATE and DM_DEV_RENAME refuse "control", "." and "..". */
  dmRefusesReservedNames: boolean;
  /** DM_VERSION's answer (golden traces: 4.47.0 on 6.1.192, 4.48.0 on 6.12). */
  dmVersion: [number, number, number];
  /**
   * e7bc0010ceb4 (v6.15, in 6.12 stable since 2025-04-23): LOOP_CONFIGURE and
   * LOOP_CHANGE_FD send a `change` uevent. Before it they sent none. Whether
   * 6.1.192 has the backport is not verified; it is assumed (the fix was
   * marked for stable and 6.1.192 is from 2025). No golden record shows it.
   */
  loopConfigureUevent: boolean;
  /**
   * 00065f925efb "dm zero: add discard support" (with the error target's,
   * in the 6.6 cycle): zero and error targets advertise discard; zero drops
   * discards, error fails them (EIO). Before it a table with either target
   * has no discard support (EOPNOTSUPP).
   */
  dmZeroErrorDiscard: boolean;
  /**
   * BLKDISCARD's check order. 6.1: EBADF, EOPNOTSUPP, 512-byte alignment,
   * range, the page cache range dropped, then __blkdev_issue_discard's
   * EPERM (read-only), logical-block alignment and empty range. 6.12 ("block:
   * move discard checks into the ioctl handler", then blk_validate_byte_range
   * with the io_uring discard of 6.12): EOPNOTSUPP, EBADF, EPERM, the range
   * against the logical block size, all before the page cache is touched.
   */
  discardChecksFirst: boolean;
  /**
   * O_DIRECT on a regular file. The model's files stand for tmpfs, which has
   * no direct I/O in 6.1 (open gives EINVAL) and takes O_DIRECT since 6.6
   * ("tmpfs: trivial support for direct IO"); the model's files have no
   * page cache, so there it changes nothing.
   */
  tmpfsDirectIO: boolean;
  /** The loop module's max_loop (the golden setup passes max_loop=8): loop0..7 exist at boot, and an open by dev_t below it autoloads. */
  maxLoop: number;
  /** dm's block major: dynamic, 254 in the golden environment (the first dynamic major). */
  dmMajor: number;
  dmFlagPolicy: DmFlagPolicy;
}

export const LOOP_MAJOR = 7;
export const MISC_MAJOR = 10;
export const LOOP_CTRL_MINOR = 237;
export const MAPPER_CTRL_MINOR = 236;

export function kernelConfig(config: Config): KernelConfig {
  const k = config.kernel;
  const at6_12 = k === "linux-6.12";
  return {
    kernel: k,
    patches: config.patches,
    mediaChangeBumpsDiskseq: k !== "linux-6.1",
    loopClrFdAlwaysLazy: at6_12,
    loopOpenRefusesRundown: at6_12,
    dmRefusesReservedNames: at6_12,
    dmVersion: at6_12 ? [4, 48, 0] : [4, 47, 0],
    loopConfigureUevent: k !== "linux-6.1",
    dmZeroErrorDiscard: at6_12,
    discardChecksFirst: at6_12,
    tmpfsDirectIO: at6_12,
    maxLoop: 8,
    dmMajor: 254,
    dmFlagPolicy: config.patches.dmFlagPolicy,
  };
}
