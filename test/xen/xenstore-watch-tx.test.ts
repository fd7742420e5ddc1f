// Watches (initial fire, one event per change at or below the path,
// permissions, removal, coalescing as a choice point) and transactions
// (private view, EAGAIN on a real conflict only, watches at commit),
// directly against the model.

import { describe, expect, it } from "vitest";
import { conflicts } from "../../web/src/sim/store";
import {
  xsDirectory, xsFireSpecial, xsHasEvent, xsRead, xsRm, xsSetPerms, xsTakeEvent, xsTransactionEnd, xsTransactionStart,
  xsTryRead, xsUnwatch, xsWatch, xsWrite, xsDomainGone, xsPeekNode, xsConnectionClosed, type WatchEvent,
} from "../../web/src/xen/xenstore";
import { XsWorld } from "./xs-harness";

function drain(w: XsWorld, queue: string): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (;;) {
    const e = w.step((c) => xsTakeEvent(c, queue));
    if (!e) return out;
    out.push(e);
  }
}

const paths = (evs: WatchEvent[]) => evs.map((e) => e.path);

describe("xenstore watches", () => {
  it("fire once at registration with the watched path, then once per change at or below it", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "tool", "/a", "tok", "q"));
    expect(drain(w, "q")).toEqual([{ path: "/a", token: "tok" }]);
    w.step((c) => xsWrite(c, 0, "/a/b/c", "1")); // creates /a, /a/b: one event, at the written path
    w.step((c) => xsWrite(c, 0, "/a", "2"));
    w.step((c) => xsWrite(c, 0, "/other", "3"));
    w.step((c) => xsWrite(c, 0, "/ab", "4")); // not below /a
    w.step((c) => xsSetPerms(c, 0, "/a/b", ["n0", "r1"]));
    expect(paths(drain(w, "q"))).toEqual(["/a/b/c", "/a", "/a/b"]);
  });

  it("a removal fires the watches on each removed node (children first) and on the root's ancestors", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/r/x/y", "1"));
    w.step((c) => xsWatch(c, 0, "t", "/r", "top", "q"));
    w.step((c) => xsWatch(c, 0, "t", "/r/x/y", "leaf", "q"));
    w.step((c) => xsWatch(c, 0, "t", "/r/x/y/none", "below", "q"));
    drain(w, "q");
    w.step((c) => xsRm(c, 0, "/r/x"));
    expect(drain(w, "q")).toEqual([{ path: "/r/x/y", token: "leaf" }, { path: "/r/x", token: "top" }]);
  });

  it("relative watches get relative paths; a watcher is told only about nodes it (or the parent) may read", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 1, "g", "data", "t", "gq"), "work");
    expect(drain(w, "gq")).toEqual([{ path: "data", token: "t" }]);
    w.step((c) => xsWrite(c, 1, "data/x", "1"), "work");
    expect(drain(w, "gq")).toEqual([{ path: "data/x", token: "t" }]);
    // A watch on the whole tree by a guest sees nothing it cannot read.
    w.step((c) => xsWatch(c, 1, "g", "/", "all", "gq"), "work");
    drain(w, "gq");
    w.step((c) => xsWrite(c, 0, "/secret/k", "v"));
    expect(drain(w, "gq")).toEqual([]);
    w.step((c) => xsWrite(c, 0, "/local/domain/1/device/x", "v")); // device is readable to it
    expect(paths(drain(w, "gq"))).toEqual(["/local/domain/1/device/x"]);
  });

  it("a permission change is seen by a watcher that could read before", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/p/k", "v"));
    w.step((c) => xsSetPerms(c, 0, "/p", ["n0"]));
    w.step((c) => xsSetPerms(c, 0, "/p/k", ["n0", "r1"]));
    w.step((c) => xsWatch(c, 1, "g", "/p/k", "t", "gq"), "work");
    drain(w, "gq");
    w.step((c) => xsSetPerms(c, 0, "/p/k", ["n0"]));
    expect(paths(drain(w, "gq"))).toEqual(["/p/k"]);
    w.step((c) => xsWrite(c, 0, "/p/k", "again"));
    expect(drain(w, "gq")).toEqual([]);
  });

  it("EEXIST for the same path and token twice on a connection; unwatch drops pending events; ENOENT for an unknown watch", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "/a", "x", "q"));
    expect(w.errno((c) => xsWatch(c, 0, "t", "/a", "x", "q"))).toBe("EEXIST");
    expect(w.errno((c) => xsWatch(c, 0, "other", "/a", "x", "q2"))).toBeUndefined();
    w.step((c) => xsUnwatch(c, 0, "t", "/a", "x"));
    expect(xsHasEvent(w.store, "q")).toBe(false);
    expect(w.errno((c) => xsUnwatch(c, 0, "t", "/a", "x"))).toBe("ENOENT");
    w.step((c) => xsWrite(c, 0, "/a", "1"));
    expect(xsHasEvent(w.store, "q")).toBe(false);
  });

  it("coalescing is a choice point only when an identical event is pending", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "/k", "x", "q"));
    drain(w, "q");
    w.step((c) => xsWrite(c, 0, "/k", "1"));
    expect(w.asked).toEqual([]);
    w.choices = [0];
    w.step((c) => xsWrite(c, 0, "/k", "2")); // delivered again
    w.choices = [1];
    w.step((c) => xsWrite(c, 0, "/k", "3")); // dropped
    expect(w.asked).toEqual(["xenstore.coalesce", "xenstore.coalesce"]);
    expect(paths(drain(w, "q"))).toEqual(["/k", "/k"]);
  });

  it("dropWhilePending (Linux's will_handle) takes no event while one of the watch is pending", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "/k", "x", "q", { dropWhilePending: true }));
    w.step((c) => xsWrite(c, 0, "/k", "1"));
    expect(drain(w, "q")).toEqual([{ path: "/k", token: "x" }]);
  });

  it("special watches: @introduceDomain / @releaseDomain fire for dom0, for a guest only with read on the special node", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "@releaseDomain", "r", "q"));
    w.step((c) => xsWatch(c, 1, "g", "@releaseDomain", "r", "gq"), "work");
    drain(w, "q");
    drain(w, "gq");
    w.step((c) => xsFireSpecial(c, "@releaseDomain"));
    w.step((c) => xsFireSpecial(c, "@releaseDomain")); // '@' events never coalesce
    expect(w.asked).toEqual([]);
    expect(paths(drain(w, "q"))).toEqual(["@releaseDomain", "@releaseDomain"]);
    expect(drain(w, "gq")).toEqual([]);
    w.step((c) => xsSetPerms(c, 0, "@releaseDomain", ["n0", "r1"]));
    drain(w, "gq");
    w.step((c) => xsFireSpecial(c, "@releaseDomain"));
    expect(paths(drain(w, "gq"))).toEqual(["@releaseDomain"]);
  });

  it("registering a watch conflicts with changes below it, not elsewhere; taking an event touches only its queue", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "/a", "x", "q"));
    const reg = w.last;
    w.step((c) => xsWrite(c, 0, "/a/b", "1"));
    expect(conflicts(reg, w.last)).toBe(true);
    w.step((c) => xsWrite(c, 0, "/z", "1"));
    expect(conflicts(reg, w.last)).toBe(false);
    const write = w.last;
    w.step((c) => xsTakeEvent(c, "q"));
    expect([...w.last.reads, ...w.last.writes].every((k) => /^xsq(head|tail|e|n):(q(:|$)|\*$)/.test(k))).toBe(true);
    expect(conflicts(write, w.last)).toBe(false);
  });

  it("a change queueing an event behind others does not conflict with taking the oldest; into an empty queue it does (the guard)", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "t", "/a", "x", "q")); // the registration's event waits
    w.step((c) => xsWrite(c, 0, "/a/a", "1"));
    w.step((c) => xsWrite(c, 0, "/a/b", "1"));
    const behind = w.last;
    const take = w.footprintOf((c) => xsTakeEvent(c, "q"));
    expect(conflicts(behind, take)).toBe(false);
    // Behind a single event it does: taking that one empties the queue or not (the indices go back to 0 when it does).
    const w1 = new XsWorld();
    w1.step((c) => xsWatch(c, 0, "t", "/a", "x", "q"));
    w1.step((c) => xsWrite(c, 0, "/a/b", "1"));
    expect(conflicts(w1.last, w1.footprintOf((c) => xsTakeEvent(c, "q")))).toBe(true);
    // Drain it, then a change into the empty queue fills the slot the watcher's guard reads.
    w.step((c) => xsTakeEvent(c, "q"));
    w.step((c) => xsTakeEvent(c, "q"));
    w.step((c) => xsTakeEvent(c, "q"));
    expect(w.store.has("xsqhead:q") || w.store.has("xsqtail:q")).toBe(false);
    const guard = w.footprintOf((c) => xsHasEvent(c.store, "q"));
    w.step((c) => xsWrite(c, 0, "/a/c", "1"));
    expect(conflicts(w.last, guard)).toBe(true);
    // Two changes queueing events conflict with each other: their order is the order the watcher sees.
    w.step((c) => xsWrite(c, 0, "/a/d", "1"));
    const first = w.last;
    w.step((c) => xsWrite(c, 0, "/a/e", "1"));
    expect(conflicts(first, w.last)).toBe(true);
    expect([w.step((c) => xsTakeEvent(c, "q"))?.path, w.step((c) => xsTakeEvent(c, "q"))?.path, w.step((c) => xsTakeEvent(c, "q"))?.path]).toEqual(["/a/c", "/a/d", "/a/e"]);
  });

  it("a dead domain's nodes go (with watch events), and its watches with them", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 1, "data/a/b", "1"), "work");
    w.step((c) => xsWatch(c, 0, "t", "/local/domain/1", "d", "q"));
    w.step((c) => xsWatch(c, 1, "g", "data", "g", "gq"), "work");
    drain(w, "q");
    w.step((c) => xsDomainGone(c, 1));
    expect(xsPeekNode(w.store, "/local/domain/1/data")).toBeUndefined();
    expect(xsPeekNode(w.store, "/local/domain/1/control/shutdown")).toBeUndefined();
    expect(xsPeekNode(w.store, "/local/domain/1/device")).toBeDefined(); // dom0's
    // Each removal's root fires the watches above it; nodes below a root only their own watches.
    expect(paths(drain(w, "q"))).toEqual(["/local/domain/1/control/shutdown", "/local/domain/1/data"]);
    expect(xsHasEvent(w.store, "gq")).toBe(false);
    expect(w.store.peek("xswatch:/local/domain/1/data")).toBeUndefined();
  });
});

describe("xenstore transactions", () => {
  it("see their own writes, not others'; commit applies them and fires watches then", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a", "0"));
    w.step((c) => xsWatch(c, 0, "watcher", "/t", "x", "q"));
    drain(w, "q");
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    expect(w.step((c) => xsRead(c, 0, "/t/a", tx))).toBe("0");
    w.step((c) => xsWrite(c, 0, "/t/b", "1", tx));
    expect(w.step((c) => xsRead(c, 0, "/t/b", tx))).toBe("1");
    expect(w.step((c) => xsTryRead(c, 0, "/t/b"))).toBeUndefined(); // not outside
    expect(xsHasEvent(w.store, "q")).toBe(false);
    w.step((c) => xsTransactionEnd(c, 0, tx, true));
    expect(w.step((c) => xsRead(c, 0, "/t/b"))).toBe("1");
    expect(paths(drain(w, "q"))).toEqual(["/t/b"]);
  });

  it("EAGAIN when a node it read changed; the transaction is gone after it", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a", "0"));
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    w.step((c) => xsRead(c, 0, "/t/a", tx));
    w.step((c) => xsWrite(c, 0, "/t/out", "x", tx));
    w.step((c) => xsWrite(c, 0, "/t/a", "0")); // same value: still a change
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("EAGAIN");
    expect(w.step((c) => xsTryRead(c, 0, "/t/out"))).toBeUndefined();
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("ENOENT");
  });

  it("a read that found nothing conflicts with the node appearing", () => {
    const w = new XsWorld();
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    expect(w.errno((c) => xsRead(c, 0, "/t/none", tx))).toBe("ENOENT");
    w.step((c) => xsWrite(c, 0, "/t/none", "now"));
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("EAGAIN");
  });

  it("EAGAIN when a node it read was removed and re-created with another value (found by the transaction property)", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a", "3"));
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    expect(w.step((c) => xsRead(c, 0, "/t/a", tx))).toBe("3");
    w.step((c) => xsRm(c, 0, "/t/a"));
    w.step((c) => xsWrite(c, 0, "/t/a", "1")); // a new node: its change count starts again
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("EAGAIN");
  });

  it("no EAGAIN for changes to nodes it never accessed, nor for changes before its first access", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a", "0"));
    w.step((c) => xsWrite(c, 0, "/u/b", "0"));
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    w.step((c) => xsWrite(c, 0, "/t/a", "changed before the transaction looked"));
    expect(w.step((c) => xsRead(c, 0, "/t/a", tx))).toBe("changed before the transaction looked");
    w.step((c) => xsWrite(c, 0, "/u/b", "1"));
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBeUndefined();
  });

  it("two transactions creating children of one directory conflict (the parent's child list)", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/dir", ""));
    const t1 = w.step((c) => xsTransactionStart(c, 0, "one"));
    const t2 = w.step((c) => xsTransactionStart(c, 0, "two"));
    w.step((c) => xsWrite(c, 0, "/dir/a", "1", t1));
    w.step((c) => xsWrite(c, 0, "/dir/b", "2", t2));
    expect(w.errno((c) => xsTransactionEnd(c, 0, t1, true))).toBeUndefined();
    expect(w.errno((c) => xsTransactionEnd(c, 0, t2, true))).toBe("EAGAIN");
    expect(w.step((c) => xsDirectory(c, 0, "/dir"))).toEqual(["a"]);
  });

  it("abort discards everything; ids are per connection; another domain cannot use a transaction", () => {
    const w = new XsWorld();
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    expect(tx).toEqual({ conn: "me", id: 1 });
    expect(w.step((c) => xsTransactionStart(c, 0, "me"))).toEqual({ conn: "me", id: 2 });
    expect(w.step((c) => xsTransactionStart(c, 0, "you"))).toEqual({ conn: "you", id: 1 });
    w.step((c) => xsWrite(c, 0, "/gone", "1", tx));
    expect(w.errno((c) => xsRead(c, 1, "/gone", tx), "work")).toBe("ENOENT");
    w.step((c) => xsTransactionEnd(c, 0, tx, false));
    expect(w.step((c) => xsTryRead(c, 0, "/gone"))).toBeUndefined();
  });

  it("a request inside a transaction writes only the transaction's own object", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a", "0"));
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    w.step((c) => xsWrite(c, 0, "/t/a", "1", tx));
    expect([...w.last.writes]).toEqual(["xstx:me:1"]);
    w.step((c) => xsRead(c, 0, "/t/a", tx));
    expect([...w.last.reads]).toEqual(["xstx:me:1"]);
  });

  it("a view made inconsistent by a concurrent change answers without crashing, and the commit fails", () => {
    // Found by the property test: the transaction saw /t/l missing, then meets /t/l/m (created since) for the first time.
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t", ""));
    const tx = w.step((c) => xsTransactionStart(c, 0, "me"));
    expect(w.errno((c) => xsRead(c, 0, "/t/l", tx))).toBe("ENOENT");
    w.step((c) => xsWrite(c, 0, "/t/l/m", "1"));
    expect(w.errno((c) => xsRm(c, 0, "/t/l/m", tx))).toBe("EINVAL"); // rm_node cannot read the parent
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("EAGAIN");
    expect(xsPeekNode(w.store, "/t/l/m")!.value).toBe("1");
  });

  it("a closed connection (a killed process) loses its watches, their events and its open transactions", () => {
    const w = new XsWorld();
    w.step((c) => xsWatch(c, 0, "proc", "/a", "x", "proc#x"));
    w.step((c) => xsWatch(c, 0, "other", "/a", "x", "other#x"));
    const tx = w.step((c) => xsTransactionStart(c, 0, "proc"));
    w.step((c) => xsConnectionClosed(c, "proc"));
    expect(xsHasEvent(w.store, "proc#x")).toBe(false);
    expect(xsHasEvent(w.store, "other#x")).toBe(true);
    expect(w.errno((c) => xsTransactionEnd(c, 0, tx, true))).toBe("ENOENT");
    w.step((c) => xsWrite(c, 0, "/a", "1"));
    expect(xsHasEvent(w.store, "proc#x")).toBe(false);
    // A connection that never used xenstore: the step reads one object and writes nothing.
    w.step((c) => xsConnectionClosed(c, "never"));
    expect([...w.last.reads]).toEqual(["xsconn:never"]);
    expect([...w.last.writes]).toEqual([]);
  });

  it("permissions hold inside transactions as outside", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/priv/k", "v"));
    const tx = w.step((c) => xsTransactionStart(c, 1, "g"), "work");
    expect(w.errno((c) => xsRead(c, 1, "/priv/k", tx), "work")).toBe("EACCES");
    expect(w.errno((c) => xsWrite(c, 1, "/priv/k", "forged", tx), "work")).toBe("EACCES");
    expect(w.errno((c) => xsTransactionEnd(c, 1, tx, true), "work")).toBeUndefined();
    expect(xsPeekNode(w.store, "/priv/k")!.value).toBe("v");
  });
});
