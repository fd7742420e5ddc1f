// An actor's life in the runtime: an async function that parks at every
// call until the scheduler runs the call's step. Actors are opaque closures,
// but each is a deterministic function of the results it has observed, so
// it can be brought back to any earlier point by running it again from the
// start and answering its first k calls from its log (no world involved).

import { canonical, hashString, mix, type Hash64 } from "./hash";
import { SysError, type Op, type Who } from "./op";

export type Outcome = { ok: true; value: unknown } | { ok: false; error: SysError };

export interface Observation {
  call: string;
  argsText: string;
  outcome: Outcome;
}

/** How an actor's code talks to the runtime; the API layer wraps it into a `Sys`. */
export interface Channel {
  call<R>(op: Op<R>): Promise<R>;
}

export type ActorStatus = "parked" | "done" | "failed" | "killed" | "diverged";

/** A replay that no longer matches what the actor does: the script was edited. */
export class DivergenceError extends Error {
  constructor(readonly actor: string, readonly position: number, readonly expected: string, readonly got: string) {
    super(`${actor} diverged at its call #${position + 1}: the schedule expected ${expected}, the script now calls ${got}`);
    this.name = "DivergenceError";
  }
}

export class ActorRuntime {
  status: ActorStatus = "parked";
  pending: Op | null = null;
  /** The error that ended the actor (an uncaught SysError, or a bug in the script). */
  error: unknown = undefined;
  /** Observations so far; `position` is their count. */
  readonly log: Observation[] = [];
  private hashes: Hash64[] = [[0, 0]];
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
    return this.log.length;
  }

  /** Hash of everything observed so far: with the position, it stands for the actor's local state. */
  get observedHash(): Hash64 {
    return this.hashes[this.log.length]!;
  }

  /** (Re)starts the actor and runs it, answering from its log, up to its current position. */
  async start(): Promise<void> {
    const gen = ++this.generation;
    this.status = "parked";
    this.pending = null;
    this.error = undefined;
    this.divergence = null;
    this.replayUntil = this.log.length;
    this.replayed = 0;
    const parked = this.parked();
    const channel: Channel = { call: (op) => this.call(gen, op) as Promise<never> };
    let run: Promise<void>;
    try {
      run = this.body(channel);
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      () => { if (gen === this.generation && this.status === "parked") this.finish("done", undefined); },
      (e) => { if (gen === this.generation && this.status === "parked") this.finish(e instanceof DivergenceError ? "diverged" : "failed", e); },
    );
    await parked;
  }

  private finish(status: ActorStatus, error: unknown): void {
    this.status = status;
    this.error = error;
    this.pending = null;
    this.wake();
  }

  private call(gen: number, op: Op): Promise<unknown> {
    if (gen !== this.generation || this.status !== "parked") return new Promise(() => {}); // a stale incarnation
    const argsText = canonical(op.args);
    if (this.replayed < this.replayUntil) {
      const o = this.log[this.replayed]!;
      if (o.call !== op.call || o.argsText !== argsText) {
        this.divergence = new DivergenceError(this.who.name, this.replayed, `${o.call}(${o.argsText})`, `${op.call}(${argsText})`);
        return Promise.reject(this.divergence);
      }
      this.replayed++;
      if (this.replayed === this.replayUntil) this.wakeAfterReplay();
      return o.outcome.ok ? Promise.resolve(o.outcome.value) : Promise.reject(o.outcome.error);
    }
    this.pending = op;
    return new Promise((resolve, reject) => {
      this.resolvePending = resolve;
      this.rejectPending = reject;
      this.wake();
    });
  }

  // A replayed prefix ends when the actor makes its next call (parks) or
  // finishes; both wake the waiter, so nothing to do here.
  private wakeAfterReplay(): void {}

  private parked(): Promise<void> {
    return new Promise((resolve) => { this.onPark = resolve; });
  }

  private wake(): void {
    const f = this.onPark;
    this.onPark = null;
    f?.();
  }

  /** Delivers the outcome of the pending step and waits until the actor parks again or ends. */
  async deliver(call: string, args: readonly unknown[], outcome: Outcome): Promise<void> {
    const resolve = this.resolvePending!;
    const reject = this.rejectPending!;
    this.resolvePending = this.rejectPending = null;
    this.pending = null;
    this.record(call, canonical(args), outcome);
    const parked = this.parked();
    if (outcome.ok) resolve(outcome.value);
    else reject(outcome.error);
    await parked;
  }

  private record(call: string, argsText: string, outcome: Outcome): void {
    this.log.push({ call, argsText, outcome });
    const text = outcome.ok ? `${call}(${argsText})=${canonical(outcome.value)}` : `${call}(${argsText})!${outcome.error.errno}`;
    this.hashes.push(mix(this.hashes[this.hashes.length - 1]!, hashString(text)));
  }

  /** The actor is killed at its pending step (the kernel cleans up after it). */
  kill(): void {
    this.generation++;
    this.status = "killed";
    this.pending = null;
    this.resolvePending = this.rejectPending = null;
    this.record("<killed>", "", { ok: true, value: null });
  }

  /** Forgets everything after `position` and brings the actor back there. */
  async rewind(position: number): Promise<void> {
    this.log.length = position;
    this.hashes.length = position + 1;
    const killed = position > 0 && this.log[position - 1]!.call === "<killed>";
    if (killed) {
      this.generation++;
      this.status = "killed";
      this.pending = null;
      return;
    }
    await this.start();
  }
}
