// do_exit: what the kernel does when a process ends, whether it returned
// (exit(2)) or was killed. One function for both, so the two can never
// release different things.

import type { StepContext } from "../sim/op";
import { openFds } from "./fdtable";
import type { Kernel } from "./kernel";
import { vfsClose } from "./vfs";

/**
 * Closes the process's fds, lowest first, as close(2) would (a last close
 * may detach an autoclear loop device), then lets the rest of the machine
 * release what the process held there (Kernel.onProcessExit).
 */
export function processExit(ctx: StepContext, k: Kernel): void {
  for (const fd of openFds(ctx.store, ctx.who.domain, ctx.who.name)) vfsClose(ctx, k, fd);
  k.onProcessExit?.(ctx);
}
