// Exhaustive search: depth-first over every interleaving that matters (and
// every value of every choice point), up to the bounds.
//
// Three reductions, each of which can be turned off to measure it, each in
// its own file:
// - dynamic partial-order reduction with source sets (dpor.ts): one actor
//   explored first from each state, the others when a race asks for them;
// - sleep sets (sleep-sets.ts): an actor explored from a state is not tried
//   again below its later siblings while only independent steps are taken;
// - state caching: a table of visited states keyed by the 64-bit state key
//   (state-table.ts; world fingerprint, each actor's position and
//   observation hash). A cached state is not explored again; its summary
//   (summaries.ts) replays what lies below it as races against the path that
//   reaches it again. Each visited state also keeps the sleep set it was
//   explored with, and reaching it again with fewer sleeping actors explores
//   those that woke up.
//
// Two more rules, for what the theory leaves out: a step into a state where
// an invariant fails (not explored further) disables every other actor, so
// it is dependent with every step; and steps that write an object an
// after-step invariant or "sometimes" property reads are dependent with each
// other, since such a check sees the order of independent writes
// (visibility.ts). docs/runtime.md has the soundness argument. Footprints
// are compared as bitsets (footprint-bits.ts).
//
// Going back to a parent state restores the store from a checkpoint (an undo
// log: cost proportional to what changed) and replays only the actors that
// moved, from their logs; that is cheaper than re-running the whole prefix
// from the start as a stateless search must.
//
// The search's own bookkeeping is checked as it goes (assert.ts): cheap
// checks always, costlier ones with `debug`, which property tests turn on.
// None of them changes what is explored.

import { add, clear, has, members, sameSet, within, wordsFor, type ActorSet } from "./actor-set";
import { InternalError, internal } from "./assert";
import { Races, type Frame } from "./dpor";
import { Execution, type ExecCheckpoint, type ExecutionSpec, type Probe, type Transition } from "./execution";
import { FootprintEncoder, covers, mergeBits, type Bits } from "./footprint-bits";
import { collisionOdds, hex64, type Hash64 } from "./hash";
import type { LiveCounts } from "./live";
import { checkAtEnd, type Properties, type Violation } from "./properties";
import { asleepInto, sleepAfter, type Sleepers } from "./sleep-sets";
import { StateTable } from "./state-table";
import { emptySummary, mergeProbes, mergeStep, mergeSummary, type Summary } from "./summaries";
import { Visibility, primeObserved } from "./visibility";

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
  /**
   * Check the search's own bookkeeping where that costs (happens-before
   * clocks, skipped race detections, the visited table, backtrack sets):
   * an InternalError when one is wrong. Same states, transitions and
   * executions as without; slower.
   */
  debug?: boolean;
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

export async function exploreExhaustive(spec: ExecutionSpec, props: Properties, opts: ExhaustiveOptions = {}): Promise<ExhaustiveResult> {
  const now = opts.now ?? (() => performance.now());
  const deadline = opts.maxSeconds === undefined ? Infinity : now() + opts.maxSeconds * 1000;
  // What the after-step checks read, kept across searches: if they turn out
  // to read more than was known when a search began, it is run again.
  const observed = new Set<string>();
  const afterStepChecks = props.invariants.some((i) => !i.atEnd) || props.sometimes.some((i) => !i.atEnd);
  if (((opts.por ?? true) || (opts.sleepSets ?? true)) && afterStepChecks) await primeObserved(spec, props, observed, opts.maxSteps ?? 1000);
  for (;;) {
    const search = new Search(spec, props, opts, new Visibility(observed), now, deadline);
    const res = await search.run();
    if (!search.visibility.stale || res.stoppedBy === "violation" || res.stoppedBy === "seconds") return res;
  }
}

/** Thrown to end a search early (a bound, a violation, or a stale search); the result says which. */
class Stop extends Error {}

/** A state being explored, on the depth-first stack (stack[i] is the state before path[i]). */
interface Node extends Frame {
  depth: number;
  /** The sleeping actors' footprints (their set is Frame.sleep). */
  sleepers: Sleepers;
  /** Each waiting actor's probe in this state (undefined: done, dead or failed). */
  probes: (Probe | undefined)[];
  /** Index in the visited table when the state was explored before, or -1. */
  cached: number;
  /** What lies below this state, as explored from here so far. */
  summary: Summary;
  /** Explored before with this sleep set: only what slept then and is awake now is new (every actor: not explored before). */
  stored: ActorSet;
  cp: ExecCheckpoint;
  /** Per actor explored here, the union of its alternatives' footprints (it sleeps in later siblings). */
  done: Sleepers;
  /** Index in Frame.order of the actor being explored, and its next alternative. */
  k: number;
  alt: number;
  /** The step taken to the child being explored, and its actor. */
  actor: number;
  fp: Bits | null;
}

/**
 * One search. `visibility.stale` after it when a check read something new
 * after a step that writes it had already been taken as invisible to
 * checks: the reduction may then have skipped an order of visible steps,
 * and the search must run again.
 */
class Search {
  // The decisions the options make, read on every state.
  private readonly caching: boolean;
  private readonly por: boolean;
  private readonly sleepSets: boolean;
  private readonly maxSteps: number;
  private readonly maxStates: number;
  private readonly stopAtFirst: boolean;
  private readonly loopHeads: boolean;
  private readonly debug: boolean;

  private readonly exec: Execution;
  private readonly nActors: number;
  private readonly res: ExhaustiveResult = {
    violations: [], states: 0, transitions: 0, executions: 0, complete: true,
    sometimesSeen: new Set(), endStates: new Set(), collisionOdds: 0,
  };
  private readonly enc: FootprintEncoder;
  /** Each visited state's summary, tagged with the sleep set it was explored with. */
  private readonly visited: StateTable<Summary>;
  /** The depth-first stack; races.path[i] is the step out of stack[i]. */
  private readonly stack: Node[] = [];
  private readonly races: Races;
  /** Nodes done with, for reuse (with their arrays), for the same reason as path steps (dpor.ts). */
  private readonly freeNodes: Node[] = [];
  private readonly scratchProbes: (Probe | undefined)[];
  /** Nobody asleep (shared, never changed). */
  private readonly noSleep: Sleepers;
  /** Words of a set of actors (actor-set.ts). */
  private readonly words: number;

  constructor(spec: ExecutionSpec, private readonly props: Properties, private readonly opts: ExhaustiveOptions, readonly visibility: Visibility, private readonly now: () => number, private readonly deadline: number) {
    this.caching = opts.caching ?? true;
    this.por = opts.por ?? true;
    this.sleepSets = opts.sleepSets ?? true;
    this.maxSteps = opts.maxSteps ?? 1000;
    this.maxStates = opts.maxStates ?? 1_000_000;
    this.stopAtFirst = opts.stopAtFirst ?? true;
    this.loopHeads = opts.loopHeads ?? true;
    this.debug = opts.debug ?? false;
    this.exec = new Execution(spec);
    this.nActors = this.exec.actors.length;
    // Visible writes are ordered for sleep sets as much as for DPOR: a state
    // where a check fails is a dead end, and an actor put to sleep after w
    // was explored before w, where its change with w's may have made one.
    this.enc = new FootprintEncoder(this.por || this.sleepSets ? visibility.seesWrite : null);
    this.words = wordsFor(this.nActors);
    this.visited = new StateTable<Summary>(this.words, this.debug);
    this.races = new Races(this.nActors, this.stack, this.debug);
    this.scratchProbes = new Array(this.nActors);
    this.noSleep = new Array<Bits | null>(this.nActors).fill(null);
  }

  async run(): Promise<ExhaustiveResult> {
    const { exec, res, stack, races } = this;
    await exec.start();
    try {
      const v = this.checkStep();
      if (v) this.report(v);
      this.enter(0, this.noSleep, null, null);
      // Depth first, with an explicit stack: a step awaits only when the actor's code must run.
      while (stack.length > 0) {
        const node = stack[stack.length - 1]!;
        const t = this.nextTransition(node);
        if (t === null) {
          this.finish(node);
          continue;
        }
        const taken = exec.stepNow(t, undefined, { probe: node.probes[node.actor]!, alt: node.alt - 1 });
        const rec = taken instanceof Promise ? await taken : taken;
        res.transitions++;
        const fp = this.enc.toBits(rec.footprint);
        races.push(t, fp);
        if (races.path.length !== stack.length) throw new InternalError(`${races.path.length} steps on the path for ${stack.length} states on the stack`);
        node.fp = fp;
        const violation = this.checkStep();
        // A state where an invariant fails is not explored further: the step
        // into it disables every other actor, so it depends on every step.
        if (violation) fp.all = true;
        mergeStep(node.summary, node.actor, fp);
        if (violation) {
          this.deadEnd(node, violation, fp);
          continue;
        }
        const child = this.sleepSets ? sleepAfter(node.sleepers, node.done, node.actor, fp, this.noSleep) : this.noSleep;
        const leaf = this.enter(node.depth + 1, child, node.probes, fp);
        if (leaf !== null) {
          mergeSummary(node.summary, leaf);
          this.undoStep(node);
        }
      }
      // Every state left as it was entered: nothing on the path, every checkpoint released.
      internal(races.path.length === 0 && exec.store.checkpointDepth === 0, () => `search ended with ${races.path.length} steps on the path, ${exec.store.checkpointDepth} checkpoints open`);
      if (this.debug) this.visited.verify();
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    res.collisionOdds = collisionOdds(res.states);
    return res;
  }

  /**
   * Arrives at a state: counts it, checks races, and either returns what lies
   * below it (nothing: an end state, the step bound) or pushes it on the stack
   * to be explored.
   */
  private enter(depth: number, sleep: Sleepers, parentProbes: (Probe | undefined)[] | null, newest: Bits | null): Summary | null {
    const { exec, visited } = this;
    const key = exec.stateKey(this.loopHeads);
    const cached = this.caching ? visited.indexOf(key[0], key[1]) : -1;
    if (cached < 0) this.countState();
    const summary = emptySummary(this.nActors);
    const recycled = this.freeNodes.pop();
    const probes = this.probeAll(recycled ? recycled.probes : new Array(this.nActors));
    // Races of every actor's next step with the path so far, at every state
    // reached, whatever happens to it next.
    if (this.por) this.races.detectRaces(probes, parentProbes, newest, this.enc);
    // The node's own sets are filled in place (a recycled node's, or new ones it takes).
    const enabled = recycled ? recycled.enabled : new Int32Array(this.words);
    clear(enabled);
    let anyEnabled = false;
    for (let p = 0; p < this.nActors; p++) {
      if (probes[p] !== undefined && exec.isEnabled(p)) {
        add(enabled, p);
        anyEnabled = true;
      }
    }
    // Nothing explored below: an end state, or the step bound (the first bound met is the one reported).
    if (!anyEnabled || depth >= this.maxSteps) {
      if (!anyEnabled) this.endOfExecution(key, summary, probes);
      else {
        this.res.complete = false;
        this.res.stoppedBy ??= "steps";
      }
      if (recycled) this.freeNodes.push(recycled);
      return summary;
    }
    if (cached >= 0 && this.por) this.races.summaryRaces(visited.value(cached));

    const asleep = recycled ? recycled.sleep : new Int32Array(this.words);
    if (this.sleepSets) asleepInto(sleep, asleep);
    else clear(asleep);
    const node = this.node(recycled, probes, enabled, asleep, depth, sleep, cached, summary);
    const stored = node.stored;
    if (cached >= 0) {
      visited.tagInto(cached, stored);
      visited.keepInTag(cached, asleep);
    } else {
      for (let w = 0; w < this.words; w++) stored[w] = -1; // not explored before: every actor is new
      if (this.caching) visited.add(key[0], key[1], summary, asleep);
    }
    // Enabled, awake and new since an earlier visit, in actor order; DPOR takes one first, races add the rest.
    const first = this.por && cached < 0;
    for (let w = 0; w < this.words; w++) {
      for (let bits = enabled[w]! & ~asleep[w]! & stored[w]!; bits !== 0; bits &= bits - 1) {
        this.races.addBacktrack(node, (w << 5) + 31 - Math.clz32(bits & -bits));
        if (first) {
          this.stack.push(node);
          return null;
        }
      }
    }
    this.stack.push(node);
    return null;
  }

  /** A new state not yet counted: counts it, against the state and time bounds. */
  private countState(): void {
    const res = this.res;
    res.states++;
    if (res.states > this.maxStates) this.stop("states");
    if ((res.states & 255) === 0) {
      const live = this.opts.live;
      if (live) { live.states = res.states; live.transitions = res.transitions; live.executions = res.executions; }
      if (this.now() > this.deadline) this.stop("seconds");
    }
  }

  /** A state where nothing can move: the end of an execution, checked. */
  private endOfExecution(key: Hash64, summary: Summary, probes: (Probe | undefined)[]): void {
    const { res, exec } = this;
    res.executions++;
    const bounded = this.opts.maxExecutions !== undefined && res.executions >= this.opts.maxExecutions;
    if (bounded) {
      res.complete = false;
      res.stoppedBy = "executions";
    }
    if (this.opts.collectEndStates) res.endStates.add(hex64(this.loopHeads ? key : exec.stateKey(true)));
    const v = checkAtEnd(exec, this.props, res.sometimesSeen);
    if (v) this.report(v);
    if (bounded) throw new Stop();
    // Blocked actors' steps belong below it (they race, though they never run here).
    if (this.por && this.caching) mergeProbes(summary, probes, this.enc);
  }

  /**
   * A node for a state about to be explored, reusing one done with when
   * there is one: then `enabled` and `asleep` are its own sets, filled in
   * place. Its `stored` is for the caller to fill.
   */
  private node(recycled: Node | undefined, probes: (Probe | undefined)[], enabled: ActorSet, asleep: ActorSet, depth: number, sleepers: Sleepers, cached: number, summary: Summary): Node {
    const cp = this.exec.checkpoint();
    if (!recycled) {
      return {
        enabled, backtrack: new Int32Array(this.words), order: [], sleep: asleep, depth, sleepers, probes, cached, summary, stored: new Int32Array(this.words), cp,
        done: new Array<Bits | null>(this.nActors).fill(null), k: 0, alt: 0, actor: -1, fp: null,
      };
    }
    const node = recycled;
    clear(node.backtrack);
    node.order.length = 0;
    node.depth = depth;
    node.sleepers = sleepers;
    node.cached = cached;
    node.summary = summary;
    node.cp = cp;
    node.done.fill(null);
    node.k = 0;
    node.alt = 0;
    node.actor = -1;
    node.fp = null;
    return node;
  }

  /**
   * The next transition to explore from a state, or null when its backtrack
   * set is exhausted (races may still add to it). An actor a reversal added
   * that sleeps here, or that an earlier visit explored (not in `stored`), is
   * passed over: what it would explore is covered.
   */
  private nextTransition(node: Node): Transition | null {
    const order = node.order;
    for (;;) {
      if (node.k >= order.length) return null;
      const a = order[node.k]!;
      const alts = node.probes[a]!.alternatives; // probed: backtrack sets hold enabled actors only
      if (has(node.sleep, a) || !has(node.stored, a) || node.alt >= alts.length) {
        node.k++;
        node.alt = 0;
        continue;
      }
      node.actor = a;
      return alts[node.alt++]!;
    }
  }

  /** A step into a state where an invariant fails: reported, and not explored further, but its races still count. */
  private deadEnd(node: Node, violation: Violation, fp: Bits): void {
    this.report(violation);
    if (this.por) {
      const after = this.probeAll(this.scratchProbes);
      this.races.detectRaces(after, node.probes, fp, this.enc);
      if (this.caching) mergeProbes(node.summary, after, this.enc);
    }
    this.undoStep(node);
  }

  /** Back from the step to a child: the path, the world and the actors as they were. */
  private undoStep(node: Node): void {
    this.races.pop();
    this.exec.restoreNow(node.cp);
    mergeBits(node.done, node.done, node.actor, node.fp!);
  }

  /** A state fully explored: what lies below it goes to its parent. */
  private finish(node: Node): void {
    const { stack, visited } = this;
    if (this.debug) this.verifyNode(node);
    stack.pop();
    this.exec.release(node.cp);
    // The steps waiting here belong below it too (a blocked one may never run below).
    if (this.por && this.caching) mergeProbes(node.summary, node.probes, this.enc);
    let below = node.summary;
    if (node.cached >= 0) {
      const all = visited.value(node.cached);
      mergeSummary(all, below);
      below = all;
    }
    const parent = stack[stack.length - 1];
    if (parent) {
      mergeSummary(parent.summary, below);
      this.undoStep(parent);
    }
    this.freeNodes.push(node);
  }

  /** Probes every waiting actor's next step once per state; races, alternatives and summaries use it. */
  private probeAll(probes: (Probe | undefined)[]): (Probe | undefined)[] {
    for (let p = 0; p < this.nActors; p++) {
      const a = this.exec.actors[p]!;
      probes[p] = a.status === "parked" && a.pending ? this.exec.probe(p) : undefined;
    }
    return probes;
  }

  /** The after-step checks; a stale search stops here (what remains of it is worth nothing). */
  private checkStep(): Violation | undefined {
    const v = this.visibility.checkStep(this.exec, this.props, this.res.sometimesSeen);
    if (this.visibility.stale) throw new Stop();
    return v;
  }

  private report(v: Violation): void {
    const res = this.res;
    if (res.violations.some((f) => f.invariant === v.invariant)) return;
    res.violations.push({ ...v, path: this.races.path.map((p) => ({ ...p.t })) });
    if (this.stopAtFirst) this.stop("violation");
  }

  private stop(reason: NonNullable<ExhaustiveResult["stoppedBy"]>): never {
    this.res.complete = false;
    this.res.stoppedBy = reason;
    throw new Stop();
  }

  /** Debug: a state done with: its backtrack set is its order's actors, once each, all enabled; its summary holds every step taken from it. */
  private verifyNode(node: Node): void {
    const ordered = new Int32Array(this.words);
    for (const q of node.order) {
      internal(!has(ordered, q), () => `actor ${q} twice in a backtrack order`);
      add(ordered, q);
    }
    internal(sameSet(ordered, node.backtrack), () => `backtrack set ${members(node.backtrack, this.nActors)} but order ${node.order.join(",")}`);
    internal(within(node.backtrack, node.enabled), () => `backtrack set ${members(node.backtrack, this.nActors)} outside the enabled actors ${members(node.enabled, this.nActors)}`);
    for (let a = 0; a < this.nActors; a++) {
      const d = node.done[a];
      internal(!d || (node.summary[a] !== null && covers(node.summary[a]!, d)), () => `the summary of a state lacks actor ${a}'s steps from it`);
    }
  }
}
