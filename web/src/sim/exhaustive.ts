// Exhaustive search: depth-first over every interleaving that matters (and
// every value of every choice point), up to the bounds.
//
// Three reductions, each of which can be turned off to measure it:
// - persistent sets by dynamic partial-order reduction (Flanagan and
//   Godefroid, POPL 2005): from each state one actor is explored first;
//   whenever a later step races with an earlier one (their footprints
//   conflict, different actors, not ordered by happens-before), the actor
//   is added to the backtrack set of the state before the earlier step.
//   The footprint of an actor's next step is known before it runs: the step
//   is probed (run against the store and undone, the actor not told).
// - sleep sets (Godefroid): after exploring t from a state, a sibling need
//   not try t again below it while only steps independent of t are taken.
// - state caching: a table of visited states keyed by the 64-bit state key
//   (world fingerprint, each actor's position and observation hash). A
//   cached state is not explored again, which alone would make the dynamic
//   reduction unsound, since its subtree's races with the current path would
//   go unseen; so each visited state keeps a summary (per actor, the union of
//   the footprints of every step taken below it) and reaching it again
//   replays those as races against the current path, conservatively (as if
//   none of them were ordered after it by happens-before). Each visited
//   state also keeps the sleep set it was explored with, and reaching it
//   again with fewer sleeping transitions explores those that woke up.
//
// Going back to a parent state restores the store from a checkpoint (an undo
// log: cost proportional to what changed) and replays only the actors that
// moved, from their logs; that is cheaper than re-running the whole prefix
// from the start as a stateless search must.

import { collisionOdds } from "./hash";
import { Execution, type ExecutionSpec, type Transition } from "./execution";
import { checkAfterStep, checkAtEnd, type Properties, type Violation } from "./properties";
import { conflicts, emptyFootprint, type Footprint } from "./store";

export interface ExhaustiveOptions {
  caching?: boolean;
  sleepSets?: boolean;
  /** Dynamic partial-order reduction (persistent sets from footprints). */
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
  /** Record the state key of every final state (for tests). */
  collectEndStates?: boolean;
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
 * A sleeping actor: every alternative of its step (choice values, death)
 * was explored from an ancestor, and nothing dependent on any of them
 * (the union of their footprints) has run since. Sleep is per actor, as in
 * Flanagan and Godefroid's algorithm: putting alternatives to sleep one by
 * one loses executions once an actor has several (tests/sim shows one).
 */
interface Sleeper {
  actor: number;
  fp: Footprint;
}

/** A step on the current path, with its vector clock (1-based step indices per actor). */
interface PathStep {
  t: Transition;
  fp: Footprint;
  clock: number[];
  prevActorClock: number[];
}

/** A state on the current path: what DPOR may still ask to explore from it. */
interface Frame {
  enabledActors: Set<number>;
  backtrack: Set<number>;
}

type Summary = Map<number, Footprint>;

class Stop extends Error {}

/**
 * Every transition enabled now: each enabled actor's step with every value
 * of its choice points, and its death for an actor that may crash. Found by
 * probing before anything runs, so that a sleeping default does not hide a
 * choice value that is awake.
 */
export function enabledTransitions(exec: Execution, probes?: Map<number, ReturnType<Execution["probe"]>>): Transition[] {
  return exec.enabled().flatMap((i) => (probes?.get(i) ?? exec.probe(i)).alternatives);
}

function union(into: Footprint, fp: Footprint): void {
  for (const r of fp.reads) into.reads.add(r);
  for (const w of fp.writes) into.writes.add(w);
}

function mergeSummary(into: Summary, actor: number, fp: Footprint): void {
  let s = into.get(actor);
  if (!s) into.set(actor, (s = emptyFootprint()));
  union(s, fp);
}

export async function exploreExhaustive(spec: ExecutionSpec, props: Properties, opts: ExhaustiveOptions = {}): Promise<ExhaustiveResult> {
  const caching = opts.caching ?? true;
  const por = opts.por ?? true;
  // Sleep sets are sound alone and with caching, but with the dynamic
  // reduction they lost executions of actors whose steps have several
  // alternatives (choice values): Flanagan and Godefroid's proof assumes one
  // next step per process. So they serve only when the dynamic reduction is
  // off; test/sim/reduction-soundness checks both configurations.
  const sleepSets = (opts.sleepSets ?? true) && !por;
  const maxSteps = opts.maxSteps ?? 1000;
  const maxStates = opts.maxStates ?? 1_000_000;
  const now = opts.now ?? (() => performance.now());
  const deadline = opts.maxSeconds === undefined ? Infinity : now() + opts.maxSeconds * 1000;
  const stopAtFirst = opts.stopAtFirst ?? true;

  const exec = new Execution(spec);
  await exec.start();
  const nActors = exec.actors.length;
  const res: ExhaustiveResult = {
    violations: [], states: 0, transitions: 0, executions: 0, complete: true,
    sometimesSeen: new Set(), endStates: new Set(), collisionOdds: 0,
  };
  const visited = new Map<string, { sleep: Set<number>; summary: Summary }>();
  const path: PathStep[] = [];
  const frames: Frame[] = [];
  const actorClock: number[][] = Array.from({ length: nActors }, () => new Array<number>(nActors).fill(0));

  const report = (v: Violation) => {
    if (res.violations.some((f) => f.invariant === v.invariant)) return;
    res.violations.push({ ...v, path: path.map((p) => ({ ...p.t })) });
    if (stopAtFirst) {
      res.complete = false;
      res.stoppedBy = "violation";
      throw new Stop();
    }
  };

  /** DPOR: a next step of `actor` with footprint `fp` races with the latest dependent step not before it. */
  const noteRace = (actor: number, fp: Footprint, exact: boolean, from = 0) => {
    for (let i = path.length - 1; i >= from; i--) {
      const s = path[i]!;
      if (s.t.actor === actor || !conflicts(s.fp, fp)) continue;
      if (exact && actorClock[actor]![s.t.actor]! >= i + 1) continue; // ordered before the actor's point: no race with this one
      const f = frames[i]!;
      if (f.enabledActors.has(actor)) f.backtrack.add(actor);
      else for (const a of f.enabledActors) f.backtrack.add(a);
      if (exact) return;
    }
  };

  /** Probes every waiting actor's next step once per state; races and alternatives both use it. */
  const probeAll = () => {
    const probes = new Map<number, ReturnType<Execution["probe"]>>();
    for (let p = 0; p < nActors; p++) {
      const a = exec.actors[p]!;
      if (a.status === "parked" && a.pending) probes.set(p, exec.probe(p));
    }
    return probes;
  };
  /**
   * An actor whose next step is the very probe it had in the parent state
   * (it did not move, and nothing it reads changed) already had its races
   * with the older steps noted there: only the newest step can add one.
   */
  const detectRaces = (probes: Map<number, ReturnType<Execution["probe"]>>, parent?: Map<number, ReturnType<Execution["probe"]>>) => {
    if (!por) return;
    const newest = path.length - 1;
    for (const [p, pr] of probes) noteRace(p, pr.footprint, true, parent?.get(p) === pr && newest >= 0 ? newest : 0);
  };

  const push = (t: Transition, fp: Footprint) => {
    const j = path.length;
    const prev = actorClock[t.actor]!;
    const clock = prev.slice();
    for (let i = 0; i < j; i++) {
      const s = path[i]!;
      if (s.t.actor !== t.actor && conflicts(s.fp, fp)) for (let k = 0; k < nActors; k++) if (s.clock[k]! > clock[k]!) clock[k] = s.clock[k]!;
    }
    clock[t.actor] = j + 1;
    actorClock[t.actor] = clock;
    path.push({ t, fp, clock, prevActorClock: prev });
  };
  const pop = () => {
    const s = path.pop()!;
    actorClock[s.t.actor] = s.prevActorClock;
  };

  async function visit(depth: number, sleep: Map<number, Sleeper>, parentProbes?: Map<number, ReturnType<Execution["probe"]>>): Promise<Summary> {
    const key = exec.stateKeyHex();
    const cached = caching ? visited.get(key) : undefined;
    const summary: Summary = new Map();
    if (!cached) {
      res.states++;
      if (res.states > maxStates) { res.complete = false; res.stoppedBy = "states"; throw new Stop(); }
      if ((res.states & 255) === 0 && now() > deadline) { res.complete = false; res.stoppedBy = "seconds"; throw new Stop(); }
    }
    // Races of every actor's next step with the path so far (FG05, line 4),
    // at every state reached, whatever happens to it next.
    const probes = probeAll();
    detectRaces(probes, parentProbes);
    const en = enabledTransitions(exec, probes);
    if (en.length === 0) {
      res.executions++;
      if (opts.maxExecutions !== undefined && res.executions >= opts.maxExecutions) {
        res.complete = false;
        res.stoppedBy = "executions";
      }
      if (opts.collectEndStates) res.endStates.add(key);
      const v = checkAtEnd(exec, props, res.sometimesSeen);
      if (v) report(v);
      if (res.stoppedBy === "executions") throw new Stop();
      return summary;
    }
    if (depth >= maxSteps) {
      res.complete = false;
      res.stoppedBy ??= "steps";
      return summary;
    }
    if (cached && por) {
      // The subtree below was explored from another path: its steps race with this path's.
      for (const [actor, fp] of cached.summary) noteRace(actor, fp, false);
    }

    const enabledActors = new Set(en.map((t) => t.actor));
    const frame: Frame = { enabledActors, backtrack: new Set() };
    frames.push(frame);

    const isAwake = (t: Transition) => !(sleepSets && sleep.has(t.actor));
    let allowed: (t: Transition) => boolean = isAwake;
    if (cached) {
      // Explored before with sleep set `stored`: only what slept then and is awake now is new.
      const stored = cached.sleep;
      allowed = (t) => isAwake(t) && stored.has(t.actor);
      cached.sleep = new Set([...stored].filter((a) => sleep.has(a)));
    } else if (caching) {
      visited.set(key, { sleep: new Set(sleepSets ? sleep.keys() : []), summary });
    }

    const cp = exec.checkpoint();
    const done = new Map<number, Sleeper>();
    const doneActors = new Set<number>();
    if (!por || cached) {
      for (const t of en) if (allowed(t)) frame.backtrack.add(t.actor);
    } else {
      const first = en.find(allowed);
      if (first) frame.backtrack.add(first.actor);
    }
    try {
      for (;;) {
        const next = [...frame.backtrack].find((a) => !doneActors.has(a));
        if (next === undefined) break;
        doneActors.add(next);
        const todo = en.filter((t) => t.actor === next && allowed(t));
        for (let i = 0; i < todo.length; i++) {
          const t = todo[i]!;
          const taken = exec.stepNow(t);
          const rec = taken instanceof Promise ? await taken : taken;
          res.transitions++;
          mergeSummary(summary, t.actor, rec.footprint);
          push(t, rec.footprint);
          const v = checkAfterStep(exec, props, res.sometimesSeen);
          if (v) {
            report(v);
            detectRaces(probeAll()); // not explored below a violation, but its races still count
          } else {
            const child = new Map<number, Sleeper>();
            if (sleepSets) {
              for (const [a, z] of sleep) if (a !== t.actor && !conflicts(z.fp, rec.footprint)) child.set(a, z);
              for (const [a, z] of done) if (a !== t.actor && !conflicts(z.fp, rec.footprint)) child.set(a, z);
            }
            const below = await visit(depth + 1, child, probes);
            for (const [a, fp] of below) mergeSummary(summary, a, fp);
          }
          pop();
          await exec.restore(cp);
          let d = done.get(t.actor);
          if (!d) done.set(t.actor, (d = { actor: t.actor, fp: emptyFootprint() }));
          union(d.fp, rec.footprint);
        }
      }
    } finally {
      frames.pop();
    }
    exec.release(cp);
    if (cached) for (const [a, fp] of summary) mergeSummary(cached.summary, a, fp);
    return cached ? cached.summary : summary;
  }

  try {
    const v = checkAfterStep(exec, props, res.sometimesSeen);
    if (v) report(v);
    await visit(0, new Map());
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  res.collisionOdds = collisionOdds(res.states);
  return res;
}
