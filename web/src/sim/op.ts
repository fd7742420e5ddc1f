// One atomic step of an actor: a call on the world that runs synchronously
// when the scheduler picks the actor. A blocking call has a guard: the step
// is enabled only while the guard holds, so waiting is never a spin.

import type { Store } from "./store";

/**
 * A failed system call: the kernel's errno name and a message. An errno is
 * an outcome, not a bug: its JavaScript stack is never shown, and capturing
 * it was most of the cost of a failing step (explorations run failing steps
 * by the thousand in probes), so none is captured.
 */
export class SysError extends Error {
  readonly errno: string;
  /** What the kernel wrote back despite the error (a dm ioctl's header). */
  readonly result?: unknown;
  constructor(errno: string, message: string, result?: unknown) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(`${errno}: ${message}`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.errno = errno;
    this.result = result;
    this.name = "SysError";
  }
}

/** The errno name of a failed system call, or undefined for anything else thrown (a bug). */
export function errnoOf(e: unknown): string | undefined {
  return e instanceof SysError ? e.errno : undefined;
}

/** Something a step caused that a viewer wants to see: a uevent, a watch firing, a diskseq change. */
export interface KernelEvent {
  kind: string;
  [field: string]: unknown;
}

export interface Who {
  /** Index of the actor in the scenario. */
  index: number;
  name: string;
  domain: string;
}

export interface StepContext {
  readonly store: Store;
  readonly who: Who;
  /**
   * A named choice point with `options` outcomes (0 is the ordinary one):
   * a watch event coalesced, an allocation failing. Drawn from the seed when
   * sampling, enumerated when exploring.
   */
  choose(name: string, options: number): number;
  emit(event: KernelEvent): void;
}

export interface Op<R = unknown> {
  /** What the trace shows: "writeFile", "ioctl LOOP_CONFIGURE". */
  readonly call: string;
  readonly args: readonly unknown[];
  /** Enabled only while this holds (its reads count in the step's footprint). */
  readonly ready?: (store: Store) => boolean;
  /** Why a blocked step waits, for people: "until /local/domain/0/.../opened = 1". */
  readonly waitingFor?: string;
  readonly run: (ctx: StepContext) => R;
  /**
   * The actor makes this call in the same local state every time: the head
   * of a daemon's loop that carries nothing from one round to the next
   * (xenwatch taking the next event, a runner taking the next job). The
   * state key then leaves out how many rounds it ran and what it saw in
   * them: states that differ only in that are one state. A promise by the
   * model, since the runtime cannot see an actor's local variables.
   */
  readonly loopHead?: boolean;
}
