// The xenstore requests of a process as Ops (one atomic step each): what
// `sys.xenstore` hands to the runtime, as a process using libxenstore
// sends one request per call. The connection is the process (its actor
// name): its watches and transactions are its own; its domain's domid is
// whose rights xenstored applies. A process that may not open the xenbus
// device (control-access.ts: not root) has every request refused, EACCES.

import type { Op, StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { controlRefused, requireControl } from "./control-access";
import {
  xsDirectory, xsGetPerms, xsHasEvent, xsRead, xsRm, xsSetPerms, xsTakeEvent, xsTransactionEnd, xsTransactionStart,
  xsTryRead, xsUnwatch, xsWatch, xsWrite, type WatchEvent,
} from "./xenstore";


/** A guard has only the store; reads through it still record (a guard's reads are the blocked step's). */
function guardContext(store: Store, domain: string, proc: string): StepContext {
  return { store, who: { index: -1, name: proc, domain }, choose: () => 0, emit: () => {} };
}

/** The queue a process's watch delivers into. */
export const processWatchQueue = (proc: string, token: string): string => `${proc}#${token}`;

export function xenstoreSyscalls(domid: number, domain: string, proc: string) {
  // Every request first goes through the device the process opened: refused to one that may not open it.
  const op = <R>(call: string, args: readonly unknown[], run: Op<R>["run"], extra: Partial<Op<R>> = {}): Op<R> => ({
    call, args, ...extra,
    run: (ctx) => {
      requireControl(ctx, domid, "xenbus");
      return run(ctx);
    },
  });
  const tx = (id?: number) => (id === undefined ? undefined : { conn: proc, id });
  const withTx = (args: unknown[], id?: number) => (id === undefined ? args : [...args, { tx: id }]);
  /** What a read returns for waitFor: the value, or undefined when missing or unreadable. */
  const valueFor = (ctx: StepContext, path: string): string | undefined => {
    try {
      return xsTryRead(ctx, domid, path);
    } catch {
      return undefined;
    }
  };
  return {
    read: (path: string, id?: number): Op<string> => op("xenstore.read", withTx([path], id), (ctx) => xsRead(ctx, domid, path, tx(id))),
    write: (path: string, value: string, id?: number): Op<void> =>
      op("xenstore.write", withTx([path, value], id), (ctx) => xsWrite(ctx, domid, path, value, tx(id))),
    rm: (path: string, id?: number): Op<void> => op("xenstore.rm", withTx([path], id), (ctx) => xsRm(ctx, domid, path, tx(id))),
    ls: (path: string, id?: number): Op<string[]> => op("xenstore.ls", withTx([path], id), (ctx) => xsDirectory(ctx, domid, path, tx(id))),
    getPerms: (path: string, id?: number): Op<string[]> =>
      op("xenstore.getPerms", withTx([path], id), (ctx) => xsGetPerms(ctx, domid, path, tx(id))),
    setPerms: (path: string, perms: string[], id?: number): Op<void> =>
      op("xenstore.setPerms", withTx([path, perms], id), (ctx) => xsSetPerms(ctx, domid, path, perms, tx(id))),
    watch: (path: string, token: string): Op<void> =>
      op("xenstore.watch", [path], (ctx) => xsWatch(ctx, domid, proc, path, token, processWatchQueue(proc, token))),
    unwatch: (path: string, token: string): Op<void> => op("xenstore.unwatch", [path], (ctx) => xsUnwatch(ctx, domid, proc, path, token)),
    /** The next event of a watch: blocked until there is one. */
    nextEvent: (path: string, token: string): Op<WatchEvent> => {
      const queue = processWatchQueue(proc, token);
      return op("xenstore.watch.next", [path], (ctx) => xsTakeEvent(ctx, queue)!, {
        ready: (store) => controlRefused(guardContext(store, domain, proc), domid, "xenbus") || xsHasEvent(store, queue),
        waitingFor: `a xenstore watch event on ${path}`,
      });
    },
    /**
     * One step, blocked until `predicate` holds for the value at `path`
     * (undefined when missing or unreadable); a predicate that throws
     * unblocks the step, which then throws its error (a bug in the script).
     */
    waitFor: (path: string, predicate: (value: string | undefined) => boolean): Op<string | undefined> =>
      op("xenstore.waitFor", [path], (ctx) => {
        const v = valueFor(ctx, path);
        if (!predicate(v)) throw new Error(`xenstore.waitFor(${path}): the predicate changed its answer for the same value`);
        return v;
      }, {
        ready: (store) => {
          if (controlRefused(guardContext(store, domain, proc), domid, "xenbus")) return true;
          const v = valueFor(guardContext(store, domain, proc), path);
          try {
            return Boolean(predicate(v));
          } catch {
            return true;
          }
        },
        waitingFor: `${path} to satisfy the predicate`,
      }),
    transactionStart: (): Op<number> => op("xenstore.transaction.start", [], (ctx) => xsTransactionStart(ctx, domid, proc).id),
    transactionEnd: (id: number, commit: boolean): Op<void> =>
      op(commit ? "xenstore.transaction.commit" : "xenstore.transaction.abort", [{ tx: id }], (ctx) => xsTransactionEnd(ctx, domid, { conn: proc, id }, commit)),
  };
}

export type XenstoreSyscalls = ReturnType<typeof xenstoreSyscalls>;
