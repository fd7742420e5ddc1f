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
    maxLoop: 8,
    dmMajor: 254,
    dmFlagPolicy: config.patches.dmFlagPolicy,
  };
}
