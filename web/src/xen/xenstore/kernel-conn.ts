// A kernel's xenstore connection inside one step, in the shape kernel
// drivers want (web/src/xen/xs-conn.ts's XsConn): errors as errno names
// instead of exceptions, a missing or unreadable node as undefined, and
// every watch of the connection delivering into one queue (Linux runs all
// watch callbacks of a kernel in its one xenwatch thread).

import type { StepContext } from "../../sim/op";
import { xsErrno, type XsErrno } from "./errors";
import { xsDirectory, xsRead, xsRm, xsUnwatch, xsWatch, xsWrite, type WatchOptions } from "./index";
import type { XsTransaction } from "./transaction";

export interface KernelXs {
  readonly domid: number;
  read(path: string): string | undefined;
  write(path: string, value: string): XsErrno | undefined;
  rm(path: string): XsErrno | undefined;
  ls(path: string): string[] | undefined;
  watch(path: string, token: string, opts?: WatchOptions): XsErrno | undefined;
  unwatch(path: string, token: string): XsErrno | undefined;
}

/** Runs a call: the xenstore errno it failed with, or undefined when it succeeded (anything else thrown goes on). */
function errnoResult(f: () => void): XsErrno | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    const errno = xsErrno(e);
    if (errno === undefined) throw e;
    return errno;
  }
}

function valueOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (xsErrno(e) === undefined) throw e;
    return undefined;
  }
}

/**
 * The connection of domain `domid`'s kernel named `conn` (e.g.
 * "kernel@dom0"), whose watches deliver into `queue`; with `tx`, every call
 * goes through that transaction.
 */
export function kernelXs(ctx: StepContext, domid: number, conn: string, queue: string, tx?: XsTransaction): KernelXs {
  return {
    domid,
    read: (path) => valueOr(() => xsRead(ctx, domid, path, tx)),
    write: (path, value) => errnoResult(() => xsWrite(ctx, domid, path, value, tx)),
    rm: (path) => errnoResult(() => xsRm(ctx, domid, path, tx)),
    ls: (path) => valueOr(() => xsDirectory(ctx, domid, path, tx)),
    watch: (path, token, opts) => errnoResult(() => xsWatch(ctx, domid, conn, path, token, queue, opts)),
    unwatch: (path, token) => errnoResult(() => xsUnwatch(ctx, domid, conn, path, token)),
  };
}
