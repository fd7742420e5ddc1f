// A process's credentials: root (uid 0 with every capability) unless the
// scenario says otherwise. The model has no uids, groups or file modes; it
// knows only what matters to block devices: device nodes are 0600/0660
// root:disk, so an unprivileged process cannot open them (EACCES), and
// mknod needs CAP_MKNOD (EPERM). `cred:<d>:<process>` exists only for an
// unprivileged process, and never changes, so reading it conflicts with nothing.

import { declareKind } from "../sim/object-kind";
import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";

export interface Credentials {
  root: boolean;
}

const CRED = declareKind<Credentials, [d: string, proc: string]>("cred", (d, proc) => `${d}:${proc}`);

export function setCredentials(store: Store, d: string, proc: string, c: Credentials): void {
  CRED.set(store, CRED.key(d, proc), c);
}

/** Whether the calling process is root. */
export function isRoot(ctx: StepContext): boolean {
  return CRED.get(ctx.store, CRED.key(ctx.who.domain, ctx.who.name))?.root ?? true;
}
