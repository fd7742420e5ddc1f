// Sleep sets (Godefroid): after exploring an actor from a state, all its
// alternatives (choice values, death), a later sibling need not try that
// actor again below, as long as only steps independent of all of them (the
// union of their footprints) are taken: any execution that runs it there
// is equivalent to one already explored from the state. An actor wakes up
// when a step dependent with it is taken.

import { add, clear, type ActorSet } from "./actor-set";
import { dependent, type Bits } from "./footprint-bits";

/** Per actor, the footprint it sleeps with (the union of its alternatives'), or null: awake. */
export type Sleepers = (Bits | null)[];

/** The sleeping actors, into `out` (emptied first). */
export function asleepInto(sleepers: Sleepers, out: ActorSet): void {
  clear(out);
  for (let p = 0; p < sleepers.length; p++) if (sleepers[p]) add(out, p);
}

/**
 * Who sleeps after `actor`'s step with footprint `fp`, from a state where
 * `sleepers` slept and the actors in `done` were explored already: those
 * independent of the step. `none` (every actor awake) is returned as it is
 * when nobody sleeps, so that most states allocate nothing.
 */
export function sleepAfter(sleepers: Sleepers, done: Sleepers, actor: number, fp: Bits, none: Sleepers): Sleepers {
  let child = none;
  for (let b = 0; b < sleepers.length; b++) {
    if (b === actor) continue;
    const z = sleepers[b] ?? done[b];
    if (!z || dependent(z, fp)) continue;
    if (child === none) child = new Array<Bits | null>(sleepers.length).fill(null);
    child[b] = z;
  }
  return child;
}
