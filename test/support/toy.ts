// A toy world for testing the runtime: shared variables and blocking locks,
// small enough that every answer can be worked out by hand.

import type { Channel } from "../../web/src/sim/actor";
import type { ActorSpec, ExecutionSpec } from "../../web/src/sim/execution";
import { SysError, type Who } from "../../web/src/sim/op";
import type { Properties, Invariant } from "../../web/src/sim/properties";

export interface ToySys {
  read(v: string): Promise<number>;
  write(v: string, x: number): Promise<void>;
  /** Blocks until the lock is free. */
  lock(l: string): Promise<void>;
  unlock(l: string): Promise<void>;
  /** Fails with EBUSY instead of blocking. */
  tryLock(l: string): Promise<void>;
  /** An allocation that may fail (a choice point), with ENOMEM. */
  alloc(v: string): Promise<void>;
  who: Who;
}

export function toySys(ch: Channel, who: Who): ToySys {
  return {
    who,
    read: (v) => ch.call({ call: "read", args: [v], run: (c) => c.store.get<number>(`var:${v}`) ?? 0 }),
    write: (v, x) => ch.call({ call: "write", args: [v, x], run: (c) => { c.store.set(`var:${v}`, x); } }),
    lock: (l) => ch.call({
      call: "lock", args: [l], waitingFor: `until ${l} is free`,
      ready: (s) => !s.has(`lock:${l}`),
      run: (c) => { c.store.set(`lock:${l}`, who.name); },
    }),
    unlock: (l) => ch.call({ call: "unlock", args: [l], run: (c) => { c.store.delete(`lock:${l}`); } }),
    tryLock: (l) => ch.call({
      call: "tryLock", args: [l],
      run: (c) => {
        if (c.store.has(`lock:${l}`)) throw new SysError("EBUSY", `${l} is held`);
        c.store.set(`lock:${l}`, who.name);
      },
    }),
    alloc: (v) => ch.call({
      call: "alloc", args: [v],
      run: (c) => {
        if (c.choose("alloc-fails", 2) === 1) throw new SysError("ENOMEM", "allocation failed");
        c.store.set(`var:${v}`, 1);
      },
    }),
  };
}

export function toyScenario(actors: Record<string, (sys: ToySys) => Promise<void>>, init: Record<string, number> = {}, extra: Partial<ActorSpec>[] = []): ExecutionSpec {
  return {
    setup: (store) => { for (const [k, v] of Object.entries(init)) store.set(`var:${k}`, v); },
    actors: Object.entries(actors).map(([name, body], i) => ({
      name, domain: "dom0", ...extra[i],
      body: (ch, who) => body(toySys(ch, who)),
    })),
    onKill: (ctx) => {
      // The kernel releases the dead actor's locks, as it closes a dead process's fds.
      for (const k of ctx.store.list("lock")) if (ctx.store.get(k) === ctx.who.name) ctx.store.delete(k);
    },
  };
}

export function props(invariants: Invariant[] = [], sometimes: Invariant[] = [], deadlock = true): Properties {
  return { invariants, sometimes, deadlock };
}

export const varIs = (v: string, want: number): Invariant => ({
  name: `${v} = ${want}`,
  atEnd: true,
  check: (exec) => {
    const got = exec.store.peek<number>(`var:${v}`) ?? 0;
    return got === want ? undefined : `${v} is ${got}, expected ${want}`;
  },
});
