// Dynamic partial-order reduction with source sets (Abdulla, Aronis, Jonsson
// and Sagonas, POPL 2014, after Flanagan and Godefroid, POPL 2005): from
// each state one actor is explored first, and races found later add the
// others that matter. At every state reached, the next step of every
// waiting actor (each alternative: choice values, death) is checked for
// races with the steps of the path: a step i whose footprint conflicts with
// it, of another actor, and not ordered before it by happens-before except
// through itself. A race is reversed at the state before i by exploring an
// *initial* of v = (the steps after i that do not happen after i) followed
// by the racing step: an actor whose first step in v has no predecessor in
// v. Nothing is added when an initial is already in that state's backtrack
// set or sleep set. (Adding the racing actor itself, as FG05 does, is
// unsound with sleep sets when it sleeps there; test/sim/reduction-soundness
// has the counterexample.)
//
// Waiting actors are probed whether their guard holds or not, since a
// blocked step depends on what would unblock it; so an initial may be a step
// that cannot run in the state before i (it waits for something v does).
// Then, as FG05 does when the racing actor is not enabled, every actor
// enabled in that state is explored from it.
//
// Happens-before is kept as vector clocks on the path: per step, per actor,
// 1 + the index of that actor's last step that happens before it (0: none).

import { add, has, type ActorSet } from "./actor-set";
import { InternalError, internal } from "./assert";
import type { Probe, Transition } from "./execution";
import { dependent, type Bits, type FootprintEncoder } from "./footprint-bits";
import type { Summary } from "./summaries";

/** A state on the current path, as DPOR sees it: what it may still ask to explore from it. */
export interface Frame {
  /** Sets of actors (actor-set.ts): those that can move in this state. */
  enabled: ActorSet;
  /** Those to explore from it (always within `enabled`). */
  backtrack: ActorSet;
  /** The backtrack set in the order actors were added (the order they are explored). */
  order: number[];
  /** Those asleep in this state (sleep-sets.ts): a race they would reverse is covered already. */
  sleep: ActorSet;
}

/** A step on the current path. */
interface PathStep {
  t: Transition;
  actor: number;
  fp: Bits;
  /** Happens-before: per actor, 1 + the index of its last step ordered before this one (this step's own: its index + 1). */
  clock: number[];
  /** The actor's clock before this step, put back when it is undone. */
  prevActorClock: number[];
}

/** The path with its clocks, the races of the steps that may follow it, and the backtrack sets they fill. */
export class Races {
  readonly path: PathStep[] = [];
  /** Per actor, the clock of its last step on the path (all zero: none). */
  private readonly actorClock: number[][];
  /** Path steps (and their clocks) popped, for reuse: they live as long as their subtree, so they would outlive the young generation. */
  private readonly freeSteps: PathStep[] = [];
  /** Actors added to some backtrack set so far: a check that a skipped race detection adds nothing counts on it. */
  private added = 0;
  // Scratch for reverse and racesOf (they run at every state: nothing allocated).
  private readonly seen: Uint8Array;
  private readonly initials: number[] = [];
  private readonly nextClock: number[];

  /**
   * `frames[i]` is the state before `path[i]` (the search's stack, shared).
   * `debug`: check each clock against the definition of happens-before, and
   * that a race detection skipped as redundant would have added nothing.
   */
  constructor(private readonly nActors: number, private readonly frames: readonly Frame[], private readonly debug: boolean) {
    this.actorClock = Array.from({ length: nActors }, () => new Array<number>(nActors).fill(0));
    this.seen = new Uint8Array(nActors);
    this.nextClock = new Array<number>(nActors).fill(0);
  }

  addBacktrack(f: Frame, q: number): void {
    if (has(f.backtrack, q)) return;
    if (!has(f.enabled, q)) throw new InternalError(`actor ${q} added to the backtrack set of a state where it cannot move`);
    add(f.backtrack, q);
    f.order.push(q);
    this.added++;
  }

  /** Every actor that can move in `f`: when no initial of a reversal can (see the top of this file). */
  private addEveryEnabled(f: Frame): void {
    for (let q = 0; q < this.nActors; q++) if (has(f.enabled, q)) this.addBacktrack(f, q);
  }

  /** A step taken: on the path, with its clock (it happens after the steps of the path it depends on). */
  push(t: Transition, fp: Bits): void {
    const { path, nActors } = this;
    const j = path.length;
    const prev = this.actorClock[t.actor]!;
    const reused = this.freeSteps.pop();
    const clock = reused ? reused.clock : new Array<number>(nActors);
    for (let k = 0; k < nActors; k++) clock[k] = prev[k]!;
    for (let i = 0; i < j; i++) {
      const s = path[i]!;
      // Ordered already (clock[s.actor] > i): its clock is in this one.
      if (s.actor !== t.actor && clock[s.actor]! <= i && dependent(s.fp, fp)) {
        const c = s.clock;
        for (let k = 0; k < nActors; k++) if (c[k]! > clock[k]!) clock[k] = c[k]!;
      }
    }
    clock[t.actor] = j + 1;
    this.actorClock[t.actor] = clock;
    if (reused) {
      reused.t = t;
      reused.actor = t.actor;
      reused.fp = fp;
      reused.prevActorClock = prev;
      path.push(reused);
    } else {
      path.push({ t, actor: t.actor, fp, clock, prevActorClock: prev });
    }
    if (this.debug) this.verifyClock(j);
  }

  pop(): void {
    const s = this.path.pop()!;
    this.actorClock[s.actor] = s.prevActorClock;
    this.freeSteps.push(s);
  }

  /** No step of another actor at index ≥ i happens before the step with this clock. */
  private noPredAfter(clock: number[], self: number, i: number): boolean {
    for (let r = 0; r < this.nActors; r++) if (r !== self && clock[r]! > i) return false;
    return true;
  }

  /**
   * Reverses the race of path step i with a later step e' of actor p: adds to
   * the backtrack set of the state before i an initial of
   * v = notdep(i).e', unless one is there (or asleep there) already.
   * `nc` is the happens-before clock of e'; null when e' is a step below a cached
   * state (its place unknown), whose candidates are then `below`'s actors.
   */
  private reverse(i: number, p: number, nc: number[] | null, below: Summary | null): void {
    const { path, seen, initials } = this;
    const f = this.frames[i]!;
    const ai = path[i]!.actor;
    seen.fill(0);
    initials.length = 0;
    let covered = false;
    for (let j = i + 1; j < path.length; j++) {
      const s = path[j]!;
      const q = s.actor;
      if (seen[q] || s.clock[ai]! > i) continue; // not q's first step in v, or after i
      seen[q] = 1;
      if (this.noPredAfter(s.clock, q, i)) {
        initials.push(q);
        if (has(f.backtrack, q) || has(f.sleep, q)) covered = true;
      }
    }
    if (nc !== null) {
      if (!seen[p] && this.noPredAfter(nc, p, i)) {
        initials.push(p);
        if (has(f.backtrack, p) || has(f.sleep, p)) covered = true;
      }
      // v's first step on the path has no predecessor in v, nor has e' when v is e' alone.
      if (initials.length === 0) throw new InternalError(`the race of step ${i} with actor ${p}'s next step: v has no initial`);
    } else if (initials.length === 0) {
      // v is made of steps below the cached state only: any of their actors
      // may start it; when none can move here, every actor that can (as above).
      let any = false;
      for (let q = 0; q < this.nActors; q++) if (below![q] && has(f.enabled, q)) { this.addBacktrack(f, q); any = true; }
      if (!any) this.addEveryEnabled(f);
      return;
    }
    if (covered) return;
    let pick = -1;
    if (nc !== null && initials.includes(p) && has(f.enabled, p)) pick = p;
    else for (const q of initials) if (has(f.enabled, q)) { pick = q; break; }
    if (pick >= 0) this.addBacktrack(f, pick);
    else this.addEveryEnabled(f);
  }

  /** Races of a next step of actor p (footprint fp) with the path: every step i it races with, reversed. */
  private racesOf(p: number, fp: Bits): void {
    const { path, nActors, nextClock } = this;
    const own = this.actorClock[p]!;
    for (let r = 0; r < nActors; r++) nextClock[r] = own[r]!;
    for (let i = path.length - 1; i >= 0; i--) {
      const s = path[i]!;
      if (s.actor === p || !dependent(s.fp, fp)) continue;
      if (nextClock[s.actor]! > i) continue; // happens before e' through a later step: not a race
      this.reverse(i, p, nextClock, null);
      const c = s.clock;
      for (let r = 0; r < nActors; r++) if (c[r]! > nextClock[r]!) nextClock[r] = c[r]!;
    }
  }

  /**
   * The races of every waiting actor's next step, each alternative with its
   * own footprint, at a state. An actor whose probe is the very one it had
   * in the parent state (it did not move, nothing it reads changed) needs no
   * new check for an alternative independent of the newest step u: its
   * races are the parent's (u conflicts with none of them, so no clock
   * changes), and v only gains u, which does not precede the racing step, so
   * every initial of the parent's v is still one; what the parent added (or
   * found) in backtrack or sleep sets is still there.
   */
  detectRaces(probes: readonly (Probe | undefined)[], parent: readonly (Probe | undefined)[] | null, newest: Bits | null, enc: FootprintEncoder): void {
    for (let p = 0; p < this.nActors; p++) {
      const pr = probes[p];
      if (pr === undefined) continue;
      const unmoved = parent !== null && newest !== null && parent[p] === pr;
      for (const fp of enc.ofProbe(pr).alts) {
        if (!unmoved || dependent(newest, fp)) this.racesOf(p, fp);
        else if (this.debug) this.verifyRedundant(p, fp);
      }
    }
  }

  /** A cached state reached again: the steps below it race with the path's, wherever they would fall. */
  summaryRaces(summary: Summary): void {
    const { path, nActors } = this;
    for (let i = 0; i < path.length; i++) {
      const s = path[i]!;
      for (let q = 0; q < nActors; q++) {
        const b = summary[q];
        if (!b || q === s.actor || !dependent(s.fp, b)) continue;
        this.reverse(i, q, null, summary);
        break; // the same reversal for every actor below: v's initials do not depend on which
      }
    }
  }

  /** Debug: the race detection detectRaces skips for an unmoved actor adds nothing (so running it changes nothing). */
  private verifyRedundant(p: number, fp: Bits): void {
    const before = this.added;
    this.racesOf(p, fp);
    internal(this.added === before, () => `actor ${p}: a race detection skipped as the parent state's would have added to a backtrack set`);
  }

  /** Debug: step j's clock is happens-before as defined: its own index, program order, and every dependent earlier step. */
  private verifyClock(j: number): void {
    const s = this.path[j]!;
    const c = s.clock;
    internal(c[s.actor] === j + 1, () => `step ${j}: its clock gives its own actor ${c[s.actor]}, not ${j + 1}`);
    for (let r = 0; r < this.nActors; r++) {
      internal(c[r]! >= s.prevActorClock[r]!, () => `step ${j}: its clock is behind its actor's previous step for actor ${r}`);
      if (r === s.actor || c[r] === 0) continue;
      internal(c[r]! <= j && this.path[c[r]! - 1]!.actor === r, () => `step ${j}: its clock for actor ${r} (${c[r]}) is not a step of that actor before it`);
    }
    for (let i = 0; i < j; i++) {
      const e = this.path[i]!;
      if (e.actor === s.actor || !dependent(e.fp, s.fp)) continue;
      internal(c[e.actor]! > i, () => `step ${j} depends on step ${i} but its clock does not order it after`);
    }
  }
}
