// The two ways an operation reaches the tree: directly, or through a
// transaction ([V] docs/misc/xenstore.txt; [M] tools/xenstored/
// transaction.c since Xen 4.9: nodes are copied into the transaction at
// their first access, with their generation, and the commit checks them).
//
//   "xstx:<conn>:<id>"  { domid, base, nodes, dirty, events }
//   (transaction ids are per connection: "xsconn:<conn>", connection.ts)
//
// A transaction's first access to a node (a read, a failed read, a write,
// a permission check on an ancestor) copies it, or its absence, into the
// transaction and remembers its `gen`; later accesses see the copy, so the
// transaction sees its own writes and nobody else's. The commit fails with
// EAGAIN when any node it accessed changed since (or appeared, or went);
// otherwise its changes land in one step and its watch events fire then.
// That makes committed transactions serializable in commit order: each
// behaved exactly as if it had run alone at its commit.
//
// Each operation inside a transaction is its own step, as is the commit:
// the explorer interleaves other actors between them.

import type { StepContext } from "../../sim/op";
import { declareKind } from "../../sim/object-kind";
import type { Store } from "../../sim/store";
import { xsFail } from "./errors";
import { XS_NODE, type ChangeEvent, type TreeAccess, type XsNode } from "./node";
import { XS_CONN } from "./connection";
import { fireWatches } from "./watch";

/** A transaction as its client names it. */
export interface XsTransaction {
  conn: string;
  id: number;
}

interface TxState {
  domid: number;
  /** Each accessed node as it was at first access (null: absent). */
  base: Record<string, XsNode | null>;
  /** The private view: each accessed node as the transaction sees it (null: absent). */
  nodes: Record<string, XsNode | null>;
  dirty: string[];
  events: ChangeEvent[];
}

export const XS_TX = declareKind<TxState, [tx: XsTransaction]>("xstx", (tx) => `${tx.conn}:${tx.id}`);

/** The global tree: changes land at once and fire watches at once. */
export function directAccess(ctx: StepContext, domid: number): TreeAccess {
  const store = ctx.store;
  return {
    domid,
    store,
    get: (path) => XS_NODE.get(store, XS_NODE.key(path)),
    put: (path, node) => {
      const key = XS_NODE.key(path);
      const old = XS_NODE.get(store, key);
      XS_NODE.set(store, key, { ...node, gen: old ? old.gen + 1 : 0 });
    },
    del: (path) => XS_NODE.delete(store, XS_NODE.key(path)),
    changed: (ev) => fireWatches(ctx, ev),
  };
}

/** TRANSACTION_START. */
export function txStart(ctx: StepContext, domid: number, conn: string): XsTransaction {
  const ck = XS_CONN.key(conn);
  const c = XS_CONN.get(ctx.store, ck) ?? { nextTx: 1 };
  const tx = { conn, id: c.nextTx };
  XS_CONN.update(ctx.store, ck, c, { nextTx: c.nextTx + 1, open: [...(c.open ?? []), tx.id] });
  XS_TX.set(ctx.store, XS_TX.key(tx), { domid, base: {}, nodes: {}, dirty: [], events: [] });
  return tx;
}

function txState(store: Store, tx: XsTransaction, domid: number): TxState {
  const s = XS_TX.get(store, XS_TX.key(tx));
  if (!s || s.domid !== domid) xsFail("ENOENT", `no transaction ${tx.id} on this connection`);
  return s;
}

/**
 * Runs `body` against the transaction's view and saves what it accessed,
 * also when `body` fails: a transaction that saw ENOENT has read an
 * absence, and a node appearing since must fail its commit.
 */
export function inTransaction<R>(ctx: StepContext, domid: number, tx: XsTransaction, body: (t: TreeAccess) => R): R {
  const s = txState(ctx.store, tx, domid);
  const base = { ...s.base };
  const nodes = { ...s.nodes };
  const dirty = new Set(s.dirty);
  const events = [...s.events];
  let touched = false;
  const load = (path: string): XsNode | undefined => {
    if (path in nodes) return nodes[path] ?? undefined;
    const g = XS_NODE.get(ctx.store, XS_NODE.key(path));
    base[path] = g ?? null;
    nodes[path] = g ?? null;
    touched = true;
    return g;
  };
  const t: TreeAccess = {
    domid,
    store: ctx.store,
    get: load,
    put: (path, node) => {
      load(path);
      nodes[path] = node;
      dirty.add(path);
      touched = true;
    },
    del: (path) => {
      load(path);
      nodes[path] = null;
      dirty.add(path);
      touched = true;
    },
    changed: (ev) => {
      events.push(ev);
      touched = true;
    },
  };
  try {
    return body(t);
  } finally {
    if (touched) XS_TX.set(ctx.store, XS_TX.key(tx), { domid, base, nodes, dirty: [...dirty].sort(), events });
  }
}

/** TRANSACTION_END: commit (EAGAIN when a node it accessed changed since) or abort. */
export function txEnd(ctx: StepContext, domid: number, tx: XsTransaction, commit: boolean): void {
  const s = txState(ctx.store, tx, domid);
  XS_TX.delete(ctx.store, XS_TX.key(tx));
  const ck = XS_CONN.key(tx.conn);
  const c = XS_CONN.get(ctx.store, ck);
  if (c?.open?.includes(tx.id)) {
    const open = c.open.filter((i) => i !== tx.id);
    const { open: _, ...rest } = c;
    XS_CONN.set(ctx.store, ck, open.length > 0 ? { ...rest, open } : rest);
  }
  if (!commit) return;
  for (const [path, was] of Object.entries(s.base)) {
    if (!unchanged(XS_NODE.get(ctx.store, XS_NODE.key(path)), was)) xsFail("EAGAIN", `transaction ${tx.id}: ${path} changed since the transaction read it`);
  }
  const direct = directAccess(ctx, domid);
  for (const path of s.dirty) {
    const n = s.nodes[path];
    if (n) direct.put(path, n);
    else direct.del(path);
  }
  // "Watches fire only when a transaction commits."
  for (const ev of s.events) fireWatches(ctx, ev);
}

/**
 * Whether a node is as the transaction first saw it. `gen` counts changes
 * per node and restarts when a node is re-created, so equal `gen`s may
 * belong to two incarnations: the content decides then (node.ts: a node
 * re-created identically passes, where xenstored's global counter fails it).
 */
function unchanged(cur: XsNode | undefined, was: XsNode | null): boolean {
  if (!cur || !was) return !cur && !was;
  return (
    cur.gen === was.gen &&
    cur.value === was.value &&
    sameList(cur.perms, was.perms) &&
    sameList(cur.children, was.children)
  );
}
const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every open transaction of a domain goes (the domain died). */
export function dropTransactionsOf(ctx: StepContext, domid: number): void {
  for (const key of XS_TX.list(ctx.store)) {
    if (XS_TX.get(ctx.store, key)!.domid === domid) XS_TX.delete(ctx.store, key);
  }
}
