// The sandbox: one job per worker. It loads a transpiled scenario, runs or
// explores it with the runtime's front door (verify), and posts the answer.
// The page creates a fresh worker for each job and terminates it when the
// job overruns its wall-time budget, so an endless loop in a script costs
// a worker, never the page.
//
// Order matters: the worker's own modules are all imported (statically)
// before any message is handled; `post` is captured before lockDown removes
// postMessage, so only this file can talk to the page; the message handler
// is set synchronously (a module worker drops messages that arrive while its
// top level is still running, as measured in Chromium with the wasm glue's
// top-level await).

import { liveCounts, type LiveCounts } from "../sim/live";
import { buildScenario, type BuiltScenario } from "../api/build";
import { compileCore } from "../core/load";
import { ConfigError, resolveConfig } from "../api/config";
import { formatValue, logText, thrownText } from "../sim/format-value";
import { locateThrown, runProblem, type ScenarioCode } from "../api/load-scenario";
import type { Config, ScenarioDefinition } from "../api/types";
import { ScriptError } from "../sim/execution";
import { replaySchedule, whyNotEnabled } from "../sim/replay";
import { decodeSchedule } from "../sim/schedule";
import { traceOf } from "../sim/trace";
import { callText } from "./format";
import { verify, type VerifyOptions } from "../sim/verify";
import { loadJob } from "./load-job";
import type { ConsoleLine, Job, JobResult, StepAlternative, StepState, WorkerMessage } from "./protocol";
import { lockDown } from "./sandbox";
import { recordWorld } from "./world";
import { firstDifference, replaySide, type CompareResult } from "./compare";
import { ToolTracker } from "./tools";
import { encodeSchedule } from "../sim/schedule";
import type { Execution, Transition } from "../sim/execution";
import type { Trace } from "../sim/trace";

const scope = self as unknown as DedicatedWorkerGlobalScope;
const postRaw = scope.postMessage.bind(scope);
const post = (m: WorkerMessage) => postRaw(m);

/** At most this many console lines reach the page; a chatty loop cannot flood it. */
const MAX_CONSOLE_LINES = 2000;
/** Progress at most this often. */
const PROGRESS_MS = 100;

// The data plane's WebAssembly module, fetched and compiled now, while the
// worker waits for its job: lockDown removes fetch, and core/load.ts keeps
// the compiled module, so the kernel model instantiates it without fetching.
const coreReady: Promise<string | undefined> = compileCore().then(
  () => undefined,
  (e: unknown) => `the WebAssembly data plane could not be loaded (${e instanceof Error ? e.message : String(e)}): scenarios with block devices will fail`,
);

let consoleBuffer: ConsoleLine[] = [];
let consoleCount = 0;

function flushConsole(): void {
  if (consoleBuffer.length === 0) return;
  post({ type: "console", lines: consoleBuffer });
  consoleBuffer = [];
}

function addConsole(level: ConsoleLine["level"], values: unknown[]): void {
  consoleCount++;
  if (consoleCount > MAX_CONSOLE_LINES) {
    if (consoleCount === MAX_CONSOLE_LINES + 1) consoleBuffer.push({ level: "warn", text: `(more than ${MAX_CONSOLE_LINES} console lines: the rest are dropped)` });
    return;
  }
  consoleBuffer.push({ level, text: logText(values) });
  if (consoleBuffer.length >= 50) flushConsole();
}

/** The script's console goes to the page's console panel. */
function captureConsole(): void {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    (console as unknown as Record<string, unknown>)[level] = (...values: unknown[]) => addConsole(level, values);
  }
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    addConsole("error", ["unhandled rejection:", e.reason]);
  });
}

/** The results as JSON text: bigints as "123n", byte arrays as arrays (as trace.ts writes them). */
function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x));
}

/** The world after each step of the trace on show, for the views (world.ts); a failure costs the views, never the result. */
async function attachWorld(result: JobResult, built: BuiltScenario, trace: Trace, tools?: ToolTracker): Promise<void> {
  const t0 = performance.now();
  try {
    if (tools) tools.recording = true;
    result.world = await recordWorld(built, decodeSchedule(trace.schedule), trace.steps);
    if (tools) {
      const calls = tools.callsIn(trace);
      if (calls.length > 0) result.tools = calls;
    }
  } catch (e) {
    if (e instanceof ScriptError) return; // the script failed in the replay as in the run: the console says so already
    result.notes.push(`the views of the world could not be recorded: ${thrownText(e)}`);
  }
  result.worldMs = performance.now() - t0;
  if (result.world) result.world.recordMs = Math.round(result.worldMs);
}

/**
 * Compare (compare.ts): the schedule given, else the counterexample an
 * exploration under A finds, else A's plain run; replayed under A and B.
 */
async function compareJob(job: Job, def: ScenarioDefinition, builtA: BuiltScenario, code: ScenarioCode, result: JobResult, now: () => number, t0: number, live: LiveCounts): Promise<JobResult> {
  const spec = job.compare;
  if (!spec) return { ...result, error: { phase: "internal", message: "a compare job without its configurations" }, elapsedMs: performance.now() - t0 };
  let configB: Config;
  try {
    configB = resolveConfig(def.kernel, def.patches, spec.b ?? {});
  } catch (e) {
    if (e instanceof ConfigError) return { ...result, error: { phase: "config", message: `configuration B: ${e.message}` }, elapsedMs: performance.now() - t0 };
    throw e;
  }
  try {
    let schedule = job.schedule;
    let source: CompareResult["source"] = "given";
    if (schedule === undefined) {
      const r = await verify(builtA.spec, builtA.props, { mode: "explore", maxSteps: job.budgets.maxSteps, maxSeconds: job.budgets.maxSeconds, now, live });
      const found = r.violations[0];
      schedule = found?.schedule ?? "";
      source = found ? "explored" : "run";
    }
    const a = await replaySide(builtA, spec.labels[0], schedule, job.budgets.maxSteps);
    const b = await replaySide(buildScenario(def, configB), spec.labels[1], schedule, job.budgets.maxSteps);
    const firstDiff = firstDifference(a.trace, b.trace);
    result.compare = { schedule, source, sides: [a, b], ...(firstDiff !== undefined ? { firstDiff } : {}) };
  } catch (e) {
    if (!(e instanceof ScriptError)) throw e;
    const position = locateThrown(code, e.error);
    result.error = { phase: "run", message: e.message, actor: e.actor, ...(position ? { position } : {}) };
  }
  result.elapsedMs = performance.now() - t0;
  return result;
}

/**
 * Step mode's "finish this tool call": the path, then the actor's moves
 * while its next step still belongs to the tool call it is in (and it can
 * move), at most 500.
 */
async function finishToolCall(built: BuiltScenario, tools: ToolTracker, path: Transition[], actor: number): Promise<Transition[]> {
  const r = await replaySchedule(built.spec, built.props, path, { maxSteps: path.length });
  if (r.violation || r.divergence) return path;
  const exec = r.exec;
  const a = exec.actors[actor];
  if (!a) return path;
  const name = a.who.name;
  const span = tools.spanAt(name, tools.submittedBy(name) - 1);
  if (!span) return path;
  const out = [...path];
  for (let n = 0; n < 500 && exec.isEnabled(actor); n++) {
    const k = tools.submittedBy(name) - 1;
    if (tools.spanAt(name, k)?.start !== span.start) break;
    await exec.step({ actor });
    out.push({ actor });
  }
  return out;
}

/** An enabled actor's moves other than its plain step, each tried and undone to name its choice points. */
async function alternativesOf(exec: Execution, i: number): Promise<StepAlternative[]> {
  const out: StepAlternative[] = [];
  const alts = exec.probe(i).alternatives.filter((t) => t.kill || (t.choices ?? []).some((v) => v !== 0));
  for (const t of alts.slice(0, 12)) {
    if (t.kill) {
      out.push({ label: `kill ${exec.actors[i]!.who.name}`, transition: { actor: i, kill: true } });
      continue;
    }
    const cp = exec.checkpoint();
    try {
      const rec = await exec.step(t);
      const label = rec.choicePoints.map((c) => `${c.name} = ${c.value} of 0..${c.options - 1}`).join(", ");
      out.push({ label: label || `choice ${(t.choices ?? []).join(".")}`, transition: { actor: i, choices: [...(t.choices ?? [])] } });
    } catch {
      out.push({ label: `choice ${(t.choices ?? []).join(".")}`, transition: { actor: i, choices: [...(t.choices ?? [])] } });
    } finally {
      await exec.restore(cp);
      exec.release(cp);
    }
  }
  return out;
}

async function runJob(job: Job): Promise<JobResult> {
  const t0 = performance.now();
  const coreProblem = await coreReady;
  captureConsole();
  const blocked = lockDown(scope as unknown as typeof globalThis);
  const result: JobResult = { notes: [], blocked, elapsedMs: 0 };
  if (coreProblem) addConsole("warn", [coreProblem]);

  // Tool calls are watched (tools.ts) in the replays for the views and step mode, not in explorations.
  const tools = new ToolTracker();
  const loaded = await loadJob(job, (def) => tools.wrapDef(def));
  if (!loaded.ok) {
    const { error, title, config } = loaded;
    return { ...result, ...(title !== undefined ? { title } : {}), ...(config ? { config } : {}), error, elapsedMs: performance.now() - t0 };
  }
  const { scenario: { def, config, built }, code } = loaded;
  if (typeof def.title === "string") result.title = def.title;
  result.config = config;
  tools.wrapSpec(built.spec);

  if (job.mode === "step") {
    let path = job.schedule ? decodeSchedule(job.schedule) : [];
    try {
      tools.recording = true;
      if (job.finishTool !== undefined) path = await finishToolCall(built, tools, path, job.finishTool);
      // Follow the reader's path and stop there (maxSteps = its length): the next move is theirs.
      const r = await replaySchedule(built.spec, built.props, path, { maxSteps: path.length });
      const exec = r.exec;
      const step: StepState = {
        trace: traceOf(exec),
        path: encodeSchedule(path),
        actors: exec.actors.map((a, i) => {
          const enabled = !r.violation && !r.divergence && exec.isEnabled(i);
          const pending = a.pending;
          const span = pending ? tools.spanAt(a.who.name, tools.submittedBy(a.who.name) - 1) : undefined;
          return {
            name: a.who.name,
            domain: a.who.domain,
            enabled,
            ...(pending ? { next: callText(pending.call, pending.args) } : {}),
            ...(enabled ? {} : { why: r.violation ? "the invariant is violated: the run is over" : whyNotEnabled(exec, i) }),
            ...(span ? { tool: { name: span.name, args: span.args, done: tools.submittedBy(a.who.name) - 1 - span.start } } : {}),
          };
        }),
        finished: r.finished,
        ...(r.violation ? { violation: { invariant: r.violation.invariant, message: r.violation.message } } : {}),
        ...(r.divergence ? { divergence: r.divergence.message } : {}),
      };
      // The other moves an enabled actor offers: its choice points' other values, its death (mayCrash).
      tools.recording = false;
      for (let i = 0; i < exec.actors.length; i++) {
        if (step.actors[i]!.enabled) {
          const alts = await alternativesOf(exec, i);
          if (alts.length > 0) step.actors[i]!.alternatives = alts;
        }
      }
      tools.recording = true;
      result.step = step;
      await attachWorld(result, built, step.trace, tools);
    } catch (e) {
      if (!(e instanceof ScriptError)) throw e;
      const se = built.diagnostics.scriptError;
      const position = locateThrown(code, se?.error ?? e.error);
      result.error = { phase: "run", message: e.message, actor: e.actor, ...(position ? { position } : {}) };
    }
    result.elapsedMs = performance.now() - t0;
    return result;
  }

  let checks = 0;
  let lastPost = t0;
  const live = liveCounts();
  const now = () => {
    const t = performance.now();
    checks++;
    if (t - lastPost >= PROGRESS_MS) {
      lastPost = t;
      flushConsole();
      post({ type: "progress", elapsedMs: t - t0, clockChecks: checks, ...live });
    }
    return t;
  };
  if (job.mode === "compare") return compareJob(job, def, built, code, result, now, t0, live);

  const opts: VerifyOptions = {
    mode: job.mode as VerifyOptions["mode"],
    seed: job.seed,
    schedule: job.schedule,
    maxSteps: job.budgets.maxSteps,
    maxSeconds: job.mode === "run" ? undefined : job.budgets.maxSeconds,
    maxExecutions: job.budgets.maxExecutions,
    now,
    live,
  };
  const r = await verify(built.spec, built.props, opts);
  result.verify = r;
  const shown = r.trace ?? r.violations[0]?.trace;
  if (shown) await attachWorld(result, built, shown, tools);
  if (r.error) {
    result.error = { phase: "run", ...runProblem(built, r.error, code) };
  }
  result.elapsedMs = performance.now() - t0;
  return result;
}

scope.onmessage = (e: MessageEvent<Job>) => {
  scope.onmessage = null; // one job per worker
  const job = e.data;
  void runJob(job)
    .catch((err: unknown): JobResult => ({ notes: [], blocked: [], elapsedMs: 0, error: { phase: "internal", message: `a bug in Blocklab, not in your scenario: ${err instanceof Error ? (err.stack ?? err.message) : formatValue(err)}` } }))
    .then((result) => {
      flushConsole();
      let text: string;
      try {
        text = jsonText(result);
      } catch (err) {
        text = jsonText({ notes: [], blocked: [], elapsedMs: 0, error: { phase: "internal", message: `the result could not be sent: ${thrownText(err)}` } });
      }
      post({ type: "done", result: text });
    });
};
post({ type: "ready" });
