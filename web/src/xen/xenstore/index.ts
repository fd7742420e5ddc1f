// xenstored's internal API: what kernel-side handlers (xenbus, blkback,
// blkfront), the toolstack and `sys.xenstore` call inside a step. Each call
// is one xenstore request of domain `domid` (its permissions, its home for
// relative paths), optionally inside a transaction. Failures throw SysError
// with xenstore's errno names. docs/xen-model.md "Internal API" has the
// contract; changes here are additive only.

import type { Op, StepContext } from "../../sim/op";
import type { Store } from "../../sim/store";
import { xsErrno } from "./errors";
import { XS_NODE, type TreeAccess, type XsNode } from "./node";
import { opDirectory, opGetPerms, opMkdir, opRead, opRm, opSetPerms, opWrite, removeTree } from "./ops";
import { canonicalize, childPath, homeOf, isSpecial, SPECIAL_PATHS } from "./path";
import { XS_CONN } from "./connection";
import { directAccess, dropTransactionsOf, inTransaction, txEnd, txStart, XS_TX, type XsTransaction } from "./transaction";
import { dropWatchesOf, fireWatches, hasEvent, registerWatch, takeEvent, unregisterWatch, XS_WATCH, type WatchEvent } from "./watch";

export type { XsNode } from "./node";
export type { XsTransaction } from "./transaction";
export type { WatchEvent } from "./watch";
export { XS_ERRORS, xsErrno, type XsErrno } from "./errors";
export { INTRODUCE_DOMAIN, RELEASE_DOMAIN, homeOf } from "./path";

function access<R>(ctx: StepContext, domid: number, tx: XsTransaction | undefined, body: (t: TreeAccess) => R): R {
  return tx ? inTransaction(ctx, domid, tx, body) : body(directAccess(ctx, domid));
}

/** READ: the value; ENOENT (missing), EACCES (no read right, or missing where the caller may not know). */
export function xsRead(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): string {
  const p = canonicalize(domid, path);
  return access(ctx, domid, tx, (t) => opRead(t, p));
}

/** READ, with a missing node as undefined (other errors still throw): what kernel code checks most. */
export function xsTryRead(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): string | undefined {
  try {
    return xsRead(ctx, domid, path, tx);
  } catch (e) {
    if (xsErrno(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** WRITE: creates missing parents (empty values); fires watches on the path and above. */
export function xsWrite(ctx: StepContext, domid: number, path: unknown, value: unknown, tx?: XsTransaction): void {
  const p = canonicalize(domid, path);
  access(ctx, domid, tx, (t) => opWrite(t, p, value));
}

/** MKDIR: like WRITE of an empty value, but an existing node is left alone. */
export function xsMkdir(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): void {
  const p = canonicalize(domid, path);
  access(ctx, domid, tx, (t) => opMkdir(t, p));
}

/** RM: the node and its subtree; fine if missing while its parent exists. */
export function xsRm(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): void {
  const p = canonicalize(domid, path);
  access(ctx, domid, tx, (t) => opRm(t, p));
}

/** DIRECTORY: child names in creation order. */
export function xsDirectory(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): string[] {
  const p = canonicalize(domid, path);
  return access(ctx, domid, tx, (t) => opDirectory(t, p));
}

/** GET_PERMS: the list in wire form (["n0", "r5"]); '@' names allowed. */
export function xsGetPerms(ctx: StepContext, domid: number, path: unknown, tx?: XsTransaction): string[] {
  const p = canonicalize(domid, path, true);
  return access(ctx, domid, tx, (t) => opGetPerms(t, p));
}

/** SET_PERMS: owner or dom0 only (EACCES), the owner changed by dom0 only (EPERM). */
export function xsSetPerms(ctx: StepContext, domid: number, path: unknown, perms: unknown, tx?: XsTransaction): void {
  const p = canonicalize(domid, path, true);
  access(ctx, domid, tx, (t) => opSetPerms(t, p, perms));
}

export interface WatchOptions {
  /** Linux xenbus's will_handle filter: take no event while one of this watch is pending (Linux: a backend's watch on its frontend's state only). */
  dropWhilePending?: boolean;
}

/**
 * WATCH on connection `conn` (a process's or kernel thread's name): events
 * go to `queue` (several watches may share one); it fires at once with the
 * path as given. EEXIST for the same path and token twice on one connection.
 */
export function xsWatch(ctx: StepContext, domid: number, conn: string, path: unknown, token: string, queue: string, opts: WatchOptions = {}): void {
  const p = canonicalize(domid, path, true);
  const relative = typeof path === "string" && !path.startsWith("/") && !path.startsWith("@");
  registerWatch(ctx, p, {
    conn, domid, token, queue,
    prefix: relative ? homeOf(domid).length + 1 : 0,
    ...(opts.dropWhilePending ? { dropWhilePending: true } : {}),
  });
}

/** UNWATCH: ENOENT when no such watch; its events not yet taken are dropped. */
export function xsUnwatch(ctx: StepContext, domid: number, conn: string, path: unknown, token: string): void {
  unregisterWatch(ctx, canonicalize(domid, path, true), conn, token);
}

/** The oldest event of a queue, taken (undefined when none). */
export function xsTakeEvent(ctx: StepContext, queue: string): WatchEvent | undefined {
  return takeEvent(ctx, queue);
}

/** Guard for a step that waits for an event of `queue`. */
export function xsHasEvent(store: Store, queue: string): boolean {
  return hasEvent(store, queue);
}

/**
 * A watcher's delivery step: blocked until `queue` has an event, then takes
 * it and runs `handle` on it in the same step (a kernel thread's watch
 * callback; a daemon loops over this).
 */
export function xsWatchStep<R>(queue: string, handle: (ctx: StepContext, ev: WatchEvent) => R, call = "xenstore watch event"): Op<R> {
  return {
    call,
    args: [queue],
    waitingFor: `a xenstore watch event (${queue})`,
    ready: (store) => hasEvent(store, queue),
    run: (ctx) => handle(ctx, takeEvent(ctx, queue)!),
  };
}

/** TRANSACTION_START on connection `conn`. */
export function xsTransactionStart(ctx: StepContext, domid: number, conn: string): XsTransaction {
  return txStart(ctx, domid, conn);
}

/** TRANSACTION_END: commit (EAGAIN on conflict; the transaction is gone either way) or abort. */
export function xsTransactionEnd(ctx: StepContext, domid: number, tx: XsTransaction, commit: boolean): void {
  txEnd(ctx, domid, tx, commit);
}

/** xenstored's own event on '@introduceDomain' or '@releaseDomain' (fire_special_watches). */
export function xsFireSpecial(ctx: StepContext, name: "@introduceDomain" | "@releaseDomain"): void {
  const node = XS_NODE.get(ctx.store, XS_NODE.key(name))!;
  fireWatches(ctx, { path: name, exact: true, perms: node.perms });
}

/**
 * A domain is gone (domain_tree_remove, watches and transactions of its
 * connections): every node it owns goes with its subtree, firing watches;
 * entries naming it in the special nodes' lists go.
 */
export function xsDomainGone(ctx: StepContext, domid: number): void {
  const t = directAccess(ctx, 0);
  const owned = (n: XsNode) => n.perms[0]!.slice(1) === String(domid);
  const walk = (path: string): void => {
    const n = t.get(path);
    if (!n) return;
    if (path !== "/" && owned(n)) {
      removeTree(t, path, n);
      return;
    }
    for (const c of n.children) walk(childPath(path, c));
  };
  walk("/");
  for (const s of SPECIAL_PATHS) {
    const n = t.get(s)!;
    const perms = n.perms.filter((p, i) => i === 0 || p.slice(1) !== String(domid));
    if (perms.length !== n.perms.length) t.put(s, { ...n, perms });
  }
  dropWatchesOf(ctx, (w) => w.domid === domid);
  dropTransactionsOf(ctx, domid);
}

/** The value at an absolute path, without recording a read: for invariants and views. */
export function xsPeek(store: Store, path: string): string | undefined {
  return XS_NODE.peek(store, XS_NODE.key(path))?.value;
}

/** A node without recording a read (views). */
export function xsPeekNode(store: Store, path: string): XsNode | undefined {
  return XS_NODE.peek(store, XS_NODE.key(path));
}

/** Whether `path` is a special watch name. */
export function xsIsSpecial(path: string): boolean {
  return isSpecial(path);
}

export { xsBoot, seedNode, domainNodes } from "./boot";

/**
 * A client connection closes (its process was killed, or exited): its
 * watches go with their pending events, its open transactions are
 * dropped. Reads only what the connection holds.
 */
export function xsConnectionClosed(ctx: StepContext, conn: string): void {
  const key = XS_CONN.key(conn);
  const c = XS_CONN.get(ctx.store, key);
  if (!c) return;
  for (const [path, token] of c.watches ?? []) {
    const list = XS_WATCH.get(ctx.store, XS_WATCH.key(path));
    if (list?.some((w) => w.conn === conn && w.token === token)) unregisterWatch(ctx, path, conn, token);
  }
  for (const id of c.open ?? []) XS_TX.delete(ctx.store, XS_TX.key({ conn, id }));
  XS_CONN.set(ctx.store, key, { nextTx: c.nextTx });
}
