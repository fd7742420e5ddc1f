// The command line: `blocklab run | explore | gallery` (docs/scenario-api.md,
// "The CLI"). It loads a scenario, resolves its configuration with the flags on
// top, asks the runtime for a verdict and prints it for people, or as the
// results JSON with --json. Exit status: 0 pass, 1 violation, 2 error in the
// scenario, 3 bad usage, 4 vacuous, 70 a bug in Blocklab itself.

import { existsSync, readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";
import { formatValue } from "../sim/format-value";
import { ConfigError, checkOverrides, describeConfig, patchSelectionFromText, type ConfigOverrides } from "../api/config";
import { loadScenario, runProblem, type SourcePosition } from "../api/load-scenario";
import { encodeShareLink } from "../api/share-link";
import type { Config, ScenarioDefinition } from "../api/types";
import { GALLERY, galleryEntry, type GalleryEntry } from "../scenarios";
import { decodeSchedule, ScheduleSyntaxError } from "../sim/schedule";
import type { Trace } from "../sim/trace";
import { verify, type Mode, type VerifyOptions, type VerifyResult } from "../sim/verify";
import { parseArgs, USAGE, UsageError, type RunCommand } from "./args";
import { formatTrace, shellQuote, wrap } from "./format";
import { scenarioFile } from "./load";

export const EXIT = { pass: 0, violation: 1, error: 2, usage: 3, vacuous: 4, internal: 70 } as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
}

const processIo = (): CliIo => ({
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
  cwd: process.cwd(),
});

/** The results document of docs/scenario-api.md ("Results"). */
export interface ResultsJson {
  verdict: VerifyResult["verdict"];
  config: Config | null;
  mode: Mode;
  executions: number;
  complete: boolean;
  violations: (VerifyResult["violations"][number] & { replay: string; link: string })[];
  error?: { message: string; line?: number; column?: number; actor?: string; step?: number };
  states?: number;
  transitions?: number;
  stoppedBy?: string;
  sometimes: VerifyResult["sometimes"];
  trace?: Trace;
  /** Always empty since every built-in invariant is checked; kept so that the document keeps its shape. */
  notes: string[];
}

export function galleryPath(e: GalleryEntry): string {
  return fileURLToPath(new URL(`../scenarios/${e.file}`, import.meta.url));
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let cmd;
  try {
    cmd = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`blocklab: ${e.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (cmd.kind === "help") {
    io.out(`${USAGE}\n`);
    return EXIT.pass;
  }
  if (cmd.kind === "gallery") {
    if (cmd.json) io.out(`${JSON.stringify(GALLERY.map((e) => ({ ...e, file: relative(io.cwd, galleryPath(e)) })), null, 2)}\n`);
    else io.out(galleryText(io));
    return EXIT.pass;
  }
  try {
    return await runScenario(cmd, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`blocklab: ${e.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    io.err(`blocklab: internal error (a bug in Blocklab, not in your scenario): ${e instanceof Error ? e.stack ?? e.message : formatValue(e)}\n`);
    return EXIT.internal;
  }
}

function galleryText(io: CliIo): string {
  const width = Math.max(...GALLERY.map((e) => e.id.length)) + 2;
  const out = ["The gallery: explore a lesson with `npx blocklab explore ID`, or run it once with `npx blocklab run ID`.", ""];
  for (const e of GALLERY) {
    out.push(`${e.id.padEnd(width)}${e.title}`);
    out.push(wrap(e.lesson, 78, " ".repeat(width)));
    out.push(`${" ".repeat(width)}file: ${relative(io.cwd, galleryPath(e))}`, "");
  }
  return `${out.join("\n")}\n`;
}

/** Where the scenario is, and how to name it in messages and in the replay command. */
function locate(cmd: RunCommand, io: CliIo): { file: string; shown: string } {
  const asFile = resolve(io.cwd, cmd.target);
  if (existsSync(asFile) && statSync(asFile).isFile()) return { file: asFile, shown: cmd.target };
  const g = galleryEntry(cmd.target);
  if (g) return { file: galleryPath(g), shown: relative(io.cwd, galleryPath(g)) };
  if (/[/\\]|\.[cm]?[jt]s$/.test(cmd.target)) throw new UsageError(`no such file: ${cmd.target}`);
  throw new UsageError(`no such file or gallery id: ${cmd.target} (\`npx blocklab gallery\` lists the gallery)`);
}

function overridesOf(cmd: RunCommand): ConfigOverrides {
  try {
    const o: ConfigOverrides = {
      kernel: cmd.kernel,
      patches: cmd.patches === undefined ? undefined : patchSelectionFromText(cmd.patches),
      patch: cmd.patch,
    };
    checkOverrides(o);
    return o;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

const modeOf = (cmd: RunCommand): Mode => (cmd.kind === "run" ? "run" : cmd.mode === "exhaustive" ? "explore" : cmd.mode);

async function runScenario(cmd: RunCommand, io: CliIo): Promise<number> {
  const { file, shown } = locate(cmd, io);
  const overrides = overridesOf(cmd);
  if (cmd.schedule !== undefined) {
    try {
      decodeSchedule(cmd.schedule);
    } catch (e) {
      if (e instanceof ScheduleSyntaxError) throw new UsageError(`--schedule: ${e.message}`);
      throw e;
    }
  }
  const mode = modeOf(cmd);
  const code = readFileSync(file, "utf8");

  const scenarioError = (message: string, position?: SourcePosition): number => {
    const where = position ? `${shown}:${position.line}:${position.column}` : shown;
    if (cmd.json) {
      const r: ResultsJson = {
        verdict: "error", config: null, mode, executions: 0, complete: false, violations: [],
        error: { message, ...(position ?? {}) }, sometimes: [], notes: [],
      };
      io.out(`${json(r)}\n`);
    }
    io.err(`${where}: ${message}\n`);
    return EXIT.error;
  };

  const source = scenarioFile(file);
  const loaded = await loadScenario(source, { overrides, schedule: cmd.schedule });
  if (!loaded.ok) {
    const p = loaded.problem;
    // The flags' own mistakes (a configuration they make, a schedule for another scenario) are bad usage.
    if (p.phase === "schedule") throw new UsageError(p.message);
    if (p.inOverrides) throw new UsageError(p.message);
    return scenarioError(p.message, p.position);
  }
  const { def, config, built } = loaded;

  const opts: VerifyOptions = { mode, seed: cmd.seed, schedule: cmd.schedule, maxExecutions: cmd.maxExecutions, maxSeconds: cmd.maxSeconds };
  const result = await quietly(cmd.json, () => verify(built.spec, built.props, opts));

  const replayOf = (schedule: string) =>
    ["npx", "blocklab", "run", cmd.target, ...cmd.configArgs, "--schedule", schedule].map(shellQuote).join(" ");
  const violations: ResultsJson["violations"] = [];
  for (const v of result.violations) {
    violations.push({ ...v, replay: replayOf(v.schedule), link: await encodeShareLink({ code, config, schedule: v.schedule }, cmd.baseUrl) });
  }
  let error: ResultsJson["error"];
  if (result.error) {
    const p = runProblem(built, result.error, source);
    error = { message: p.message, ...(p.position ?? {}), ...(p.actor !== undefined ? { actor: p.actor } : {}), ...(p.step !== undefined ? { step: p.step } : {}) };
  }
  const r: ResultsJson = {
    verdict: result.verdict, config, mode, executions: result.executions, complete: result.complete, violations,
    ...(error ? { error } : {}),
    ...(result.states !== undefined ? { states: result.states } : {}),
    ...(result.transitions !== undefined ? { transitions: result.transitions } : {}),
    ...(result.stoppedBy !== undefined ? { stoppedBy: result.stoppedBy } : {}),
    sometimes: result.sometimes,
    ...(result.trace ? { trace: result.trace } : {}),
    notes: [],
  };

  if (cmd.json) io.out(`${json(r)}\n`);
  else io.out(humanText(r, def, cmd, shown));
  if (error) io.err(`${shown}${error.line !== undefined ? `:${error.line}:${error.column}` : ""}: ${error.message}\n`);
  return { pass: EXIT.pass, violation: EXIT.violation, error: EXIT.error, vacuous: EXIT.vacuous }[r.verdict];
}

/** With --json, stdout carries the results alone: what the scenario prints goes to stderr. */
async function quietly<T>(on: boolean, f: () => Promise<T>): Promise<T> {
  if (!on) return f();
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toErr = (...a: unknown[]) => { process.stderr.write(`${format(...a)}\n`); };
  console.log = console.info = console.debug = toErr;
  try {
    return await f();
  } finally {
    Object.assign(console, saved);
  }
}

/** JSON text; Uint8Arrays as arrays of bytes, bigints as "123n" (as trace.ts writes them). */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function humanText(r: ResultsJson, def: ScenarioDefinition, cmd: RunCommand, shown: string): string {
  const out: string[] = [];
  const row = (k: string, v: string) => out.push(`${k.padEnd(10)} ${v}`);
  row("scenario", def.title ? `${def.title} (${shown})` : shown);
  row("config", describeConfig(r.config!));
  row("mode", r.mode === "run" ? `run (${cmd.schedule ? `schedule ${cmd.schedule}` : "default schedule: the first ready actor moves"})` : `explore (${cmd.mode})`);
  const verdictText = {
    pass: "PASS",
    violation: "VIOLATION",
    error: "ERROR in the scenario",
    vacuous: `VACUOUS: never held in any execution: ${r.sometimes.filter((s) => !s.held).map((s) => JSON.stringify(s.name)).join(", ")}`,
  }[r.verdict];
  row("verdict", verdictText);
  if (r.mode === "run") {
    if (r.trace) row("steps", String(r.trace.steps.length));
  } else if (r.verdict !== "error") {
    const counts = `${plural(r.executions, "execution")}${r.states !== undefined ? `, ${plural(r.states, "state")}, ${plural(r.transitions ?? 0, "transition")}` : ""}`;
    const whole = r.complete && r.stoppedBy === undefined;
    const why = r.stoppedBy === "violation" ? "stopped at the first violation" : `stopped by the ${r.stoppedBy ?? "?"} bound`;
    row("explored", `${counts}; ${whole ? "complete: every interleaving up to the bounds" : `not complete: ${why}`}`);
  }
  for (const v of r.violations) {
    out.push("", `violation of ${JSON.stringify(v.invariant)}: ${v.message}`, formatTrace(v.trace, v.racingPair), ...(v.preemptions !== undefined ? [`  (${v.preemptions} preemption${v.preemptions === 1 ? "" : "s"}${v.shortest ? ", the fewest possible" : ""})`] : []), "");
    row("replay", v.replay);
    row("open", v.link);
  }
  if (r.violations.length === 0 && r.trace && r.verdict !== "error") out.push("", "trace", formatTrace(r.trace));
  return `${out.join("\n")}\n`;
}
