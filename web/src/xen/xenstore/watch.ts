// Watches ([V] tools/xenstored/watch.c: do_watch, fire_watches,
// watch_permitted; core.c send_event).
//
//   "xswatch:<path>"  the watches set on exactly that path: [{ conn, domid, token, queue, prefix, dropWhilePending? }]
//   "xsq:<queue>"     the events delivered and not yet taken: { events: [{ path, token }] }
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
import type { Store } from "../../sim/store";
import { xsFail } from "./errors";
import type { ChangeEvent } from "./node";
import { connKey, type ConnState } from "./transaction";
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

export interface EventQueue {
  events: WatchEvent[];
}

export const watchKey = (path: string): string => `xswatch:${path}`;
export const queueKey = (queue: string): string => `xsq:${queue}`;

function enqueue(ctx: StepContext, queue: string, ev: WatchEvent, dropWhilePending: boolean): void {
  const key = queueKey(queue);
  const q = ctx.store.get<EventQueue>(key);
  const events = q?.events ?? [];
  if (dropWhilePending && events.some((e) => e.token === ev.token)) return;
  if (!ev.path.startsWith("@") && events.some((e) => e.path === ev.path && e.token === ev.token)) {
    if (ctx.choose("xenstore.coalesce", 2) === 1) {
      ctx.emit({ kind: "xs-watch-coalesced", queue, path: ev.path, token: ev.token });
      return;
    }
  }
  ctx.store.set(key, { events: [...events, ev] } satisfies EventQueue);
  ctx.emit({ kind: "xs-watch-event", queue, path: ev.path, token: ev.token });
}

export function registerWatch(ctx: StepContext, path: string, w: WatchRecord): void {
  const key = watchKey(path);
  const list = ctx.store.get<WatchRecord[]>(key) ?? [];
  if (list.some((x) => x.conn === w.conn && x.token === w.token)) xsFail("EEXIST", `${path}: this connection already watches it with token "${w.token}"`);
  ctx.store.set(key, [...list, w]);
  const c = ctx.store.get<ConnState>(connKey(w.conn)) ?? { nextTx: 1 };
  ctx.store.set(connKey(w.conn), { ...c, watches: [...(c.watches ?? []), [path, w.token]] } satisfies ConnState);
  // "We fire once up front: simplifies clients and restart."
  enqueue(ctx, w.queue, { path: path.slice(w.prefix), token: w.token }, w.dropWhilePending ?? false);
}

export function unregisterWatch(ctx: StepContext, path: string, conn: string, token: string): void {
  const key = watchKey(path);
  const list = ctx.store.get<WatchRecord[]>(key) ?? [];
  const w = list.find((x) => x.conn === conn && x.token === token);
  if (!w) xsFail("ENOENT", `${path}: no watch with token "${token}"`);
  const rest = list.filter((x) => x !== w);
  if (rest.length > 0) ctx.store.set(key, rest);
  else ctx.store.delete(key);
  forgetWatch(ctx.store, conn, path, token);
  // As Linux's unregister_xenbus_watch: events of that watch not yet taken are dropped.
  dropEvents(ctx.store, w.queue, (e) => e.token === token);
}

function forgetWatch(store: Store, conn: string, path: string, token: string): void {
  const c = store.get<ConnState>(connKey(conn));
  if (!c?.watches) return;
  const watches = c.watches.filter(([p, t]) => p !== path || t !== token);
  const { watches: _, ...rest } = c;
  store.set(connKey(conn), (watches.length > 0 ? { ...rest, watches } : rest) satisfies ConnState);
}

function dropEvents(store: Store, queue: string, which: (e: WatchEvent) => boolean): void {
  const key = queueKey(queue);
  const q = store.get<EventQueue>(key);
  if (!q || !q.events.some(which)) return;
  const events = q.events.filter((e) => !which(e));
  if (events.length > 0) store.set(key, { events } satisfies EventQueue);
  else store.delete(key);
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
    const list = ctx.store.get<WatchRecord[]>(watchKey(p));
    if (!list) continue;
    for (const w of list) {
      if (!isAtOrBelow(ev.path, p) || !permitted(w, ev)) continue;
      enqueue(ctx, w.queue, { path: ev.path.slice(w.prefix), token: w.token }, w.dropWhilePending ?? false);
    }
  }
}

/** Takes the oldest event of a queue (undefined when empty). */
export function takeEvent(ctx: StepContext, queue: string): WatchEvent | undefined {
  const key = queueKey(queue);
  const q = ctx.store.get<EventQueue>(key);
  if (!q || q.events.length === 0) return undefined;
  const [first, ...rest] = q.events;
  if (rest.length > 0) ctx.store.set(key, { events: rest } satisfies EventQueue);
  else ctx.store.delete(key);
  return first;
}

/** A guard: whether a queue has an event (its read counts in the blocked step's footprint). */
export function hasEvent(store: Store, queue: string): boolean {
  return (store.get<EventQueue>(queueKey(queue))?.events.length ?? 0) > 0;
}

/** Every watch of the given connections goes, with their queued events (a dead domain's, RESET_WATCHES). */
export function dropWatchesOf(ctx: StepContext, isGone: (w: WatchRecord) => boolean): void {
  for (const key of ctx.store.list("xswatch")) {
    const list = ctx.store.get<WatchRecord[]>(key)!;
    const gone = list.filter(isGone);
    if (gone.length === 0) continue;
    const rest = list.filter((w) => !isGone(w));
    if (rest.length > 0) ctx.store.set(key, rest);
    else ctx.store.delete(key);
    for (const w of gone) dropEvents(ctx.store, w.queue, (e) => e.token === w.token);
  }
}
