// The page's one run state: the code, the configuration, what ran and what
// it answered, the selected step. The worker protocol feeds it; components
// read it and call its methods, and never talk to the worker themselves
// (docs/ui.md).

import { ConfigError, PRESETS, resolveConfig } from "../api/config";
import { logText } from "../sim/format-value";
import { decodeShareLink, encodeShareLink, ShareLinkError } from "../api/share-link";
import type { Config } from "../api/types";
import type { Trace } from "../sim/trace";
import type { Mode, ReportedViolation, VerifyResult } from "../sim/verify";
import { startJob, warmUp, type Progress, type RunningJob } from "../worker/client";
import type { ConsoleLine, Job, JobResult, SourcePosition, StepState } from "../worker/protocol";
import type { WorldFrames } from "../worker/world-types";
import type { CompareResult } from "../worker/compare";
import type { ToolCall } from "../worker/tools";
import { decodeSchedule, encodeSchedule } from "../sim/schedule";
import type { Transition } from "../sim/execution";
import type { EditorHandle } from "./editor/monaco";
import { GALLERY, galleryEntry, gallerySource, type GalleryEntry } from "./gallery";
import { clearFragment, pageBase, parseFragment, setFragment } from "./location";
import { loadSavedWork, saveWork } from "./saved-work";

export type ExploreMode = "exhaustive" | "random" | "pct";

export interface ConsoleEntry {
  level: ConsoleLine["level"] | "note";
  text: string;
  position?: SourcePosition;
  /** The trace step (0-based) a line belongs to (sys.log lines). */
  step?: number;
}

export interface Banner {
  kind: "error" | "info";
  text: string;
  /** Offer to go back to the reader's own saved work. */
  offerSavedWork?: boolean;
}

/** What the last job ended with, for the summary line and the "ran" state. */
export interface Outcome {
  mode: Mode | "step" | "compare";
  verdict: VerifyResult["verdict"] | "stopped" | "timeout" | "crashed" | "differs";
  summary: string;
  result?: JobResult;
}

/** The budgets (docs/ui.md): steps per execution, and wall time. */
export const RUN_WALL_SECONDS = 5;
export const EXPLORE_SECONDS = 20;
/** After the engine's own deadline, shortening a counterexample (bounded by states, not time: sim/shorten.ts) takes up to about 6 s more; then the page kills the worker. */
const EXPLORE_GRACE_SECONDS = 10;
export const MAX_STEPS = 1000;

const STARTER_ID = "lost-update";

function firstStartFallback(): string {
  return `import { scenario } from "blocklab";\n\nexport default scenario({\n  title: "My scenario",\n  actors: {\n    a: async (sys) => { await sys.log("hello"); },\n  },\n});\n`;
}

/**
 * A configuration from outside (a link, localStorage) checked as the CLI
 * checks its flags: the resolved form, or the reason it is not one.
 */
function checkConfig(c: Config | null | undefined): { config: Config | null; problem?: string } {
  if (c === null || c === undefined) return { config: null };
  try {
    return { config: resolveConfig(c.kernel, c.patches) };
  } catch (e) {
    if (e instanceof ConfigError) return { config: null, problem: e.message };
    throw e;
  }
}

export class Session {
  code = $state("");
  /** The configuration panel's choice; null: the scenario's own. */
  override = $state<Config | null>(null);
  /** The configuration the last job resolved (scenario + override). */
  lastConfig = $state<Config | null>(null);
  exploreMode = $state<ExploreMode>("exhaustive");
  seed = $state("1");
  schedule = $state("");
  exploreSeconds = $state(EXPLORE_SECONDS);

  editorReady = $state(false);
  status = $state<"idle" | "transpiling" | "running" | "exploring">("idle");
  progress = $state<{ elapsedMs: number; label: string } | null>(null);
  outcome = $state<Outcome | null>(null);
  /** How many jobs finished: the visible "ran" state. */
  ranCount = $state(0);
  consoleEntries = $state<ConsoleEntry[]>([]);
  banner = $state<Banner | null>(null);
  shareLink = $state("");

  /** The trace on show, and what is marked in it. */
  trace = $state.raw<Trace | null>(null);
  violation = $state.raw<ReportedViolation | null>(null);
  /** The world after each step of the trace on show (devices, xenstore, rings), as the sandbox recorded it. */
  world = $state.raw<WorldFrames | null>(null);
  /** The tool calls of the trace on show (losetup.attach and its system calls). */
  tools = $state.raw<ToolCall[] | null>(null);
  /** Steps done at the selected point: 0 (the initial world) to trace.steps.length. */
  selected = $state(0);
  /** What the editor shows: the reader's own work, a shared link or a lesson. */
  source = $state<{ kind: "own" } | { kind: "link" } | { kind: "example"; id: string; title: string; lesson: string; entry: GalleryEntry }>({ kind: "own" });

  /** Step mode: the path the reader has chosen so far (null: not stepping), and where it stands. */
  stepPath = $state.raw<Transition[] | null>(null);
  stepState = $state.raw<StepState | null>(null);
  /** Compare's answer on show (two traces side by side), or null. */
  compareResult = $state.raw<CompareResult | null>(null);

  private editor: EditorHandle | undefined;
  private running: RunningJob | undefined;
  private lastAction: "run" | "explore" | undefined;
  private saveFailed = false;
  /** The step a shared link selects, applied when the reader runs it. */
  private pendingStep: number | undefined;

  get busy(): boolean {
    return this.status !== "idle";
  }

  /** The configuration the panel shows: the override, else what the scenario resolved to, else the defaults. */
  get shownConfig(): Config {
    return this.override ?? this.lastConfig ?? resolveConfig(undefined, undefined);
  }

  // ---- startup and the URL ----

  /** Reads the fragment (or the saved work) into the session. Never runs anything. */
  async start(): Promise<void> {
    await this.openFragment(location.hash);
    addEventListener("hashchange", () => void this.openFragment(location.hash));
    warmUp();
  }

  private async openSavedWork(): Promise<void> {
    const saved = loadSavedWork();
    if (saved) {
      this.setCode(saved.code);
      this.override = checkConfig(saved.override).config;
      this.seed = saved.seed;
      this.schedule = saved.schedule;
    } else {
      const starter = galleryEntry(STARTER_ID) ?? GALLERY[0];
      this.setCode(starter ? await gallerySource(starter) : firstStartFallback());
    }
    this.source = { kind: "own" };
  }

  async openFragment(hash: string): Promise<void> {
    const f = parseFragment(hash);
    this.clearResults();
    if (f.kind === "none") {
      await this.openSavedWork();
      return;
    }
    if (f.kind === "example") {
      const entry = galleryEntry(f.id);
      if (!entry) {
        await this.openSavedWork();
        this.banner = { kind: "error", text: `There is no gallery lesson "${f.id}" (the gallery has: ${GALLERY.map((g) => g.id).join(", ")}). Your saved work is shown, unchanged.` };
        return;
      }
      this.setCode(await gallerySource(entry));
      this.override = null;
      this.schedule = "";
      this.source = { kind: "example", id: entry.id, title: entry.title, lesson: entry.lesson, entry };
      this.banner = null;
      return;
    }
    if (f.kind === "oversized") {
      await this.openSavedWork();
      this.banner = { kind: "error", text: `This link could not be opened: it is ${f.length.toLocaleString("en")} characters long, far more than a Blocklab link ever is. Your saved work is shown, unchanged.` };
      return;
    }
    if (f.kind === "unknown") {
      await this.openSavedWork();
      this.banner = { kind: "error", text: `This link could not be opened: "#${f.text}" is not a Blocklab link (they start with #v1/ or #example/). Your saved work is shown, unchanged.` };
      return;
    }
    try {
      const shared = await decodeShareLink(f.fragment);
      const checked = checkConfig(shared.config);
      this.setCode(shared.code);
      this.override = checked.config;
      this.schedule = shared.schedule ?? "";
      this.source = { kind: "link" };
      this.pendingStep = shared.step;
      const configNote = checked.problem ? ` The link's configuration is not one this Blocklab knows (${checked.problem}), so the scenario's own is used.` : "";
      const stepNote = shared.step !== undefined ? ` It points at step ${shared.step}${shared.schedule ? " of its schedule" : ""}: Run shows it there.` : "";
      this.banner = { kind: "info", text: `You opened a shared scenario. Nothing has run: read it, then press Run.${stepNote} Your own saved work is kept.${configNote}`, offerSavedWork: loadSavedWork() !== undefined };
    } catch (e) {
      if (!(e instanceof ShareLinkError)) throw e;
      await this.openSavedWork();
      this.banner = { kind: "error", text: `This link could not be opened: ${e.message}. Your saved work is shown, unchanged.` };
    }
  }

  async backToSavedWork(): Promise<void> {
    clearFragment();
    this.banner = null;
    this.clearResults();
    await this.openSavedWork();
  }

  // ---- the editor ----

  attachEditor(editor: EditorHandle): void {
    this.editor = editor;
    this.editorReady = true;
    if (editor.getText() !== this.code) editor.setText(this.code);
  }

  private setCode(text: string): void {
    this.code = text;
    this.editor?.setText(text);
  }

  /** The reader typed: from now on this is their own work, saved locally. */
  edited(text: string): void {
    this.code = text;
    // The address no longer describes what is in the editor: a reload must bring back these edits.
    clearFragment();
    if (this.source.kind !== "own") {
      this.source = { kind: "own" };
      if (this.banner?.offerSavedWork) this.banner = null;
    }
    this.save();
  }

  /** Saves the reader's own work (never a link or a lesson they have not touched). */
  save(): void {
    if (this.source.kind !== "own") return;
    const ok = saveWork({ code: this.code, override: this.override, seed: this.seed, schedule: this.schedule });
    if (!ok && !this.saveFailed) {
      this.saveFailed = true;
      this.banner = { kind: "error", text: "This browser refuses to store your work (private mode or storage full): it will be lost on reload. Use Share to keep a link." };
    }
  }

  reveal(p: SourcePosition): void {
    this.editor?.reveal(p.line, p.column);
  }

  // ---- configuration ----

  setOverride(c: Config | null): void {
    this.override = c;
    this.save();
    // Switching re-runs in place when the last thing done was a run (an exploration waits for the button).
    if (this.lastAction === "run" && !this.busy && this.editorReady) void this.run();
  }

  /** A lesson's "before" or "after" configuration (scenarios/index.ts), as the panel's override. */
  applyLessonConfig(c: { kernel?: string; patches?: unknown }): void {
    try {
      this.setOverride(resolveConfig(c.kernel, c.patches));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.banner = { kind: "error", text: `This lesson's configuration is not valid: ${e.message}` };
    }
  }

  applyPreset(id: keyof typeof PRESETS): void {
    this.setOverride({ kernel: this.shownConfig.kernel, patches: { ...PRESETS[id].patches } });
  }

  // ---- running ----

  private clearResults(): void {
    this.trace = null;
    this.violation = null;
    this.world = null;
    this.tools = null;
    this.compareResult = null;
    this.outcome = null;
    this.selected = 0;
    this.consoleEntries = [];
    this.lastConfig = null;
    this.pendingStep = undefined;
  }

  run(): Promise<void> {
    return this.startJobFor("run");
  }

  explore(): Promise<void> {
    return this.startJobFor(this.exploreMode === "exhaustive" ? "explore" : this.exploreMode);
  }

  stop(): void {
    this.running?.stop();
  }

  // ---- step mode: the reader is the scheduler ----

  /** Starts (or restarts) step mode at the initial state. */
  stepStart(): Promise<void> {
    return this.stepTo([]);
  }

  stepMove(actor: number): Promise<void> {
    return this.stepTo([...(this.stepPath ?? []), { actor }]);
  }

  /** A move other than the plain step: another value of a choice point, or killing the actor. */
  stepMoveWith(t: Transition): Promise<void> {
    return this.stepTo([...(this.stepPath ?? []), t]);
  }

  /** Moves the actor through the rest of the tool call it is in (losetup.attach's remaining system calls). */
  stepFinishTool(actor: number): Promise<void> {
    return this.startJobFor("step", this.stepPath ?? [], undefined, actor);
  }

  stepUndo(): Promise<void> {
    const path = this.stepPath ?? [];
    return this.stepTo(path.slice(0, Math.max(0, path.length - 1)));
  }

  stepLeave(): void {
    this.stepPath = null;
    this.stepState = null;
  }

  /** Each move replays the whole path in a fresh sandbox: actors are deterministic, so it lands where it was. */
  private stepTo(path: Transition[]): Promise<void> {
    return this.startJobFor("step", path);
  }

  // ---- compare: one schedule under two configurations ----

  /**
   * Replays one schedule under A and B and shows both traces side by side.
   * The schedule: the counterexample on show, else the schedule field, else
   * the sandbox explores under A for one (and falls back to A's plain run).
   */
  compare(a: { config: Config | null; label: string }, b: { config: Config | null; label: string }): Promise<void> {
    const schedule = this.violation?.schedule ?? (this.schedule.trim() || undefined);
    return this.startJobFor("compare", undefined, { a: a.config, b: b.config, labels: [a.label, b.label], ...(schedule !== undefined ? { schedule } : {}) });
  }

  /** A lesson's before against one of its after configurations. */
  compareLesson(afterIndex: number): Promise<void> {
    if (this.source.kind !== "example") return Promise.resolve();
    const e = this.source.entry;
    const after = e.after?.[afterIndex];
    if (!e.before || !after || after.scenario) return Promise.resolve();
    const conf = (c: { kernel?: string; patches?: unknown }) => {
      try {
        return resolveConfig(c.kernel, c.patches);
      } catch {
        return null;
      }
    };
    return this.compare({ config: conf(e.before), label: "before" }, { config: conf(after), label: "after" });
  }

  closeCompare(): void {
    this.compareResult = null;
  }

  private async startJobFor(mode: Mode | "step" | "compare", stepPath?: Transition[], cmp?: { a: Config | null; b: Config | null; labels: [string, string]; schedule?: string }, finishTool?: number): Promise<void> {
    if (this.busy) return;
    if (!this.editor) {
      this.banner = { kind: "info", text: "The editor is still loading; Run works as soon as it is there." };
      return;
    }
    this.lastAction = mode === "run" ? "run" : mode === "step" || mode === "compare" ? undefined : "explore";
    if (mode !== "step") this.stepLeave();
    if (mode !== "compare") this.compareResult = null;
    this.status = "transpiling";
    const entries: ConsoleEntry[] = [];
    let transpiled;
    try {
      transpiled = await this.editor.transpile();
    } catch (e) {
      this.status = "idle";
      this.consoleEntries = [{ level: "error", text: `The editor's TypeScript worker failed: ${e instanceof Error ? e.message : String(e)}` }];
      return;
    }
    for (const d of transpiled.syntaxErrors) entries.push({ level: "error", text: `syntax error: ${d.message}`, position: { line: d.line, column: d.column } });
    if (transpiled.syntaxErrors.length > 0) {
      this.consoleEntries = entries;
      this.finishWith({ mode, verdict: "error", summary: "not run: fix the syntax error first" });
      return;
    }
    for (const d of transpiled.typeErrors) entries.push({ level: "warn", text: `type error (the script runs anyway): ${d.message}`, position: { line: d.line, column: d.column } });
    this.consoleEntries = entries;

    const seed = Number(this.seed);
    const schedule = this.schedule.trim();
    const job: Job = {
      type: "job",
      js: transpiled.js,
      ...(transpiled.sourceMap ? { sourceMap: transpiled.sourceMap } : {}),
      overrides: cmp ? (cmp.a ? { kernel: cmp.a.kernel, patches: { ...cmp.a.patches } } : null) : this.override ? { kernel: this.override.kernel, patches: { ...this.override.patches } } : null,
      mode,
      ...(cmp ? { compare: { b: cmp.b ? { kernel: cmp.b.kernel, patches: { ...cmp.b.patches } } : null, labels: cmp.labels }, ...(cmp.schedule !== undefined ? { schedule: cmp.schedule } : {}) } : {}),
      ...(Number.isFinite(seed) && this.seed.trim() !== "" ? { seed: seed >>> 0 } : {}),
      ...(mode === "run" && schedule !== "" ? { schedule } : {}),
      ...(mode === "step" ? { schedule: encodeSchedule(stepPath ?? []) } : {}),
      ...(finishTool !== undefined ? { finishTool } : {}),
      budgets: { maxSteps: MAX_STEPS, maxSeconds: this.exploreSeconds },
    };
    const wallSeconds = mode === "run" || mode === "step" ? RUN_WALL_SECONDS : this.exploreSeconds + EXPLORE_GRACE_SECONDS;
    this.status = mode === "run" || mode === "step" ? "running" : "exploring";
    this.progress = mode === "run" || mode === "step" ? null : { elapsedMs: 0, label: "starting" };
    const progressLabel = (p: Progress): string => {
      const s = Math.max(p.elapsedMs, 1) / 1000;
      // The search's own counters, as of its last look at the clock (exhaustive: every 256 states).
      if (p.states > 0) return `${p.states.toLocaleString("en")} states, ${Math.round(p.states / s).toLocaleString("en")} states/s`;
      return `${p.executions.toLocaleString("en")} executions, ${Math.round(p.executions / s).toLocaleString("en")}/s`;
    };
    const running = startJob(job, wallSeconds * 1000, {
      onProgress: (p) => {
        this.progress = { elapsedMs: p.elapsedMs, label: progressLabel(p) };
      },
      onConsole: (lines) => {
        this.consoleEntries = [...this.consoleEntries, ...lines.map((l) => ({ level: l.level, text: l.text }))];
      },
    });
    this.running = running;
    const o = await running.done;
    this.running = undefined;
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    if (o.kind === "killed") {
      const seen = o.lastProgress ? ` (${progressLabel(o.lastProgress)} when it stopped)` : "";
      if (o.reason === "time") {
        const why = mode === "run" || mode === "step"
          ? `The script did not finish within ${RUN_WALL_SECONDS} s, so its worker was stopped. An endless loop that never calls sys (such as while (true) {}) never gives the scheduler a turn; a loop that does would have stopped at ${MAX_STEPS} steps.`
          : `The exploration overran its budget of ${this.exploreSeconds} s (plus ${EXPLORE_GRACE_SECONDS} s to present a counterexample), so its worker was stopped${seen}. Nothing it found could be kept.`;
        this.consoleEntries = [...this.consoleEntries, { level: "error", text: why }];
        this.finishWith({ mode, verdict: "timeout", summary: `stopped after ${secs(o.elapsedMs)}: over the time budget` });
      } else {
        this.consoleEntries = [...this.consoleEntries, { level: "note", text: `Stopped by you after ${secs(o.elapsedMs)}${seen}. A stopped exploration proves nothing about the part it did not reach.` }];
        this.finishWith({ mode, verdict: "stopped", summary: `stopped by you after ${secs(o.elapsedMs)}` });
      }
      return;
    }
    if (o.kind === "crashed") {
      this.consoleEntries = [...this.consoleEntries, { level: "error", text: o.message }];
      this.finishWith({ mode, verdict: "crashed", summary: "the sandbox failed" });
      return;
    }
    if (mode === "step") this.presentStep(stepPath ?? [], o.result);
    else if (mode === "compare") this.presentCompare(o.result);
    else this.present(mode, o.result);
  }

  private presentStep(path: Transition[], r: JobResult): void {
    if (r.config) this.lastConfig = r.config;
    const entries = [...this.consoleEntries];
    const st = r.step;
    if (!st) {
      // The scenario did not load, or the script failed at this step: stay where the reader was.
      const err = r.error;
      entries.push({ level: "error", text: err ? `error: ${err.message}` : "step mode: no answer", ...(err?.position ? { position: err.position } : {}) });
      this.consoleEntries = entries;
      this.finishWith({ mode: "step", verdict: "error", summary: `step mode: the move failed after ${path.length} step${path.length === 1 ? "" : "s"}` });
      return;
    }
    this.stepPath = st.path !== undefined ? decodeSchedule(st.path) : path;
    this.stepState = st;
    this.tools = r.tools ?? null;
    this.trace = st.trace;
    this.violation = null;
    this.world = r.world ?? null;
    this.selected = st.trace.steps.length;
    for (const s of st.trace.steps) {
      if (s.call === "log") entries.push({ level: "log", text: `${s.actor}: ${logText(s.args)}`, step: s.step });
    }
    if (st.violation) entries.push({ level: "error", text: `violation of "${st.violation.invariant}": ${st.violation.message}` });
    if (st.divergence) entries.push({ level: "error", text: st.divergence });
    for (const n of r.notes) entries.push({ level: "note", text: n });
    this.consoleEntries = entries;
    const n = st.trace.steps.length;
    const where = st.violation ? "violation" : st.finished ? "finished" : "your move";
    this.finishWith({ mode: "step", verdict: st.violation ? "violation" : st.divergence ? "error" : "pass", summary: `step mode: ${n} step${n === 1 ? "" : "s"}, ${where}`, result: r });
  }

  private presentCompare(r: JobResult): void {
    if (r.config) this.lastConfig = r.config;
    const c = r.compare;
    const entries = [...this.consoleEntries];
    if (!c) {
      const err = r.error;
      entries.push({ level: "error", text: err ? `compare: ${err.message}` : "compare: no answer", ...(err?.position ? { position: err.position } : {}) });
      this.consoleEntries = entries;
      this.finishWith({ mode: "compare", verdict: "error", summary: "compare failed", result: r });
      return;
    }
    this.compareResult = c;
    // The views follow side A; the compare panel shows both.
    const [a, b] = c.sides;
    this.trace = a.trace;
    this.violation = null;
    this.world = a.world ?? null;
    this.tools = null;
    this.selected = c.firstDiff !== undefined ? Math.min(c.firstDiff + 1, a.trace.steps.length) : a.trace.steps.length;
    for (const n of r.notes) entries.push({ level: "note", text: n });
    this.consoleEntries = entries;
    const where = c.firstDiff === undefined ? "the traces are the same" : `first difference at step ${c.firstDiff + 1}`;
    this.finishWith({ mode: "compare", verdict: a.verdict === b.verdict ? (a.verdict === "violation" ? "violation" : "pass") : "differs", summary: `${a.label}: ${a.verdict}, ${b.label}: ${b.verdict}; ${where}`, result: r });
  }

  private finishWith(outcome: Outcome): void {
    this.outcome = outcome;
    this.status = "idle";
    this.progress = null;
    this.ranCount++;
  }

  private present(mode: Mode, r: JobResult): void {
    if (r.config) this.lastConfig = r.config;
    const v = r.verify;
    const entries = [...this.consoleEntries];
    const trace = v?.trace ?? v?.violations[0]?.trace ?? null;
    this.trace = trace;
    this.violation = v?.violations[0] ?? null;
    this.world = trace ? (r.world ?? null) : null;
    this.tools = trace ? (r.tools ?? null) : null;
    this.selected = trace ? trace.steps.length : 0;
    if (trace && this.pendingStep !== undefined) this.selected = Math.min(this.pendingStep, trace.steps.length);
    this.pendingStep = undefined;
    if (trace) {
      for (const s of trace.steps) {
        if (s.call === "log") entries.push({ level: "log", text: `${s.actor}: ${logText(s.args)}`, step: s.step });
      }
    }
    if (r.error) {
      // The message names the actor already ("toolstack: TypeError: ..."); the position is the entry's link.
      const at = r.error.step !== undefined ? ` (at step ${r.error.step})` : "";
      entries.push({ level: "error", text: `${r.error.phase === "load" ? "the scenario did not load: " : r.error.phase === "config" ? "" : "error: "}${r.error.message}${at}`, ...(r.error.position ? { position: r.error.position } : {}) });
    }
    if (this.violation) entries.push({ level: "error", text: `violation of "${this.violation.invariant}": ${this.violation.message}` });
    for (const n of r.notes) entries.push({ level: "note", text: n });
    this.consoleEntries = entries;

    let verdict: Outcome["verdict"] = v?.verdict ?? "error";
    let summary: string;
    if (!v) summary = r.error?.phase === "load" ? "the scenario did not load" : "not run";
    else if (v.verdict === "error") summary = "the scenario failed";
    else if (mode === "run") {
      const n = trace?.steps.length ?? 0;
      const cut = !v.complete && v.verdict !== "violation";
      summary = `${n} step${n === 1 ? "" : "s"}${v.verdict === "violation" ? ": the invariant broke at the last step" : cut ? `: stopped at the budget of ${MAX_STEPS} steps, not finished` : ""}`;
      if (cut && v.verdict === "pass") verdict = "timeout";
    } else {
      const counts = `${v.executions.toLocaleString("en")} executions${v.states !== undefined ? `, ${v.states.toLocaleString("en")} states` : ""}`;
      const whole = v.complete && v.stoppedBy === undefined;
      summary = `${counts} in ${(r.elapsedMs / 1000).toFixed(1)} s; ${whole ? "complete: every interleaving up to the bounds" : v.stoppedBy === "violation" ? "stopped at the first violation" : `not complete (stopped by the ${v.stoppedBy ?? "?"} bound)`}`;
    }
    this.finishWith({ mode, verdict, summary, result: r });
  }

  /** Replays a violation's schedule in run mode (what a reader does to study it). */
  useSchedule(schedule: string): void {
    this.stepLeave();
    this.schedule = schedule;
    this.save();
  }

  // ---- sharing ----

  async share(): Promise<void> {
    const config = this.override ?? this.lastConfig ?? undefined;
    const schedule = this.violation?.schedule ?? (this.schedule.trim() || undefined);
    const step = this.trace ? this.selected : undefined;
    const link = await encodeShareLink({ code: this.code, ...(config ? { config } : {}), ...(schedule ? { schedule } : {}), ...(step !== undefined ? { step } : {}) }, pageBase());
    this.shareLink = link;
    // The address bar holds the link too; it is not saved work, so nothing is overwritten.
    setFragment(link.slice(link.indexOf("#")));
    let copied = false;
    try {
      await navigator.clipboard.writeText(link);
      copied = true;
    } catch {
      /* no clipboard permission: the link is shown for copying by hand */
    }
    this.banner = { kind: "info", text: copied ? `Link copied (${link.length.toLocaleString("en")} characters). It carries the code, the configuration${schedule ? ", the schedule" : ""}${step !== undefined ? ` and step ${step}` : ""}; nothing goes to a server.` : `Here is the link (${link.length.toLocaleString("en")} characters); copy it from the box below.` };
  }
}
