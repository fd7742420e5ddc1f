// The xenstore requests of a process as Ops (one atomic step each): what
// `sys.xenstore` hands to the runtime, as a process using libxenstore
// sends one request per call. The connection is the process (its actor
// name): its watches and transactions are its own.

import type { Op, StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import {
  xsDirectory, xsGetPerms, xsHasEvent, xsRead, xsRm, xsSetPerms, xsTakeEvent, xsTransactionEnd, xsTransactionStart,
  xsTryRead, xsUnwatch, xsWatch, xsWrite, type WatchEvent,
} from "./xenstore";

function op<R>(call: string, args: readonly unknown[], run: Op<R>["run"], extra: Partial<Op<R>> = {}): Op<R> {
  return { call, args, run, ...extra };
}

/** A guard has only the store; reads through it still record (a guard's reads are the blocked step's). */
function guardContext(store: Store, domain: string): StepContext {
  return { store, who: { index: -1, name: "guard", domain }, choose: () => 0, emit: () => {} };
}

/** The queue a process's watch delivers into. */
export const processWatchQueue = (proc: string, token: string): string => `${proc}#${token}`;

export function xenstoreSyscalls(domid: number, domain: string, proc: string) {
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
        ready: (store) => xsHasEvent(store, queue),
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
          const v = valueFor(guardContext(store, domain), path);
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
