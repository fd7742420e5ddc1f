// `sys.xenstore`: a process's xenstore client, as libxenstore behaves,
// over the Ops of web/src/xen/syscalls.ts (one step per request).
// - watch(path): an async iterator; the first next() registers the watch
//   (a step) and then takes the first event, which registration fired
//   (another step); every later next() is one step, blocked until an event
//   comes. Leaving the loop (return()) unregisters the watch.
// - transaction(body): TRANSACTION_START, the body's requests, the commit,
//   each a step; on EAGAIN the whole body runs again, as xs clients do. A
//   body that throws aborts the transaction.

import { SysError, type Op } from "../sim/op";
import type { XenstoreSyscalls } from "../xen/syscalls";
import type { Sys } from "./types";

type Xenstore = Sys["xenstore"];
type Call = <R>(op: Op<R>) => Promise<R>;

export function xenstoreClient(call: Call, x: XenstoreSyscalls): Xenstore {
  let watches = 0;
  return {
    read: (path) => call(x.read(path)),
    write: (path, value) => call(x.write(path, value)),
    rm: (path) => call(x.rm(path)),
    ls: (path) => call(x.ls(path)),
    getPerms: (path) => call(x.getPerms(path)),
    setPerms: (path, perms) => call(x.setPerms(path, perms)),
    waitFor: (path, predicate) => call(x.waitFor(path, predicate)),
    watch: (path) => {
      const token = `watch-${++watches}`;
      let state: "new" | "registered" | "done" = "new";
      const it: AsyncIterableIterator<{ path: string; token: string }> = {
        next: async () => {
          if (state === "done") return { done: true, value: undefined };
          if (state === "new") {
            await call(x.watch(path, token));
            state = "registered";
          }
          const ev = await call(x.nextEvent(path, token));
          return { done: false, value: ev };
        },
        return: async () => {
          if (state === "registered") {
            state = "done";
            await call(x.unwatch(path, token));
          }
          state = "done";
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]: () => it,
      };
      return it;
    },
    transaction: async (body) => {
      for (;;) {
        const id = await call(x.transactionStart());
        const tx = {
          read: (path: string) => call(x.read(path, id)),
          write: (path: string, value: string) => call(x.write(path, value, id)),
          rm: (path: string) => call(x.rm(path, id)),
          ls: (path: string) => call(x.ls(path, id)),
          setPerms: (path: string, perms: string[]) => call(x.setPerms(path, perms, id)),
        };
        let result;
        try {
          result = await body(tx);
        } catch (e) {
          if (e instanceof SysError) await call(x.transactionEnd(id, false));
          throw e;
        }
        try {
          await call(x.transactionEnd(id, true));
          return result;
        } catch (e) {
          if (e instanceof SysError && e.errno === "EAGAIN") continue;
          throw e;
        }
      }
    },
  };
}
