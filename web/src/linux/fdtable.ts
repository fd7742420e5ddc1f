// A process's fd table (`fdtable:<d>:<process>`): one store object per
// process, so two processes opening files never conflict. Numbers start at 3
// (0-2 are the standard streams, which the model does not have) and the
// lowest free one is taken, as the kernel does.

import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { fail } from "./kernel";
import { FDTABLE, type OpenFile } from "./objects";

/** The fd limit of a process in the model (RLIMIT_NOFILE's usual soft value). */
export const MAX_FDS = 1024;

export function fdTableKey(ctx: StepContext): string {
  return FDTABLE.key(ctx.who.domain, ctx.who.name);
}

/** The holder name an exclusive open by this fd uses. */
export function fdHolder(ctx: StepContext, fd: number): string {
  return `fd:${ctx.who.domain}:${ctx.who.name}:${fd}`;
}

export function lookupFd(ctx: StepContext, fd: unknown): OpenFile {
  if (typeof fd !== "number" || !Number.isInteger(fd)) fail("EBADF", `${String(fd)} is not an fd number`);
  const t = FDTABLE.get(ctx.store, fdTableKey(ctx));
  const f = t?.fds[String(fd)];
  if (f === undefined) fail("EBADF", `fd ${fd} is not open in ${ctx.who.name}`);
  return f;
}

/** The lowest free fd number, or EMFILE. */
export function freeFd(ctx: StepContext): number {
  const t = FDTABLE.get(ctx.store, fdTableKey(ctx));
  for (let n = 3; n < MAX_FDS; n++) if (t?.fds[String(n)] === undefined) return n;
  return fail("EMFILE", `${ctx.who.name} has ${MAX_FDS} files open`);
}

export function installFd(ctx: StepContext, fd: number, f: OpenFile): void {
  const key = fdTableKey(ctx);
  const t = FDTABLE.get(ctx.store, key);
  FDTABLE.set(ctx.store, key, { fds: { ...t?.fds, [String(fd)]: f } });
}

export function removeFd(ctx: StepContext, fd: number): void {
  const key = fdTableKey(ctx);
  const t = FDTABLE.get(ctx.store, key);
  if (!t) return;
  const fds = { ...t.fds };
  delete fds[String(fd)];
  if (Object.keys(fds).length === 0) FDTABLE.delete(ctx.store, key);
  else FDTABLE.set(ctx.store, key, { fds });
}

/** The fds a process has open, ascending (what exit closes). */
export function openFds(store: Store, d: string, proc: string): number[] {
  const t = FDTABLE.get(store, FDTABLE.key(d, proc));
  return t ? Object.keys(t.fds).map(Number).sort((a, b) => a - b) : [];
}
