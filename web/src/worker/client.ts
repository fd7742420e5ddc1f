// The page's side of the sandbox: one fresh worker per job, a spare one
// started ahead so that Run answers at once, and a wall-time budget after
// which the page terminates the worker. Terminating is the only stop that
// works on a script stuck in `while (true) {}`: the worker's thread never
// returns to its event loop, so no message could reach it.

import type { Job, JobResult, WorkerMessage, ConsoleLine } from "./protocol";

export type JobOutcome =
  | { kind: "done"; result: JobResult }
  /** The page terminated the worker: the wall-time budget ran out, or the user pressed Stop. */
  | { kind: "killed"; reason: "time" | "stopped"; elapsedMs: number; lastProgress?: Progress }
  /** The worker itself failed to start or crashed (not the script: its errors come back as results). */
  | { kind: "crashed"; message: string };

export interface Progress {
  elapsedMs: number;
  clockChecks: number;
  /** Exact counts from the search (distinct states: exhaustive only). */
  states: number;
  transitions: number;
  executions: number;
}

export interface JobHandlers {
  onProgress?(p: Progress): void;
  onConsole?(lines: ConsoleLine[]): void;
}

export interface RunningJob {
  /** Terminates the worker; `done` then resolves with a "stopped" outcome. */
  stop(): void;
  done: Promise<JobOutcome>;
}

function createWorker(): Worker {
  return new Worker(new URL("./run.worker.ts", import.meta.url), { type: "module", name: "blocklab-sandbox" });
}

let spare: Worker | undefined;

/** Starts a worker ahead of the next job (its modules load while the user reads). */
export function warmUp(): void {
  if (spare === undefined && typeof Worker !== "undefined") spare = createWorker();
}

/**
 * Runs `job` in a fresh sandbox worker. `wallMs` is the page's hard limit:
 * past it the worker is terminated, whatever it is doing.
 */
export function startJob(job: Job, wallMs: number, handlers: JobHandlers = {}): RunningJob {
  const worker = spare ?? createWorker();
  spare = undefined;
  const t0 = performance.now();
  let lastProgress: Progress | undefined;
  let settle!: (o: JobOutcome) => void;
  const done = new Promise<JobOutcome>((resolve) => (settle = resolve));
  let finished = false;
  const finish = (o: JobOutcome) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    worker.terminate();
    settle(o);
    warmUp();
  };
  const timer = setTimeout(() => finish({ kind: "killed", reason: "time", elapsedMs: performance.now() - t0, lastProgress }), wallMs);
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    if (m.type === "progress") {
      lastProgress = { elapsedMs: m.elapsedMs, clockChecks: m.clockChecks, states: m.states, transitions: m.transitions, executions: m.executions };
      handlers.onProgress?.(lastProgress);
    } else if (m.type === "console") {
      handlers.onConsole?.(m.lines);
    } else if (m.type === "done") {
      try {
        finish({ kind: "done", result: JSON.parse(m.result) as JobResult });
      } catch (err) {
        finish({ kind: "crashed", message: `the sandbox sent a result that does not parse: ${String(err)}` });
      }
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    finish({ kind: "crashed", message: `the sandbox worker failed: ${e.message || "it could not be loaded"}` });
  };
  worker.postMessage(job);
  return {
    stop: () => finish({ kind: "killed", reason: "stopped", elapsedMs: performance.now() - t0, lastProgress }),
    done,
  };
}
