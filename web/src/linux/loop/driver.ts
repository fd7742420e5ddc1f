// The loop driver's open and release (lo_open, lo_release): where autoclear
// detaches a device, synchronously, inside the last close (G:L32-34), and
// where patch 5/7 deletes it. docs/linux-model.md §4.3, §6.4.

import type { StepContext } from "../../sim/op";
import { fail, type Kernel } from "../kernel";
import type { Gendisk } from "../objects";
import { LO_FLAGS, loopRemove, loopUnbind, readLoop, writeLoop } from "./device";

/** lo_open: since "loop: Fix a race between loop detach and loop open" (6.11), a device in rundown or deleting refuses new opens. */
export function loopDriverOpen(ctx: StepContext, k: Kernel, _d: string, disk: Gendisk): void {
  if (!k.cfg.loopOpenRefusesRundown) return;
  const lo = readLoop(ctx.store, disk.driverKey);
  if (lo.state === "rundown" || lo.state === "deleting") fail("ENXIO", `${disk.name} is being detached`);
}

/** lo_release: at the last close, an AUTOCLEAR device is unbound (and, with patch 5/7, deleted). */
export function loopDriverRelease(ctx: StepContext, k: Kernel, d: string, _key: string, disk: Gendisk): void {
  if (disk.openers > 0) return;
  const lkey = disk.driverKey;
  let lo = readLoop(ctx.store, lkey);
  let autoclear = false;
  if (lo.state === "bound" && (lo.flags & LO_FLAGS.LO_FLAGS_AUTOCLEAR) !== 0) {
    lo = writeLoop(ctx, d, lkey, lo, { state: "rundown" });
    autoclear = true;
  } else if (!(k.cfg.loopClrFdAlwaysLazy && lo.state === "rundown")) {
    return;
  } else {
    // 6.12: LOOP_CLR_FD by the sole opener left rundown; that detach works by AUTOCLEAR too.
    autoclear = true;
  }
  loopUnbind(ctx, k, d, lkey);
  if (autoclear && k.cfg.patches["loop-autoclear-delete"]) loopRemove(ctx, d, lkey);
}
