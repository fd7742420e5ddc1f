// Exhaustive search: depth-first over every interleaving that matters (and
// every value of every choice point), up to the bounds.
//
// Three reductions, each of which can be turned off to measure it:
// - dynamic partial-order reduction with source sets (Abdulla, Aronis,
//   Jonsson and Sagonas, POPL 2014, after Flanagan and Godefroid, POPL 2005):
//   from each state one actor is explored first. At every state reached, the
//   next step of every waiting actor (each alternative: choice values,
//   death) is checked for races with the steps of the path: a step i whose
//   footprint conflicts with it, of another actor, and not ordered before it
//   by happens-before except through itself. A race is reversed at the state
//   before i by exploring an *initial* of v = (the steps after i that do not
//   happen after i) followed by the racing step: an actor whose first step
//   in v has no predecessor in v. Nothing is added when an initial is
//   already in that state's backtrack set or sleep set. (Adding the racing
//   actor itself, as FG05 does, is unsound with sleep sets when it sleeps
//   there; test/sim/reduction-soundness has the counterexample.)
// - sleep sets (Godefroid): after exploring an actor from a state (all its
//   alternatives), a sibling need not try it again below while only steps
//   independent of all of them (the union of their footprints) are taken.
// - state caching: a table of visited states keyed by the 64-bit state key
//   (world fingerprint, each actor's position and observation hash). A
//   cached state is not explored again, which alone would make the dynamic
//   reduction unsound, since its subtree's races with the current path would
//   go unseen; so each visited state keeps a summary (per actor, the union of
//   the footprints of every step taken, and every step probed, below it) and
//   reaching it again replays those as races against the current path,
//   conservatively (as if each raced with every conflicting step of the
//   path). Each visited state also keeps the sleep set it was explored with,
//   and reaching it again with fewer sleeping actors explores those that
//   woke up.
//
// Two more rules, for what the theory leaves out: a step into a state where
// an invariant fails (not explored further) disables every other actor, so
// it is dependent with every step; and steps that write an object an
// after-step invariant or "sometimes" property reads (the store records its
// peeks) are dependent with each other, since such a check sees the order of
// independent writes. docs/runtime.md has the soundness argument.
//
// Footprints are compared as bitsets over object ids interned per
// exploration; happens-before is kept as vector clocks (1-based step
// indices per actor) on the path.
//
// Going back to a parent state restores the store from a checkpoint (an undo
// log: cost proportional to what changed) and replays only the actors that
// moved, from their logs; that is cheaper than re-running the whole prefix
// from the start as a stateless search must.

import { collisionOdds, hex64 } from "./hash";
import type { LiveCounts } from "./live";
import { Execution, type ExecCheckpoint, type ExecutionSpec, type Probe, type Transition } from "./execution";
import { checkAfterStep, checkAtEnd, type Properties, type Violation } from "./properties";
import { Rng } from "./rng";
import { collectionOf, scopedCollectionOf, type Footprint } from "./store";

export interface ExhaustiveOptions {
  caching?: boolean;
  sleepSets?: boolean;
  /** Dynamic partial-order reduction (source sets from recorded footprints). */
  por?: boolean;
  /** Longest execution explored (steps); deeper paths make the result incomplete. */
  maxSteps?: number;
  maxStates?: number;
  /** Executions (paths to a final state) explored at most. */
  maxExecutions?: number;
  maxSeconds?: number;
  /** Stop at the first violation (default) or go on, keeping one per invariant. */
  stopAtFirst?: boolean;
  /** Clock for the time bound only; never affects what is explored before it. */
  now?: () => number;
  /**
   * A daemon waiting at its loop head is one state whatever rounds it ran
   * before (Op.loopHead): states that differ only in that are cached as one.
   * Default on; off, the key counts every actor's whole history.
   */
  loopHeads?: boolean;
  /** Record the state key of every final state (for tests; loop heads honoured either way, so searches compare). */
  collectEndStates?: boolean;
  /** Updated whenever the clock is read. */
  live?: LiveCounts;
}

export interface FoundViolation extends Violation {
  path: Transition[];
}

export interface ExhaustiveResult {
  violations: FoundViolation[];
  states: number;
  transitions: number;
  executions: number;
  complete: boolean;
  /** Which bound stopped it, when not complete. */
  stoppedBy?: "steps" | "states" | "executions" | "seconds" | "violation";
  sometimesSeen: Set<string>;
  endStates: Set<string>;
  collisionOdds: number;
}

/**
 * Every transition enabled now: each enabled actor's step with every value
 * of its choice points, and its death for an actor that may crash. Found by
 * probing before anything runs, so that a sleeping default does not hide a
 * choice value that is awake.
 */
export function enabledTransitions(exec: Execution, probes?: Map<number, Probe>): Transition[] {
  return exec.enabled().flatMap((i) => (probes?.get(i) ?? exec.probe(i)).alternatives);
}

// ---- footprints as bitsets ----

/**
 * A footprint over interned object ids: reads, writes of objects, and writes
 * of collections ("kind:*", by creating or deleting a member), which commute
 * with each other. Ids below 32 live in one word each; the rest in arrays.
 */
class Bits {
  /** The summary that may change these bits in place (copy on write); null: shared, never changed. */
  owner: object | null = null;
  /** Dependent with every step: a step into a state where an invariant fails (nothing runs after it). */
  all = false;
  r0 = 0;
  w0 = 0;
  c0 = 0;
  hi: { r: number[]; w: number[]; c: number[] } | null = null;
}

function setBit(b: Bits, kind: 0 | 1 | 2, id: number): void {
  if (id < 32) {
    const m = 1 << id;
    if (kind === 0) b.r0 |= m;
    else if (kind === 1) b.w0 |= m;
    else b.c0 |= m;
    return;
  }
  const h = (b.hi ??= { r: [], w: [], c: [] });
  const arr = kind === 0 ? h.r : kind === 1 ? h.w : h.c;
  const k = (id >> 5) - 1;
  while (arr.length <= k) arr.push(0);
  arr[k]! |= 1 << (id & 31);
}

/** The same relation as store.ts's `conflicts`: overlapping objects, one writing; two collection writes commute. */
function dependent(a: Bits, b: Bits): boolean {
  if (a.all || b.all) return true;
  if (((a.w0 & (b.r0 | b.w0)) | (a.c0 & b.r0) | (b.w0 & a.r0) | (b.c0 & a.r0)) !== 0) return true;
  const ah = a.hi;
  const bh = b.hi;
  if (ah === null || bh === null) return false;
  const len = Math.max(ah.r.length, ah.w.length, ah.c.length, bh.r.length, bh.w.length, bh.c.length);
  for (let k = 0; k < len; k++) {
    const ar = ah.r[k] ?? 0, aw = ah.w[k] ?? 0, ac = ah.c[k] ?? 0;
    const br = bh.r[k] ?? 0, bw = bh.w[k] ?? 0, bc = bh.c[k] ?? 0;
    if (((aw & (br | bw)) | (ac & br) | (bw & ar) | (bc & ar)) !== 0) return true;
  }
  return false;
}

function orInto(into: Bits, b: Bits): void {
  into.all ||= b.all;
  into.r0 |= b.r0;
  into.w0 |= b.w0;
  into.c0 |= b.c0;
  if (b.hi === null) return;
  const h = (into.hi ??= { r: [], w: [], c: [] });
  const or = (x: number[], y: number[]) => {
    for (let k = 0; k < y.length; k++) x[k] = (x[k] ?? 0) | y[k]!;
  };
  or(h.r, b.hi.r);
  or(h.w, b.hi.w);
  or(h.c, b.hi.c);
}

function copyBits(b: Bits): Bits {
  const c = new Bits();
  orInto(c, b);
  return c;
}

/** Every object of b is in a (and b depends on everything only if a does). */
function covers(a: Bits, b: Bits): boolean {
  if ((b.all && !a.all) || ((b.r0 & ~a.r0) | (b.w0 & ~a.w0) | (b.c0 & ~a.c0)) !== 0) return false;
  if (b.hi === null) return true;
  if (a.hi === null) return false;
  const sub = (x: number[], y: number[]) => y.every((w, k) => (w & ~(x[k] ?? 0)) === 0);
  return sub(a.hi.r, b.hi.r) && sub(a.hi.w, b.hi.w) && sub(a.hi.c, b.hi.c);
}

/** into[actor] ∪= b, copying only when into's bits are shared. */
function mergeBits(into: (Bits | null)[], owner: object, actor: number, b: Bits): void {
  let s = into[actor];
  if (!s) { into[actor] = b; return; }
  if (s === b || covers(s, b)) return;
  if (s.owner !== owner) {
    s = copyBits(s);
    s.owner = owner;
    into[actor] = s;
  }
  orInto(s, b);
}

// ---- the visited-state table: 64-bit keys in two typed arrays, open addressing ----

/** Visited states: per 64-bit key, a value and a 32-bit tag (kept in a typed array: nothing to allocate per state). */
class StateTable<V> {
  private k0 = new Uint32Array(1024);
  private k1 = new Uint32Array(1024);
  private slot = new Int32Array(1024); // index + 1 into values; 0 = empty
  private readonly values: V[] = [];
  private tags = new Int32Array(1024);

  get size(): number {
    return this.values.length;
  }

  private find(a: number, b: number): number {
    const mask = this.slot.length - 1;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const s = this.slot[i]!;
      if (s === 0 || (this.k0[i] === a && this.k1[i] === b)) return i;
      i = (i + 1) & mask;
    }
  }

  /** The entry's index, or -1. */
  indexOf(a: number, b: number): number {
    return this.slot[this.find(a, b)]! - 1;
  }

  value(i: number): V {
    return this.values[i]!;
  }

  tag(i: number): number {
    return this.tags[i]!;
  }

  setTag(i: number, tag: number): void {
    this.tags[i] = tag;
  }

  /** A new entry (the key must be absent). */
  add(a: number, b: number, v: V, tag: number): void {
    if ((this.values.length + 1) * 2 > this.slot.length) this.grow();
    const i = this.find(a, b);
    this.values.push(v);
    if (this.values.length > this.tags.length) {
      const t = new Int32Array(this.tags.length * 2);
      t.set(this.tags);
      this.tags = t;
    }
    this.tags[this.values.length - 1] = tag;
    this.k0[i] = a;
    this.k1[i] = b;
    this.slot[i] = this.values.length;
  }

  private grow(): void {
    const { k0, k1, slot } = this;
    const cap = slot.length * 2;
    this.k0 = new Uint32Array(cap);
    this.k1 = new Uint32Array(cap);
    this.slot = new Int32Array(cap);
    for (let i = 0; i < slot.length; i++) {
      if (slot[i] === 0) continue;
      const j = this.find(k0[i]!, k1[i]!);
      this.k0[j] = k0[i]!;
      this.k1[j] = k1[i]!;
      this.slot[j] = slot[i]!;
    }
  }
}

/** A step on the current path, with its vector clock (1-based step indices per actor). */
interface PathStep {
  t: Transition;
  actor: number;
  fp: Bits;
  clock: number[];
  prevActorClock: number[];
}

/** A state on the current path: what DPOR may still ask to explore from it. */
interface Frame {
  /** Sets of actors as bitmasks (bit i: actor i). */
  enabled: number;
  backtrack: number;
  /** Backtrack set in the order actors were added (the order they are explored). */
  order: number[];
  /** Actors asleep in this state. */
  sleep: number;
}

/** Per actor, the union of the footprints of its steps (taken or probed) below a state. */
type Summary = (Bits | null)[];

class Stop extends Error {}

export async function exploreExhaustive(spec: ExecutionSpec, props: Properties, opts: ExhaustiveOptions = {}): Promise<ExhaustiveResult> {
  const now = opts.now ?? (() => performance.now());
  const deadline = opts.maxSeconds === undefined ? Infinity : now() + opts.maxSeconds * 1000;
  // What the after-step invariants and "sometimes" properties read. The
  // dynamic reduction treats steps that write any of it as dependent with
  // each other; if they turn out to read more than was known when the
  // search began, the search is run again with what they read.
  const observed = new Set<string>();
  const afterStepChecks = props.invariants.some((i) => !i.atEnd) || props.sometimes.some((i) => !i.atEnd);
  if (((opts.por ?? true) || (opts.sleepSets ?? true)) && afterStepChecks) await primeObserved(spec, props, observed, opts.maxSteps ?? 1000);
  for (;;) {
    const { res, stale } = await exploreOnce(spec, props, opts, observed, now, deadline);
    if (!stale || res.stoppedBy === "violation" || res.stoppedBy === "seconds") return res;
  }
}

/**
 * What the after-step checks read, learnt from a few seeded random
 * executions before the search, so that the search rarely has to run again.
 * Only a guess: whatever goes wrong here is left for the search to meet.
 */
async function primeObserved(spec: ExecutionSpec, props: Properties, observed: Set<string>, maxSteps: number): Promise<void> {
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

/**
 * One search. `stale` when a check read something new after a step that
 * writes it had already been taken as invisible to checks: the reduction may
 * then have skipped an order of visible steps, and the search must run again.
 */
async function exploreOnce(spec: ExecutionSpec, props: Properties, opts: ExhaustiveOptions, observed: Set<string>, now: () => number, deadline: number): Promise<{ res: ExhaustiveResult; stale: boolean }> {
  const live = opts.live;
  const caching = opts.caching ?? true;
  const por = opts.por ?? true;
  const sleepSets = opts.sleepSets ?? true;
  const maxSteps = opts.maxSteps ?? 1000;
  const maxStates = opts.maxStates ?? 1_000_000;
  const stopAtFirst = opts.stopAtFirst ?? true;
  const loopHeads = opts.loopHeads ?? true;

  const exec = new Execution(spec);
  await exec.start();
  const nActors = exec.actors.length;
  if (nActors > 31) throw new RangeError(`exhaustive search handles at most 31 actors (sets of actors are bitmasks); this scenario has ${nActors}`);
  const res: ExhaustiveResult = {
    violations: [], states: 0, transitions: 0, executions: 0, complete: true,
    sometimesSeen: new Set(), endStates: new Set(), collisionOdds: 0,
  };
  /** Each visited state's summary, tagged with the sleep set it was explored with. */
  const visited = new StateTable<Summary>();
  const path: PathStep[] = [];
  const actorClock: number[][] = Array.from({ length: nActors }, () => new Array<number>(nActors).fill(0));

  // ---- footprints to bitsets ----
  const ids = new Map<string, number>([["<visible>", 0]]);
  const VISIBLE = 0;
  const idOf = (key: string): number => {
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    return id;
  };
  /**
   * A change an after-step check can see: an object it peeked, any member of
   * a kind it listed (it may peek them next), or, for a check that listed
   * every key, any creation or deletion.
   */
  const visible = (w: string): boolean => {
    if (observed.has(w)) return true;
    if (typeof w !== "string") return false;
    if (observed.has(collectionOf(w))) return true;
    const scoped = scopedCollectionOf(w);
    return (scoped !== undefined && observed.has(scoped)) || (w.endsWith(":*") && observed.has("*"));
  };
  /** Keys some converted footprint wrote while they were invisible. */
  const invisibleWrites = new Set<string>();
  let stale = false;
  const toBits = (fp: Footprint): Bits => {
    const b = new Bits();
    for (const r of fp.reads) setBit(b, 0, idOf(r));
    for (const w of fp.writes) {
      setBit(b, typeof w === "string" && w.endsWith(":*") ? 2 : 1, idOf(w));
      // Visible changes are ordered with each other: a check sees their order.
      // Sleep sets need it as much as DPOR: a state where a check fails is a
      // dead end, and an actor put to sleep after w was explored before w,
      // where its change with w's may have made such a dead end.
      if (!por && !sleepSets) continue;
      if (visible(w)) setBit(b, 1, VISIBLE);
      else invisibleWrites.add(w);
    }
    return b;
  };
  const checkStep = () => {
    const before = observed.size;
    exec.store.observed = observed;
    let v: Violation | undefined;
    try {
      v = checkAfterStep(exec, props, res.sometimesSeen);
    } finally {
      exec.store.observed = null;
    }
    if (observed.size !== before) {
      for (const w of invisibleWrites) if (visible(w)) { stale = true; break; }
      if (stale) throw new Stop(); // to be run again: what remains of this search is worth nothing
    }
    return v;
  };
  /** A probe's footprints as bitsets, kept on the probe, marked with the search that made them (ids are per search). */
  interface ProbeBits { search: object; all: Bits; alts: Bits[] }
  const thisSearch = {};
  const bitsOfProbe = (pr: Probe): ProbeBits => {
    const c = pr.compiled as ProbeBits | undefined;
    if (c !== undefined && c.search === thisSearch) return c;
    const b: ProbeBits = { search: thisSearch, all: toBits(pr.footprint), alts: pr.footprints.map((fp) => toBits(fp)) };
    pr.compiled = b;
    return b;
  };

  const report = (v: Violation) => {
    if (res.violations.some((f) => f.invariant === v.invariant)) return;
    res.violations.push({ ...v, path: path.map((p) => ({ ...p.t })) });
    if (stopAtFirst) {
      res.complete = false;
      res.stoppedBy = "violation";
      throw new Stop();
    }
  };

  // ---- races (source sets) ----

  const seen = new Uint8Array(nActors);
  const initials: number[] = [];
  const nextClock: number[] = new Array<number>(nActors).fill(0);

  /** No step of another actor at index ≥ i happens before the step with this clock. */
  const noPredAfter = (clock: number[], self: number, i: number): boolean => {
    for (let r = 0; r < nActors; r++) if (r !== self && clock[r]! > i) return false;
    return true;
  };

  const addBacktrack = (f: Frame, q: number) => {
    if ((f.backtrack >>> q) & 1) return;
    f.backtrack |= 1 << q;
    f.order.push(q);
  };

  /**
   * Reverses the race of path step i with a later step e' of actor p: adds to
   * the backtrack set of the state before i an initial of
   * v = notdep(i).e', unless one is there (or asleep there) already.
   * `nc` is the happens-before clock of e'; null when e' is a step below a cached
   * state (its place unknown), whose candidates are then `below`'s actors.
   */
  const reverse = (i: number, p: number, nc: number[] | null, below: Summary | null) => {
    const f = stack[i]!;
    const ai = path[i]!.actor;
    seen.fill(0);
    initials.length = 0;
    let covered = false;
    for (let j = i + 1; j < path.length; j++) {
      const s = path[j]!;
      const q = s.actor;
      if (seen[q] || s.clock[ai]! > i) continue; // not q's first step in v, or after i
      seen[q] = 1;
      if (noPredAfter(s.clock, q, i)) {
        initials.push(q);
        if (((f.backtrack | f.sleep) >>> q) & 1) covered = true;
      }
    }
    if (nc !== null) {
      if (!seen[p] && noPredAfter(nc, p, i)) {
        initials.push(p);
        if (((f.backtrack | f.sleep) >>> p) & 1) covered = true;
      }
    } else if (initials.length === 0) {
      // v is made of steps below the cached state only: any of their actors may start it.
      let any = false;
      for (let q = 0; q < nActors; q++) if (below![q] && (f.enabled >>> q) & 1) { addBacktrack(f, q); any = true; }
      if (!any) for (let q = 0; q < nActors; q++) if ((f.enabled >>> q) & 1) addBacktrack(f, q);
      return;
    }
    if (covered) return;
    let pick = -1;
    if (nc !== null && initials.includes(p) && (f.enabled >>> p) & 1) pick = p;
    else for (const q of initials) if ((f.enabled >>> q) & 1) { pick = q; break; }
    if (pick >= 0) addBacktrack(f, pick);
    else for (let q = 0; q < nActors; q++) if ((f.enabled >>> q) & 1) addBacktrack(f, q); // not expected: v starts with an enabled step
  };

  /** Races of a next step of actor p (footprint fp) with the path: every step i it races with, reversed. */
  const racesOf = (p: number, fp: Bits) => {
    const own = actorClock[p]!;
    for (let r = 0; r < nActors; r++) nextClock[r] = own[r]!;
    for (let i = path.length - 1; i >= 0; i--) {
      const s = path[i]!;
      if (s.actor === p || !dependent(s.fp, fp)) continue;
      if (nextClock[s.actor]! > i) continue; // happens before e' through a later step: not a race
      reverse(i, p, nextClock, null);
      const c = s.clock;
      for (let r = 0; r < nActors; r++) if (c[r]! > nextClock[r]!) nextClock[r] = c[r]!;
    }
  };

  /** Probes every waiting actor's next step once per state; races, alternatives and summaries use it. */
  const probeAll = (probes: (Probe | undefined)[] = new Array(nActors)): (Probe | undefined)[] => {
    for (let p = 0; p < nActors; p++) {
      const a = exec.actors[p]!;
      probes[p] = a.status === "parked" && a.pending ? exec.probe(p) : undefined;
    }
    return probes;
  };

  /**
   * The races of every waiting actor's next step, each alternative with its
   * own footprint, at every state. An actor whose probe is the very one it
   * had in the parent state (it did not move, nothing it reads changed) needs
   * no new check for an alternative independent of the newest step u: its
   * races are the parent's (u conflicts with none of them, so no clock
   * changes), and v only gains u, which does not precede the racing step, so
   * every initial of the parent's v is still one; what the parent added (or
   * found) in backtrack or sleep sets is still there.
   */
  const detectRaces = (probes: (Probe | undefined)[], parent: (Probe | undefined)[] | null, newest: Bits | null) => {
    for (let p = 0; p < nActors; p++) {
      const pr = probes[p];
      if (pr === undefined) continue;
      const unmoved = parent !== null && newest !== null && parent[p] === pr;
      for (const fp of bitsOfProbe(pr).alts) if (!unmoved || dependent(newest, fp)) racesOf(p, fp);
    }
  };

  const mergeInto = (summary: Summary, actor: number, b: Bits) => mergeBits(summary, summary, actor, b);
  const mergeProbes = (summary: Summary, probes: (Probe | undefined)[]) => {
    for (let p = 0; p < nActors; p++) {
      const pr = probes[p];
      if (pr !== undefined) mergeInto(summary, p, bitsOfProbe(pr).all);
    }
  };

  /** A cached state reached again: the steps below it race with the path's, wherever they would fall. */
  const summaryRaces = (summary: Summary) => {
    for (let i = 0; i < path.length; i++) {
      const s = path[i]!;
      for (let q = 0; q < nActors; q++) {
        const b = summary[q];
        if (!b || q === s.actor || !dependent(s.fp, b)) continue;
        reverse(i, q, null, summary);
        break; // the same reversal for every actor below: v's initials do not depend on which
      }
    }
  };

  /** Path steps (and their clocks) popped, for reuse: they live as long as their subtree, so they would outlive the young generation. */
  const freeSteps: PathStep[] = [];
  const push = (t: Transition, fp: Bits) => {
    const j = path.length;
    const prev = actorClock[t.actor]!;
    const reused = freeSteps.pop();
    const clock = reused ? reused.clock : new Array<number>(nActors);
    for (let k = 0; k < nActors; k++) clock[k] = prev[k]!;
    for (let i = 0; i < j; i++) {
      const s = path[i]!;
      if (s.actor !== t.actor && clock[s.actor]! <= i && dependent(s.fp, fp)) {
        const c = s.clock;
        for (let k = 0; k < nActors; k++) if (c[k]! > clock[k]!) clock[k] = c[k]!;
      }
    }
    clock[t.actor] = j + 1;
    actorClock[t.actor] = clock;
    if (reused) {
      reused.t = t;
      reused.actor = t.actor;
      reused.fp = fp;
      reused.prevActorClock = prev;
      path.push(reused);
    } else {
      path.push({ t, actor: t.actor, fp, clock, prevActorClock: prev });
    }
  };
  const pop = () => {
    const s = path.pop()!;
    actorClock[s.actor] = s.prevActorClock;
    freeSteps.push(s);
  };

  const noSleep: (Bits | null)[] = new Array(nActors).fill(null);
  const ALL = -1; // every actor (a bitmask)

  /** A state being explored, on the depth-first stack (stack[i] is the state before path[i]). */
  interface Node extends Frame {
    depth: number;
    /** The sleeping actors' footprints (the bitmask is Frame.sleep). */
    sleepers: (Bits | null)[];
    probes: (Probe | undefined)[];
    /** Index in the visited table when the state was explored before, or -1. */
    cached: number;
    summary: Summary;
    /** Explored before with this sleep set: only what slept then and is awake now is new. */
    stored: number;
    cp: ExecCheckpoint;
    /** Per actor explored here, the union of its alternatives' footprints (it sleeps in later siblings). */
    done: (Bits | null)[];
    /** Index in frame.order of the actor being explored, and its next alternative. */
    k: number;
    alt: number;
    /** The step taken to the child being explored, and its actor. */
    actor: number;
    fp: Bits | null;
  }
  const stack: Node[] = [];
  /** Nodes done with, for reuse (with their arrays), for the same reason as path steps. */
  const freeNodes: Node[] = [];
  const scratchProbes: (Probe | undefined)[] = new Array(nActors);

  /**
   * Arrives at a state: counts it, checks races, and either returns what lies
   * below it (nothing: an end state, the step bound) or pushes it on the stack
   * to be explored.
   */
  const enter = (depth: number, sleep: (Bits | null)[], parentProbes: (Probe | undefined)[] | null, newest: Bits | null): Summary | null => {
    const key = exec.stateKey(loopHeads);
    const cached = caching ? visited.indexOf(key[0], key[1]) : -1;
    if (cached < 0) {
      res.states++;
      if (res.states > maxStates) { res.complete = false; res.stoppedBy = "states"; throw new Stop(); }
      if ((res.states & 255) === 0) {
        if (live) { live.states = res.states; live.transitions = res.transitions; live.executions = res.executions; }
        if (now() > deadline) { res.complete = false; res.stoppedBy = "seconds"; throw new Stop(); }
      }
    }
    const summary: Summary = new Array(nActors).fill(null);
    const recycled = freeNodes.pop();
    const probes = probeAll(recycled ? recycled.probes : new Array(nActors));
    // Races of every actor's next step with the path so far, at every state
    // reached, whatever happens to it next.
    if (por) detectRaces(probes, parentProbes, newest);
    let enabled = 0;
    for (let p = 0; p < nActors; p++) if (probes[p] !== undefined && exec.isEnabled(p)) enabled |= 1 << p;
    if (enabled === 0) {
      res.executions++;
      if (opts.maxExecutions !== undefined && res.executions >= opts.maxExecutions) {
        res.complete = false;
        res.stoppedBy = "executions";
      }
      if (opts.collectEndStates) res.endStates.add(hex64(loopHeads ? key : exec.stateKey(true)));
      const v = checkAtEnd(exec, props, res.sometimesSeen);
      if (v) report(v);
      if (res.stoppedBy === "executions") throw new Stop();
      if (por && caching) mergeProbes(summary, probes);
      if (recycled) freeNodes.push(recycled);
      return summary;
    }
    if (depth >= maxSteps) {
      res.complete = false;
      res.stoppedBy ??= "steps";
      if (recycled) freeNodes.push(recycled);
      return summary;
    }
    if (cached >= 0 && por) summaryRaces(visited.value(cached));

    let asleep = 0;
    if (sleepSets) for (let p = 0; p < nActors; p++) if (sleep[p]) asleep |= 1 << p;
    // Explored before with sleep set `stored`: only what slept then and is awake now is new.
    let stored = ALL;
    if (cached >= 0) {
      stored = visited.tag(cached);
      visited.setTag(cached, stored & asleep);
    } else if (caching) {
      visited.add(key[0], key[1], summary, asleep);
    }
    let node: Node;
    if (recycled) {
      node = recycled;
      node.enabled = enabled;
      node.backtrack = 0;
      node.order.length = 0;
      node.sleep = asleep;
      node.depth = depth;
      node.sleepers = sleep;
      node.cached = cached;
      node.summary = summary;
      node.stored = stored;
      node.cp = exec.checkpoint();
      node.done.fill(null);
      node.k = 0;
      node.alt = 0;
      node.actor = -1;
      node.fp = null;
    } else {
      node = {
        enabled, backtrack: 0, order: [], sleep: asleep,
        depth, sleepers: sleep, probes, cached, summary, stored, cp: exec.checkpoint(),
        done: new Array(nActors).fill(null), k: 0, alt: 0, actor: -1, fp: null,
      };
    }
    const allowed = enabled & ~asleep & stored;
    for (let p = 0; p < nActors; p++) {
      if (!((allowed >>> p) & 1)) continue;
      addBacktrack(node, p);
      if (por && cached < 0) break; // DPOR: one actor first, races add the rest
    }
    stack.push(node);
    return null;
  };

  /** The next transition to explore from a state, or null when its backtrack set is exhausted (races may still add to it). */
  const nextTransition = (node: Node): Transition | null => {
    const order = node.order;
    const allowed = ~node.sleep & node.stored;
    for (;;) {
      if (node.k >= order.length) return null;
      const a = order[node.k]!;
      const alts = node.probes[a]!.alternatives;
      if (!((allowed >>> a) & 1) || node.alt >= alts.length) {
        node.k++;
        node.alt = 0;
        continue;
      }
      node.actor = a;
      return alts[node.alt++]!;
    }
  };

  /** Back from the step to a child: the path, the world and the actors as they were. */
  const undoStep = (node: Node) => {
    pop();
    exec.restoreNow(node.cp);
    mergeBits(node.done, node.done, node.actor, node.fp!);
  };

  /** A state fully explored: what lies below it goes to its parent. */
  const finish = (node: Node) => {
    stack.pop();
    exec.release(node.cp);
    // The steps waiting here belong below it too (a blocked one may never run below).
    if (por && caching) mergeProbes(node.summary, node.probes);
    let below = node.summary;
    if (node.cached >= 0) {
      const all = visited.value(node.cached);
      for (let b = 0; b < nActors; b++) if (below[b]) mergeInto(all, b, below[b]!);
      below = all;
    }
    const parent = stack[stack.length - 1];
    if (parent) {
      for (let b = 0; b < nActors; b++) if (below[b]) mergeInto(parent.summary, b, below[b]!);
      undoStep(parent);
    }
    freeNodes.push(node);
  };

  try {
    const v = checkStep();
    if (v) report(v);
    enter(0, noSleep, null, null);
    // Depth first, with an explicit stack: a step awaits only when the actor's code must run.
    while (stack.length > 0) {
      const node = stack[stack.length - 1]!;
      const t = nextTransition(node);
      if (t === null) {
        finish(node);
        continue;
      }
      const taken = exec.stepNow(t, undefined, { probe: node.probes[node.actor]!, alt: node.alt - 1 });
      const rec = taken instanceof Promise ? await taken : taken;
      res.transitions++;
      const fp = toBits(rec.footprint);
      push(t, fp);
      node.fp = fp;
      const violation = checkStep();
      // A state where an invariant fails is not explored further: the step
      // into it disables every other actor, so it depends on every step.
      if (violation) fp.all = true;
      mergeInto(node.summary, node.actor, fp);
      if (violation) {
        report(violation);
        if (por) {
          // not explored below a violation, but its races still count
          const after = probeAll(scratchProbes);
          detectRaces(after, node.probes, fp);
          if (caching) mergeProbes(node.summary, after);
        }
        undoStep(node);
        continue;
      }
      let child = noSleep;
      if (sleepSets) {
        for (let b = 0; b < nActors; b++) {
          if (b === node.actor) continue;
          const z = node.sleepers[b] ?? node.done[b];
          if (!z || dependent(z, fp)) continue;
          if (child === noSleep) child = new Array(nActors).fill(null);
          child[b] = z;
        }
      }
      const leaf = enter(node.depth + 1, child, node.probes, fp);
      if (leaf !== null) {
        for (let b = 0; b < nActors; b++) if (leaf[b]) mergeInto(node.summary, b, leaf[b]!);
        undoStep(node);
      }
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  res.collisionOdds = collisionOdds(res.states);
  return { res, stale };
}
