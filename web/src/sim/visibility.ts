// What the after-step checks see. An invariant checked after every step, or
// a "sometimes" property, sees the order of writes that the reductions
// would otherwise take as independent (a and b written in either order pass
// through "a written, b not yet" only one way). The search learns which
// objects the checks read (Store.observed records their peeks) and orders
// every write of those (footprint-bits.ts: the pseudo-object VISIBLE).
//
// What the checks read is known only as they run. A check that reads a new
// object after a step writing it was taken as invisible makes the search so
// far unsound (an order of visible writes may have been skipped): the
// search is then run again, knowing more. A few random executions before
// the first search learn most of it (primeObserved).

import { Execution, type ExecutionSpec } from "./execution";
import { checkAfterStep, type Properties, type Violation } from "./properties";
import { Rng } from "./rng";
import { collectionOf, scopedCollectionOf } from "./store";

export class Visibility {
  /** Keys that a write of was taken as invisible to the checks. */
  private readonly invisibleWrites = new Set<string>();
  /** A check read a key that an invisible write wrote: what the search found since is worth nothing. */
  stale = false;

  /** `observed`: what the checks are known to read (kept across the searches of one exploration). */
  constructor(readonly observed: Set<string>) {}

  /**
   * A change an after-step check can see: an object it peeked, any member of
   * a kind it listed (it may peek them next), or, for a check that listed
   * every key, any creation or deletion.
   */
  visible(w: string): boolean {
    const observed = this.observed;
    if (observed.has(w)) return true;
    if (typeof w !== "string") return false; // a blocked step's lookup of a key it never found (Store.seen)
    if (observed.has(collectionOf(w))) return true;
    const scoped = scopedCollectionOf(w);
    return (scoped !== undefined && observed.has(scoped)) || (w.endsWith(":*") && observed.has("*"));
  }

  /** visible(w), remembering a write taken as invisible in case a check reads it later. */
  readonly seesWrite = (w: string): boolean => {
    if (this.visible(w)) return true;
    this.invisibleWrites.add(w);
    return false;
  };

  /** The after-step checks, learning what they read; sets `stale` when they read what was taken as invisible. */
  checkStep(exec: Execution, props: Properties, sometimesSeen: Set<string>): Violation | undefined {
    const before = this.observed.size;
    exec.store.observed = this.observed;
    let v: Violation | undefined;
    try {
      v = checkAfterStep(exec, props, sometimesSeen);
    } finally {
      exec.store.observed = null;
    }
    if (this.observed.size !== before) {
      for (const w of this.invisibleWrites) if (this.visible(w)) { this.stale = true; break; }
    }
    return v;
  }
}

/**
 * What the after-step checks read, learnt from a few seeded random
 * executions before the search, so that the search rarely has to run again.
 * Only a guess: whatever goes wrong here is left for the search to meet.
 */
export async function primeObserved(spec: ExecutionSpec, props: Properties, observed: Set<string>, maxSteps: number): Promise<void> {
  const rng = new Rng(0x0b5e55ed);
  const seen = new Set<string>();
  try {
    const exec = new Execution(spec);
    await exec.start();
    const cp = exec.checkpoint();
    for (let walk = 0; walk < 16; walk++) {
      for (let n = 0; n < Math.min(maxSteps, 500); n++) {
        const en = exec.enabled();
        if (en.length === 0) break;
        const taken = exec.stepNow({ actor: en[rng.below(en.length)]! }, (_name, options) => rng.below(options));
        if (taken instanceof Promise) await taken;
        exec.store.observed = observed;
        try {
          if (checkAfterStep(exec, props, seen)) break;
        } finally {
          exec.store.observed = null;
        }
      }
      exec.restoreNow(cp);
    }
    exec.release(cp);
  } catch {
    // a bug in the scenario or a model: the search reports it
  }
}
