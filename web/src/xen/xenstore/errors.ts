// Xenstore errors travel by name: an ERROR reply carries the errno's name
// ("ENOENT"), from the table in xs_wire.h (`xsd_errors`, [V]). The model
// throws them as SysError, like the kernel model's errnos.

import { SysError } from "../../sim/op";
import type { Errno } from "../../linux/errno";

/** xs_wire.h's xsd_errors, in order. */
export const XS_ERRORS = [
  "EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO",
  "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM",
] as const satisfies readonly Errno[];
export type XsErrno = (typeof XS_ERRORS)[number];

export function xsFail(errno: XsErrno, message: string): never {
  throw new SysError(errno, message);
}

/** The errno of a failed xenstore call, or undefined for anything else. */
export function xsErrno(e: unknown): XsErrno | undefined {
  return e instanceof SysError && (XS_ERRORS as readonly string[]).includes(e.errno) ? (e.errno as XsErrno) : undefined;
}
