// An actor's life in the runtime: an async function that parks at every
// call until the scheduler runs the call's step.
//
// Actors are opaque closures, but each is a deterministic function of the
// results it has observed. So the runtime keeps, per actor, a log of
// (call, outcome) and a *position* in it: the actor's state in the branch
// being explored. Going back to an earlier state only moves the position
// (nothing runs). Going forward again replays the logged call: if it
// yields the logged outcome, the position advances and the actor's code is
// not involved at all; only when an outcome differs (or the log runs out)
// does the live incarnation of the actor have to be at that position, and
// if it is ahead, the actor is restarted and answered from its log up to
// there (no world involved). Exploration mostly revisits the same outcomes,
// so most steps never touch the actor's code.

import { callText } from "./format-value";
import { canonical, hashString, mix, type Hash64 } from "./hash";
import { SysError, type Op, type Who } from "./op";

export type Outcome = { ok: true; value: unknown } | { ok: false; error: SysError };

interface Entry {
  /** The call the actor made after `index` observations. */
  op: Op;
  argsText: string;
  /** Its outcome, once the step has run in some branch; "kill" when the actor died there. */
  outcome?: Outcome | "kill";
  outcomeText?: string;
  /** Hash of the observations up to and including this one. */
  hash?: Hash64;
  /** The same since the last loop head (`Op.loopHead`), and how many observations that is. */
  loopHash?: Hash64;
  sinceLoopHead?: number;
}

/** Where the chain since a loop head starts (not [0, 0]: the start of the actor is another state). */
const LOOP_SEED: Hash64 = [0x9e3779b9, 0x7f4a7c15];

/** How an actor's code talks to the runtime; the API layer wraps it into a `Sys`. */
export interface Channel {
  call<R>(op: Op<R>): Promise<R>;
}

/**
 * A kernel daemon's body: the op `makeOp` makes, again and again. Each round
 * starts from nothing the last one left, so each call is a loop head
 * (Op.loopHead): how many rounds ran is not part of the state.
 */
export function daemonLoop(makeOp: () => Op<void>): (ch: Channel) => Promise<void> {
  return async (ch) => {
    for (;;) await ch.call({ ...makeOp(), loopHead: true });
  };
}

export type ActorStatus = "parked" | "done" | "failed" | "killed" | "diverged";

/** A replay that no longer matches what the actor does: the script was edited. */
export class DivergenceError extends Error {
  constructor(readonly actor: string, readonly position: number, readonly expected: string, readonly got: string) {
    super(`${actor} diverged at its call #${position + 1}: the schedule expected ${expected}, the script now calls ${got}`);
    this.name = "DivergenceError";
  }
}

function outcomeText(o: Outcome): string {
  if (!o.ok) return `!${o.error.errno}:${o.error.message}`;
  const v = o.value;
  // Most results are small scalars: skip the general canonical form for them.
  if (v === undefined) return "=u";
  if (typeof v === "number" || typeof v === "boolean") return `=${v}`;
  if (typeof v === "string") return `=${JSON.stringify(v)}`;
  return `=${canonical(v)}`;
}

/**
 * What a script is handed: its own copy of an object result. A script may
 * change what it gets (sort a directory listing in place); the log, and the
 * probes whose outcomes later steps reuse, keep theirs unchanged.
 */
function handOver(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null && !ArrayBuffer.isView(v)) return v;
  try {
    return structuredClone(v);
  } catch {
    return v; // something that cannot be copied (a function inside): handed as it is
  }
}

export class ActorRuntime {
  /** Calls and outcomes: entries before `position` are this branch's past; later ones a remembered future. */
  private readonly log: Entry[] = [];
  private pos = 0;
  /** How the live incarnation ended, after `endAt` observations (or -1 while it runs). */
  private endAt = -1;
  private endStatus: ActorStatus = "done";
  private endError: unknown = undefined;
  /** Observations the live incarnation has consumed; -1 when there is none. */
  private liveAt = -1;
  private generation = 0;
  private replayUntil = 0;
  private replayed = 0;
  private resolvePending: ((v: unknown) => void) | null = null;
  private rejectPending: ((e: unknown) => void) | null = null;
  private onPark: (() => void) | null = null;
  divergence: DivergenceError | null = null;

  constructor(
    readonly who: Who,
    private readonly body: (ch: Channel) => Promise<void>,
    readonly daemon: boolean,
    readonly mayCrash: boolean,
  ) {}

  get position(): number {
    return this.pos;
  }

  get status(): ActorStatus {
    if (this.pos > 0 && this.log[this.pos - 1]!.outcome === "kill") return "killed";
    if (this.pos === this.endAt) return this.endStatus;
    return "parked";
  }

  /** The call the actor waits in at this position, or null. */
  get pending(): Op | null {
    return this.status === "parked" ? this.log[this.pos]?.op ?? null : null;
  }

  /** The error that ended the actor (an uncaught SysError, or a bug in the script). */
  get error(): unknown {
    return this.status === "failed" || this.status === "diverged" ? this.endError : undefined;
  }

  /** Hash of everything observed so far: with the position, it stands for the actor's local state. */
  get observedHash(): Hash64 {
    return this.pos === 0 ? [0, 0] : this.log[this.pos - 1]!.hash!;
  }

  /**
   * The actor's local state as a state key counts it when loop heads are
   * honoured: waiting at a loop head (`atLoopHead`), one state whatever came
   * before; after one, what it observed since (how many observations, and
   * their hash); before any, the same as `position` and `observedHash`.
   */
  get atLoopHead(): boolean {
    return this.log[this.pos]?.op.loopHead === true && this.status === "parked";
  }
  get loopPosition(): number {
    return this.pos === 0 ? 0 : this.log[this.pos - 1]!.sinceLoopHead!;
  }
  get loopObservedHash(): Hash64 {
    return this.pos === 0 ? [0, 0] : this.log[this.pos - 1]!.loopHash!;
  }

  /** Records observation `at` (its text given) in both hash chains. */
  private observe(at: number, text: string): void {
    const e = this.log[at]!;
    const h = hashString(text);
    const prev = at === 0 ? undefined : this.log[at - 1]!;
    e.hash = mix(prev ? prev.hash! : [0, 0], h);
    // A loop head starts the second chain again: what came before it is not the actor's state.
    if (e.op.loopHead) {
      e.loopHash = mix(LOOP_SEED, h);
      e.sinceLoopHead = 1;
    } else {
      e.loopHash = mix(prev ? prev.loopHash! : [0, 0], h);
      e.sinceLoopHead = (prev ? prev.sinceLoopHead! : 0) + 1;
    }
  }

  /** Starts the actor and runs it to its first call. */
  async start(): Promise<void> {
    this.log.length = 0;
    this.pos = 0;
    await this.incarnate(0);
  }

  /** A new live incarnation, answered from the log up to `at` observations, parked at its next call. */
  private async incarnate(at: number): Promise<void> {
    const gen = ++this.generation;
    this.resolvePending = this.rejectPending = null; // the previous incarnation is abandoned where it waits
    this.endAt = -1;
    this.divergence = null;
    this.replayUntil = at;
    this.replayed = 0;
    this.liveAt = at;
    const parked = new Promise<void>((resolve) => { this.onPark = resolve; });
    const channel: Channel = { call: (op) => this.call(gen, op) as Promise<never> };
    let run: Promise<void>;
    try {
      run = this.body(channel);
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      () => { if (gen === this.generation) this.end("done", undefined); },
      (e) => { if (gen === this.generation) this.end(e instanceof DivergenceError ? "diverged" : "failed", e); },
    );
    await parked;
  }

  private end(status: ActorStatus, error: unknown): void {
    this.endAt = this.liveAt;
    this.endStatus = status;
    this.endError = error;
    this.log.length = this.liveAt; // nothing follows the end
    this.wake();
  }

  private call(gen: number, op: Op): Promise<unknown> {
    if (gen !== this.generation) return new Promise(() => {}); // a stale incarnation: never resumes
    const argsText = canonical(op.args);
    if (this.replayed < this.replayUntil) {
      const e = this.log[this.replayed]!;
      if (e.op.call !== op.call || e.argsText !== argsText) {
        this.divergence = new DivergenceError(this.who.name, this.replayed, callText(e.op.call, e.op.args), callText(op.call, op.args));
        return Promise.reject(this.divergence);
      }
      e.op = op; // the new incarnation's op (same call and arguments)
      this.replayed++;
      const o = e.outcome as Outcome;
      return o.ok ? Promise.resolve(handOver(o.value)) : Promise.reject(o.error);
    }
    if (this.resolvePending !== null) {
      // The previous call has not returned: a call was not awaited.
      return Promise.reject(new Error(`${this.who.name} made a second call (${op.call}) while ${this.log[this.liveAt]?.op.call ?? "another"} had not returned: await every call`));
    }
    // A new call: it is the entry at liveAt (replacing any remembered future there).
    const known = this.log[this.liveAt];
    if (!known || known.op.call !== op.call || known.argsText !== argsText) {
      this.log.length = this.liveAt;
      this.log.push({ op, argsText });
    } else {
      known.op = op;
    }
    return new Promise((resolve, reject) => {
      this.resolvePending = resolve;
      this.rejectPending = reject;
      this.wake();
    });
  }

  private wake(): void {
    const f = this.onPark;
    this.onPark = null;
    f?.();
  }

  /** Moves to an earlier (or remembered later) position of this branch: nothing runs. */
  moveTo(position: number): void {
    this.pos = position;
  }

  /**
   * The step at this position ran with `outcome`. If the log already has the
   * same outcome here, only the position moves; otherwise the live actor is
   * brought to this position (restarted if it is ahead) and told.
   */
  advance(outcome: Outcome): Promise<void> | undefined {
    const at = this.pos;
    const e = this.log[at]!;
    const old = e.outcome;
    if (old !== undefined && old !== "kill" && old.ok && outcome.ok && old.value === outcome.value) {
      const t = typeof outcome.value;
      if (t === "number" || t === "string" || t === "boolean" || t === "undefined" || outcome.value === null) {
        this.pos = at + 1; // the same scalar as before: its text is the same, and the actor's code need not run
        return undefined;
      }
    }
    const text = outcomeText(outcome);
    if (e.outcome !== undefined && e.outcome !== "kill" && e.outcomeText === text) {
      this.pos = at + 1; // the same outcome as before: the actor's code need not run
      return undefined;
    }
    return this.deliverNew(at, e, outcome, text);
  }

  private async deliverNew(at: number, e: Entry, outcome: Outcome, text: string): Promise<void> {
    // A new outcome here: whatever was remembered after it is void.
    this.log.length = at + 1;
    e.outcome = outcome;
    e.outcomeText = text;
    this.observe(at, `${e.op.call}(${e.argsText})${text}`);
    if (this.endAt > at) this.endAt = -1;
    if (this.liveAt !== at || this.resolvePending === null) {
      await this.incarnate(at);
      if (this.divergence) return;
      if (this.log[at] !== e || this.resolvePending === null) {
        // Run again on the same observations, the actor did something else: not deterministic.
        this.divergence = new DivergenceError(this.who.name, at, `${e.op.call}(${e.argsText})`, this.log[at] ? `${this.log[at]!.op.call}(${this.log[at]!.argsText})` : "no call (it ended)");
        return;
      }
    }
    const resolve = this.resolvePending!;
    const reject = this.rejectPending!;
    this.resolvePending = this.rejectPending = null;
    this.liveAt = at + 1;
    this.pos = at + 1;
    const parked = new Promise<void>((r) => { this.onPark = r; });
    if (outcome.ok) resolve(handOver(outcome.value));
    else reject(outcome.error);
    await parked;
  }

  /** The actor dies at its pending call (the kernel cleans up after it). */
  kill(): void {
    const at = this.pos;
    const e = this.log[at]!;
    if (e.outcome !== "kill") {
      this.log.length = at + 1;
      e.outcome = "kill";
      e.outcomeText = "<killed>";
      this.observe(at, `${e.op.call}(${e.argsText})<killed>`);
      if (this.liveAt > at || this.liveAt === at) {
        // The live incarnation is at or past the death: it can never be resumed from here.
        this.generation++;
        this.liveAt = -1;
        this.resolvePending = this.rejectPending = null;
      }
      if (this.endAt > at) this.endAt = -1;
    }
    this.pos = at + 1;
  }
}
