// A store with the boot tree and a step context per call, for xenstore
// tests that run operations without the scheduler. Footprints are recorded
// per call, so tests can check what a step reads and writes.

import { SysError, type KernelEvent, type StepContext } from "../../web/src/sim/op";
import { emptyFootprint, Store, type Footprint } from "../../web/src/sim/store";
import { xsBoot } from "../../web/src/xen/xenstore/boot";

export const DOMAINS = [
  { name: "dom0", domid: 0 },
  { name: "work", domid: 1 },
  { name: "vault", domid: 2 },
];

export class XsWorld {
  readonly store = new Store();
  readonly events: KernelEvent[] = [];
  /** Answers for choice points, in order; 0 when exhausted. */
  choices: number[] = [];
  readonly asked: string[] = [];
  last: Footprint = emptyFootprint();

  /** `boot: false` leaves the store empty (for a test that boots the domains itself). */
  constructor(domains = DOMAINS, boot = true) {
    if (boot) xsBoot(this.store, domains);
  }

  ctx(domain = "dom0"): StepContext {
    return {
      store: this.store,
      who: { index: 0, name: "test", domain },
      choose: (name, n) => {
        this.asked.push(name);
        const c = this.choices.shift() ?? 0;
        if (c >= n) throw new Error(`choice ${c} out of ${n}`);
        return c;
      },
      emit: (e) => this.events.push(e),
    };
  }

  /** Runs one step, recording its footprint. */
  step<R>(f: (ctx: StepContext) => R, domain = "dom0"): R {
    this.last = emptyFootprint();
    this.store.recording = this.last;
    try {
      return f(this.ctx(domain));
    } finally {
      this.store.recording = null;
    }
  }

  /** The footprint a step would have, the step undone afterwards (as the explorer's probe does). */
  footprintOf(f: (ctx: StepContext) => unknown, domain = "dom0"): Footprint {
    const cp = this.store.checkpoint();
    try {
      this.step(f, domain);
      return this.last;
    } finally {
      this.store.restore(cp);
      this.store.release(cp);
    }
  }

  /** The errno a step fails with (undefined when it succeeds). */
  errno(f: (ctx: StepContext) => unknown, domain = "dom0"): string | undefined {
    try {
      this.step(f, domain);
      return undefined;
    } catch (e) {
      if (e instanceof SysError) return e.errno;
      throw e;
    }
  }
}
