// Watches ([V] tools/xenstored/watch.c: do_watch, fire_watches,
// watch_permitted; core.c send_event).
//
//   "xswatch:<path>"     the watches set on exactly that path: [{ conn, domid, token, queue, prefix, dropWhilePending? }]
//   "xsqe:<queue>:<n>"   the event with sequence number n, delivered and not yet taken: { path, token, counted? }
//   "xsqhead:<queue>"    the sequence number of the oldest event not taken (absent: 0); the watcher's
//   "xsqtail:<queue>"    the sequence number the next event gets (absent: 0); the changes'
//   "xsqn:<queue>:<id>"  how many events of one identity wait (absent: none): "e <path> <token>" for
//                        xenstored's coalescing, "t <token>" for a `dropWhilePending` watch
//
// A queue that empties goes back to 0 (both indices absent; see
// resetsWhenEmpty), so a state does not remember how many events passed.
//
// A queue is several objects so that its footprints say what FIFO order
// really depends on: a change adding an event at the tail and the watcher
// taking the oldest one at the head touch different objects unless the
// queue is empty (the watcher's guard reads the slot the next event fills)
// or the two events are of one identity (coalescing reads the count).
// Two changes delivering to one queue do conflict (the tail): their order
// is the order the watcher sees. One object with the whole list made every
// delivery depend on every change that fires a watch of that watcher, and
// the explorer ordered them all (about 3 times the states of the blk lessons).
//
// A change at P fires the watches on P and on each ancestor of P (a
// removal also fires the watches set exactly on each removed node), so a
// change reads the watch objects of P's ancestors only: registering a watch
// on /a conflicts with changes under /a and with nothing else. A watch
// fires once when it is registered (with the watched path itself), and
// then per change, also when the path does not exist. A watcher is told
// only about nodes it may read, or whose parent it may read (or, for a
// permission change, that it could read before).
//
// Events go into a queue the watcher names (a kernel thread has one for all
// its watches, a process one per `watch()`); taking one is a step of the
// watcher, blocked while its queue is empty. So every delivery is its own
// scheduled step, and a change and its delivery can be interleaved with
// anything.
//
// Coalescing, a choice point ("xenstore.coalesce"): xenstored drops an
// event identical (same path and token) to one still waiting in its
// output queue for that connection (send_event; not for '@' events).
// Whether the earlier one is still waiting there, or already passed to the
// client, is timing: so when an identical event is pending in the queue,
// the explorer tries both (0: delivered again, 1: dropped).
//
// `dropWhilePending` is the Linux client's own filter (XSA-349's
// `will_handle`, [V] drivers/xen/xenbus/xenbus_probe_backend.c): a watch
// with an event pending takes no other. Linux sets it on one watch only, a
// backend's watch on its frontend's state (`frontend_will_handle`);
// xenstored's behaviour is the above.

import type { StepContext } from "../../sim/op";
import { declareKind } from "../../sim/object-kind";
import type { Store } from "../../sim/store";
import { xsFail } from "./errors";
import type { ChangeEvent } from "./node";
import { XS_CONN } from "./connection";
import { isAtOrBelow, selfAndAncestors } from "./path";
import { permFor, PERM_READ } from "./perms";

export interface WatchRecord {
  /** The client connection: a process's actor name, or a kernel's. */
  conn: string;
  domid: number;
  token: string;
  /** The queue its events go to. */
  queue: string;
  /** Characters to strip from event paths: a relative watch gets relative paths. */
  prefix: number;
  dropWhilePending?: boolean;
}

export interface WatchEvent {
  path: string;
  token: string;
}

export const XS_WATCH = declareKind<WatchRecord[], [path: string]>("xswatch", (path) => path);

/** A queued event as stored: `counted` names the identity count it holds (none for an '@' event of a plain watch). */
interface QueuedEvent extends WatchEvent {
  counted?: string;
}

const XSQ_EVENT = declareKind<QueuedEvent, [queue: string, n: number]>("xsqe", (queue, n) => `${queue}:${n}`);
const XSQ_HEAD = declareKind<number, [queue: string]>("xsqhead", (queue) => queue);
const XSQ_TAIL = declareKind<number, [queue: string]>("xsqtail", (queue) => queue);
/** The count of waiting events of one identity. */
const XSQ_COUNT = declareKind<number, [queue: string, id: string]>("xsqn", (queue, id) => `${queue}:${id}`);

/**
 * Whether a queue's indices go back to 0 when it empties, so that how many
 * events it ever carried is not part of the state (with `Op.loopHead`,
 * interleavings that differ only in that, e.g. in how many identical events
 * xenstored coalesced, end in one state). The price is a conflict: taking
 * the last event and queueing one behind it no longer commute (the new one
 * lands in slot 0 or in the next). Measured on the gallery, the merge wins
 * everywhere but on dom0's xenwatch queue, which many dom0 processes feed
 * at once (loop-reuse-race under v2: 21,309 states without the reset,
 * 26,254 with it on every queue, 20,235 with it on every queue but that
 * one; qubes-lifecycle with one VM: 35,129, 13,739, 17,345).
 */
export const resetsWhenEmpty = (queue: string): boolean => queue !== "xenwatch@dom0";

function bump(store: Store, key: string, by: number): void {
  const n = (XSQ_COUNT.get(store, key) ?? 0) + by;
  if (n > 0) XSQ_COUNT.set(store, key, n);
  else XSQ_COUNT.delete(store, key);
}

function enqueue(ctx: StepContext, queue: string, ev: WatchEvent, dropWhilePending: boolean): void {
  const counted = dropWhilePending ? XSQ_COUNT.key(queue, `t ${ev.token}`) : ev.path.startsWith("@") ? undefined : XSQ_COUNT.key(queue, `e ${ev.path} ${ev.token}`);
  if (counted !== undefined && (XSQ_COUNT.get(ctx.store, counted) ?? 0) > 0) {
    if (dropWhilePending) return;
    if (ctx.choose("xenstore.coalesce", 2) === 1) {
      ctx.emit({ kind: "xs-watch-coalesced", queue, path: ev.path, token: ev.token });
      return;
    }
  }
  const tailKey = XSQ_TAIL.key(queue);
  const tail = XSQ_TAIL.get(ctx.store, tailKey) ?? 0;
  XSQ_EVENT.set(ctx.store, XSQ_EVENT.key(queue, tail), counted !== undefined ? { ...ev, counted } : ev);
  XSQ_TAIL.set(ctx.store, tailKey, tail + 1);
  if (counted !== undefined) bump(ctx.store, counted, 1);
  ctx.emit({ kind: "xs-watch-event", queue, path: ev.path, token: ev.token });
}

export function registerWatch(ctx: StepContext, path: string, w: WatchRecord): void {
  const key = XS_WATCH.key(path);
  const list = XS_WATCH.get(ctx.store, key) ?? [];
  if (list.some((x) => x.conn === w.conn && x.token === w.token)) xsFail("EEXIST", `${path}: this connection already watches it with token "${w.token}"`);
  XS_WATCH.set(ctx.store, key, [...list, w]);
  const ck = XS_CONN.key(w.conn);
  const c = XS_CONN.get(ctx.store, ck) ?? { nextTx: 1 };
  XS_CONN.update(ctx.store, ck, c, { watches: [...(c.watches ?? []), [path, w.token]] });
  // "We fire once up front: simplifies clients and restart."
  enqueue(ctx, w.queue, { path: path.slice(w.prefix), token: w.token }, w.dropWhilePending ?? false);
}

export function unregisterWatch(ctx: StepContext, path: string, conn: string, token: string): void {
  const key = XS_WATCH.key(path);
  const list = XS_WATCH.get(ctx.store, key) ?? [];
  const w = list.find((x) => x.conn === conn && x.token === token);
  if (!w) xsFail("ENOENT", `${path}: no watch with token "${token}"`);
  const rest = list.filter((x) => x !== w);
  if (rest.length > 0) XS_WATCH.set(ctx.store, key, rest);
  else XS_WATCH.delete(ctx.store, key);
  forgetWatch(ctx.store, conn, path, token);
  // As Linux's unregister_xenbus_watch: events of that watch not yet taken are dropped.
  dropEvents(ctx.store, w.queue, (e) => e.token === token);
}

function forgetWatch(store: Store, conn: string, path: string, token: string): void {
  const ck = XS_CONN.key(conn);
  const c = XS_CONN.get(store, ck);
  if (!c?.watches) return;
  const watches = c.watches.filter(([p, t]) => p !== path || t !== token);
  const { watches: _, ...rest } = c;
  XS_CONN.set(store, ck, watches.length > 0 ? { ...rest, watches } : rest);
}

/** Drops the waiting events `which` picks; the rest close up in order (rare: an unwatch, a dead domain). */
function dropEvents(store: Store, queue: string, which: (e: WatchEvent) => boolean): void {
  const head = XSQ_HEAD.get(store, XSQ_HEAD.key(queue)) ?? 0;
  const tail = XSQ_TAIL.get(store, XSQ_TAIL.key(queue)) ?? 0;
  const waiting: QueuedEvent[] = [];
  for (let n = head; n < tail; n++) waiting.push(XSQ_EVENT.get(store, XSQ_EVENT.key(queue, n))!);
  const kept = waiting.filter((e) => !which(e));
  if (kept.length === waiting.length) return;
  for (const e of waiting) if (which(e) && e.counted !== undefined) bump(store, e.counted, -1);
  kept.forEach((e, i) => XSQ_EVENT.set(store, XSQ_EVENT.key(queue, head + i), e));
  for (let n = head + kept.length; n < tail; n++) XSQ_EVENT.delete(store, XSQ_EVENT.key(queue, n));
  if (resetsWhenEmpty(queue) && kept.length === 0) {
    XSQ_HEAD.delete(store, XSQ_HEAD.key(queue));
    XSQ_TAIL.delete(store, XSQ_TAIL.key(queue));
    return;
  }
  XSQ_TAIL.set(store, XSQ_TAIL.key(queue), head + kept.length);
}

/** watch_permitted. */
function permitted(w: WatchRecord, ev: ChangeEvent): boolean {
  if (ev.oldPerms && permFor(w.domid, ev.oldPerms) & PERM_READ) return true;
  if (permFor(w.domid, ev.perms) & PERM_READ) return true;
  return ev.parentPerms !== undefined && (permFor(w.domid, ev.parentPerms) & PERM_READ) !== 0;
}

/** fire_watches: one event per matching watch the watcher may see. */
export function fireWatches(ctx: StepContext, ev: ChangeEvent): void {
  const at = ev.exact ? [ev.path] : selfAndAncestors(ev.path);
  // Nearest-last: xenstored walks connections then their watches in
  // registration order; per queue, the order of events is what matters,
  // and for one change a queue gets them root first.
  for (const p of at.reverse()) {
    const list = XS_WATCH.get(ctx.store, XS_WATCH.key(p));
    if (!list) continue;
    for (const w of list) {
      if (!isAtOrBelow(ev.path, p) || !permitted(w, ev)) continue;
      enqueue(ctx, w.queue, { path: ev.path.slice(w.prefix), token: w.token }, w.dropWhilePending ?? false);
    }
  }
}

/** Takes the oldest event of a queue (undefined when empty). */
export function takeEvent(ctx: StepContext, queue: string): WatchEvent | undefined {
  const headKey = XSQ_HEAD.key(queue);
  const head = XSQ_HEAD.get(ctx.store, headKey) ?? 0;
  const ev = XSQ_EVENT.get(ctx.store, XSQ_EVENT.key(queue, head));
  if (!ev) return undefined;
  XSQ_EVENT.delete(ctx.store, XSQ_EVENT.key(queue, head));
  if (resetsWhenEmpty(queue) && !XSQ_EVENT.has(ctx.store, XSQ_EVENT.key(queue, head + 1))) {
    // Empty again: both indices go back to 0 (absent). Asked of the next slot, not the tail: a
    // change queueing behind two or more events still does not conflict with this.
    XSQ_HEAD.delete(ctx.store, headKey);
    XSQ_TAIL.delete(ctx.store, XSQ_TAIL.key(queue));
  } else XSQ_HEAD.set(ctx.store, headKey, head + 1);
  if (ev.counted !== undefined) bump(ctx.store, ev.counted, -1);
  return { path: ev.path, token: ev.token };
}

/** A guard: whether a queue has an event (its reads count in the blocked step's footprint: the head and the slot the next event fills). */
export function hasEvent(store: Store, queue: string): boolean {
  return XSQ_EVENT.has(store, XSQ_EVENT.key(queue, XSQ_HEAD.get(store, XSQ_HEAD.key(queue)) ?? 0));
}

/** Every watch of the given connections goes, with their queued events (a dead domain's, RESET_WATCHES). */
export function dropWatchesOf(ctx: StepContext, isGone: (w: WatchRecord) => boolean): void {
  for (const key of XS_WATCH.list(ctx.store)) {
    const list = XS_WATCH.get(ctx.store, key)!;
    const gone = list.filter(isGone);
    if (gone.length === 0) continue;
    const rest = list.filter((w) => !isGone(w));
    if (rest.length > 0) XS_WATCH.set(ctx.store, key, rest);
    else XS_WATCH.delete(ctx.store, key);
    for (const w of gone) dropEvents(ctx.store, w.queue, (e) => e.token === w.token);
  }
}
