// One execution of a scenario: the world (the store), the actors, and the
// step that runs one of them. Strategies (replay, random, PCT, exhaustive)
// decide which transition to take; this file only knows how to take it, how
// to record it, and how to go back to an earlier state: restore the store
// from a checkpoint and bring moved actors back by replaying their logs.

import { formatValue } from "./format-value";
import { ActorRuntime, DivergenceError, type ActorStatus, type Channel, type Outcome } from "./actor";
import { fmix, hex64, type Hash64 } from "./hash";
import { SysError, type KernelEvent, type Op, type StepContext, type Who } from "./op";
import { Store, emptyFootprint, sameSeen, type Footprint } from "./store";

export interface ActorSpec {
  name: string;
  domain: string;
  /** A kernel thread or service that may wait forever: not a deadlock when the rest are done. */
  daemon?: boolean;
  /** The explorer also tries killing it at each of its steps. */
  mayCrash?: boolean;
  body: (ch: Channel, who: Who) => Promise<void>;
}

/**
 * State that lives outside the store (the WebAssembly data plane's image
 * bytes): checkpointed and restored with it, so that going back in an
 * exploration, or undoing a probe, also undoes what a step wrote there. Its
 * changes must also show in the store (a write bumps a counter there), since
 * only the store enters footprints and fingerprints.
 */
export interface ExternalState {
  /** Awaited once by `Execution.start`, before `setup` (loading WebAssembly). */
  ready?(): Promise<void>;
  /** Back to the initial contents; called by `setup`'s caller before each fresh execution. */
  reset(): void;
  checkpoint(): number;
  restore(id: number): void;
  release(id: number): void;
  /** Whether anything changed since checkpoint `id` (unknown: assume it did). */
  changedSince?(id: number): boolean;
}

export interface ExecutionSpec {
  actors: ActorSpec[];
  /** Builds the initial world. */
  setup(store: Store): void;
  /** What the kernel does when an actor dies (closes its fds...). */
  onKill?(ctx: StepContext): void;
  /** State outside the store that steps change (see ExternalState). One live Execution per spec at a time uses it. */
  external?: ExternalState;
}

/** Which actor moves, killed or not, and the values of the step's choice points. */
export interface Transition {
  actor: number;
  kill?: boolean;
  choices?: number[];
}

export interface StepRecord {
  step: number;
  actor: number;
  call: string;
  args: readonly unknown[];
  outcome: Outcome;
  footprint: Footprint;
  /** Choice points met: name, options and the value taken. */
  choicePoints: { name: string; options: number; value: number }[];
  events: KernelEvent[];
}

export interface Probe {
  /** Everything any alternative would read or write (the guard's reads included). */
  footprint: Footprint;
  alternatives: Transition[];
  /** The footprint of each alternative alone (the guard's reads included), index for index. */
  footprints: Footprint[];
  /** Left to the explorer: its own form of these footprints, for as long as this probe is reused. */
  compiled?: unknown;
  /**
   * Per alternative, what its run did (absent where it cannot be replayed:
   * the step changed state outside the store, or threw a bug), so that
   * taking it in the state it was probed in applies that instead of running
   * the model again (Execution.stepNow).
   */
  redo?: (Redo | undefined)[];
}

/** A probed step's effects: its writes as they ended, its outcome, its events and choice points. */
interface Redo {
  writes: [string, unknown][];
  outcome: Outcome;
  events: KernelEvent[];
  choicePoints: StepRecord["choicePoints"];
}

interface ProbeCache {
  oh0: number;
  oh1: number;
  status: string;
  reads: string[];
  /** Store.seen of each read, when probed. */
  seen: unknown[];
  result: Probe;
}

/** Probes kept per actor and position. */
const PROBES_KEPT = 8;

export interface ExecCheckpoint {
  store: number;
  external: number;
  positions: number[];
  steps: number;
}

/** An actor's code threw something that is not a SysError: a bug in the script, which ends the run. */
export class ScriptError extends Error {
  constructor(readonly actor: string, readonly error: unknown) {
    super(`${actor}: ${error instanceof Error ? `${error.name}: ${error.message}` : formatValue(error)}`);
    this.name = "ScriptError";
  }
}

const STATUS_CODE: Record<ActorStatus, number> = { parked: 1, done: 2, failed: 3, killed: 4, diverged: 5 };
const NONE_OBSERVED: Hash64 = [0, 0];

export class Execution {
  readonly store = new Store();
  readonly actors: ActorRuntime[];
  readonly steps: StepRecord[] = [];

  constructor(readonly spec: ExecutionSpec) {
    this.actors = spec.actors.map((a, index) => {
      const who: Who = { index, name: a.name, domain: a.domain };
      return new ActorRuntime(who, (ch) => a.body(ch, who), a.daemon ?? false, a.mayCrash ?? false);
    });
  }

  /** Builds the world and runs every actor to its first call. */
  async start(): Promise<void> {
    const ext = this.spec.external;
    if (ext) {
      await ext.ready?.();
      ext.reset();
    }
    this.spec.setup(this.store);
    for (const a of this.actors) {
      await a.start();
      this.checkScript(a);
    }
  }

  private checkScript(a: ActorRuntime): void {
    if (a.divergence) throw a.divergence;
    if (a.status === "failed" && !(a.error instanceof SysError)) throw new ScriptError(a.who.name, a.error);
  }

  /** Actors whose pending step may run now (guards evaluated, reads not recorded). */
  enabled(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.actors.length; i++) if (this.isEnabled(i)) out.push(i);
    return out;
  }

  isEnabled(i: number): boolean {
    const a = this.actors[i]!;
    if (a.status !== "parked" || !a.pending) return false;
    const ready = a.pending.ready;
    return ready === undefined || ready(this.store);
  }

  /** The footprint of evaluating an actor's guard (a blocked step depends on what would unblock it). */
  guardFootprint(i: number): Footprint {
    const fp = emptyFootprint();
    const op = this.actors[i]!.pending;
    if (op?.ready) {
      const saved = this.store.recording;
      this.store.recording = fp;
      op.ready(this.store);
      this.store.recording = saved;
    }
    return fp;
  }

  /**
   * What an actor's pending step would read and write if it ran now, with
   * every value of its choice points and, for an actor that may crash, its
   * death: the step is run against the store and undone, and the actor is
   * not told. The explorer's race detection needs this before choosing.
   */
  probe(i: number): Probe {
    // A probe depends only on the actor's state (position and observations)
    // and the values of the objects it read: reuse one while those are the
    // same. Values are compared by reference first (Store.seen), so a probe
    // made before the search went down a branch is found again when it
    // comes back: each actor keeps a few per position.
    const a = this.actors[i]!;
    const oh = a.observedHash;
    const byPosition = (this.probes[i] ??= []);
    const here = (byPosition[a.position] ??= []);
    for (let e = 0; e < here.length; e++) {
      const c = here[e]!;
      if (c.oh0 !== oh[0] || c.oh1 !== oh[1] || c.status !== a.status) continue;
      let same = true;
      for (let j = 0; j < c.reads.length && same; j++) same = sameSeen(this.store.seen(c.reads[j]!), c.seen[j]);
      if (!same) continue;
      if (e > 0) {
        here.splice(e, 1);
        here.unshift(c);
      }
      return c.result;
    }
    const result = this.probeNow(i);
    const reads = [...result.footprint.reads];
    here.unshift({ oh0: oh[0], oh1: oh[1], status: a.status, reads, seen: reads.map((k) => this.store.seen(k)), result });
    if (here.length > PROBES_KEPT) here.pop();
    return result;
  }

  /** Per actor, per position: the probes kept (most recently used first). */
  private readonly probes: ProbeCache[][][] = [];

  private probeNow(i: number): Probe {
    const a = this.actors[i]!;
    const op = a.pending;
    const guard = this.guardFootprint(i);
    if (!op) return { footprint: guard, alternatives: [], footprints: [], compiled: undefined };
    const alternatives: Transition[] = [{ actor: i }];
    const footprints: Footprint[] = [];
    const redo: (Redo | undefined)[] = [];
    const guardReads = op.ready ? [...guard.reads] : [];
    if (a.mayCrash) alternatives.push({ actor: i, kill: true });
    for (let k = 0; k < alternatives.length && k < 64; k++) {
      const t = alternatives[k]!;
      const cp = this.store.checkpoint();
      const ext = this.spec.external;
      const xcp = ext ? ext.checkpoint() : 0;
      const saved = this.store.recording;
      const own: Footprint = k === 0 ? guard : { reads: new Set(guardReads), writes: new Set() };
      footprints.push(own);
      this.store.recording = own;
      const points: StepRecord["choicePoints"] = [];
      const events: KernelEvent[] = [];
      const given = t.choices ?? [];
      const ctx = this.context(a, given, points, events);
      let outcome: Outcome | undefined;
      try {
        if (t.kill) {
          this.spec.onKill?.(ctx);
          outcome = { ok: true, value: null };
        } else outcome = { ok: true, value: op.run(ctx) };
      } catch (e) {
        // an errno, or a blocked step run early: its reads so far still count
        if (e instanceof SysError) outcome = { ok: false, error: e };
      } finally {
        this.store.recording = saved;
        // What it did, to apply again when this very step is taken (stepNow):
        // only for a step that changed nothing outside the store.
        const replayable = outcome !== undefined && (!ext || ext.changedSince?.(xcp) === false);
        redo[k] = replayable ? { writes: this.store.capture(own.writes), outcome: outcome!, events, choicePoints: points } : undefined;
        this.store.restore(cp);
        this.store.release(cp);
        if (ext) {
          ext.restore(xcp);
          ext.release(xcp);
        }
      }
      for (let j = given.length; j < points.length; j++) {
        for (let v = 1; v < points[j]!.options; v++) {
          alternatives.push({ actor: i, kill: t.kill, choices: [...points.slice(0, j).map((p) => p.value), v] });
        }
      }
    }
    // The union of the alternatives' footprints (the first one alone, most often).
    let fp = footprints[0]!;
    if (footprints.length > 1) {
      fp = emptyFootprint();
      for (const own of footprints) {
        for (const r of own.reads) fp.reads.add(r);
        for (const w of own.writes) fp.writes.add(w);
      }
    }
    // Past 64 probed alternatives, the rest are offered unprobed: they count with the union.
    while (footprints.length < alternatives.length) footprints.push(fp);
    return { footprint: fp, alternatives, footprints, compiled: undefined, redo };
  }

  /** Actors parked on a guard that does not hold. */
  blocked(): number[] {
    return this.actors.flatMap((a, i) => (a.status === "parked" && a.pending && !this.isEnabled(i) ? [i] : []));
  }

  /**
   * Runs one transition. Choice values not given take 0, or what `choose`
   * draws; the record says which points were met and the values taken.
   */
  async step(t: Transition, choose?: (name: string, options: number) => number): Promise<StepRecord> {
    return this.stepNow(t, choose);
  }

  /**
   * step() without the promise when none is needed: a step whose outcome
   * repeats the one the actor already observed there completes at once
   * (the actor's code does not run), which is most steps of an exploration.
   * Hot loops call this and await only what is a promise.
   */
  stepNow(t: Transition, choose?: (name: string, options: number) => number, probed?: { probe: Probe; alt: number }): StepRecord | Promise<StepRecord> {
    const a = this.actors[t.actor]!;
    const op = a.pending;
    if (!op || a.status !== "parked") throw new Error(`actor ${a.who.name} has no pending step`);
    const redo = probed?.probe.redo?.[probed.alt];
    if (redo !== undefined) return this.replayStep(t, probed!.probe.footprints[probed!.alt]!, redo);
    const fp = emptyFootprint();
    const choicePoints: StepRecord["choicePoints"] = [];
    const events: KernelEvent[] = [];
    const ctx = this.context(a, t.choices ?? [], choicePoints, events, choose);
    const prev = this.store.recording;
    this.store.recording = fp;
    let outcome: Outcome;
    let call = op.call;
    let args = op.args;
    try {
      // The guard's reads belong to the step, a death included: it is offered only while the guard holds.
      if (op.ready) op.ready(this.store);
      if (t.kill) {
        call = "<killed>";
        args = [op.call];
        this.spec.onKill?.(ctx);
        outcome = { ok: true, value: null };
      } else {
        outcome = { ok: true, value: op.run(ctx) };
      }
    } catch (e) {
      if (!(e instanceof SysError)) throw e; // a bug in a model, not an outcome
      outcome = { ok: false, error: e };
    } finally {
      this.store.recording = prev;
    }
    return this.finishStep(a, t, { step: this.steps.length, actor: t.actor, call, args, outcome, footprint: fp, choicePoints, events });
  }

  /**
   * Takes a step by applying what its probe recorded, in the state it was
   * probed in (the caller's word): the same writes, outcome, events and
   * choice points as running it, since a step is a function of the values
   * it reads, and those are the probe's. Most steps of an exploration are
   * taken this way, and the model's code runs only in probes.
   */
  private replayStep(t: Transition, footprint: Footprint, redo: Redo): StepRecord | Promise<StepRecord> {
    const a = this.actors[t.actor]!;
    const op = a.pending!;
    this.store.apply(redo.writes);
    return this.finishStep(a, t, {
      step: this.steps.length, actor: t.actor,
      call: t.kill ? "<killed>" : op.call, args: t.kill ? [op.call] : op.args,
      outcome: redo.outcome, footprint, choicePoints: redo.choicePoints.map((c) => ({ ...c })), events: [...redo.events],
    });
  }

  /**
   * The context a step's code runs with. A choice point takes the value
   * given for it, else what `choose` draws, else 0; a value out of range
   * (a schedule made for another version of the model) takes 0 too, so that
   * the record says what was taken.
   */
  private context(a: ActorRuntime, given: readonly number[], points: StepRecord["choicePoints"], events: KernelEvent[], choose?: (name: string, options: number) => number): StepContext {
    return {
      store: this.store,
      who: a.who,
      choose: (name, options) => {
        const value = points.length < given.length ? given[points.length]! : choose ? choose(name, options) : 0;
        points.push({ name, options, value: value >= 0 && value < options ? value : 0 });
        return points[points.length - 1]!.value;
      },
      emit: (e) => { events.push(e); },
    };
  }

  /** A step taken (run or replayed): recorded, and its outcome delivered to the actor (or the actor killed). */
  private finishStep(a: ActorRuntime, t: Transition, rec: StepRecord): StepRecord | Promise<StepRecord> {
    this.steps.push(rec);
    if (t.kill) a.kill();
    else {
      const delivered = a.advance(rec.outcome);
      if (delivered) return delivered.then(() => { this.checkScript(a); return rec; });
    }
    this.checkScript(a);
    return rec;
  }

  /**
   * 64-bit key of the state: the world plus each actor's position and what
   * it has observed; with `loopHeads` (the default), a daemon waiting at its
   * loop head counts as one state whatever rounds it ran (Op.loopHead), and
   * after it by what it observed since.
   */
  stateKey(loopHeads = true): Hash64 {
    const f = this.store.fingerprint();
    let h0 = f[0];
    let h1 = f[1];
    // Per actor, (position, status) and the observation hash, mixed in order without allocating.
    for (const a of this.actors) {
      // At a loop head: position -1 and no observations, whatever rounds came before.
      const head = loopHeads && a.atLoopHead;
      const o = head ? NONE_OBSERVED : loopHeads ? a.loopObservedHash : a.observedHash;
      const tag = (head ? -1 : loopHeads ? a.loopPosition : a.position) * 8 + STATUS_CODE[a.status];
      h0 = fmix((Math.imul(h0, 31) ^ fmix((o[0] ^ Math.imul(tag, 0x9e3779b1)) >>> 0)) >>> 0);
      h1 = fmix((Math.imul(h1, 37) + fmix((o[1] + Math.imul(tag, 0x85ebca6b)) >>> 0)) >>> 0);
    }
    return [h0, h1];
  }
  stateKeyHex(): string {
    return hex64(this.stateKey());
  }

  checkpoint(): ExecCheckpoint {
    return { store: this.store.checkpoint(), external: this.spec.external?.checkpoint() ?? 0, positions: this.actors.map((a) => a.position), steps: this.steps.length };
  }

  /** Back to a checkpoint, which stays open. Actors only move back in their logs: nothing runs. */
  async restore(cp: ExecCheckpoint): Promise<void> {
    this.restoreNow(cp);
  }

  /** restore() without the promise (nothing in it waits): for hot loops. */
  restoreNow(cp: ExecCheckpoint): void {
    this.store.restore(cp.store);
    this.spec.external?.restore(cp.external);
    this.steps.length = cp.steps;
    for (let i = 0; i < this.actors.length; i++) this.actors[i]!.moveTo(cp.positions[i]!);
  }

  release(cp: ExecCheckpoint): void {
    this.store.release(cp.store);
    this.spec.external?.release(cp.external);
  }
}

export { DivergenceError };
export type { Op };
