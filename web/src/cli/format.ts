// Human output: verdicts, traces in the vocabulary of the calls
// (`writeFile("/run/x", "1") → ok`, `readFile("/nope") → ENOENT`), replay
// commands. The JSON output is the results document itself; this is for
// people at a terminal.

import { callText, formatValue, logText } from "../sim/format-value";
import type { Trace, TraceStep } from "../sim/trace";

/** Characters of one value in a trace line: the line stays readable at a terminal's width. */
const MAX_VALUE = 60;
const MAX_STEPS = 300;

export function formatStep(s: TraceStep, actorWidth: number): string {
  const who = (s.domain === "dom0" ? s.actor : `${s.actor}@${s.domain}`).padEnd(actorWidth);
  const head = `  #${String(s.step).padEnd(4)}${who}  `;
  if (s.call === "log") return `${head}log: ${logText(s.args, MAX_VALUE)}`;
  if (s.call === "<killed>") return `${head}killed (during ${logText(s.args.slice(0, 1))})`;
  const call = callText(s.call, s.args, MAX_VALUE);
  if (s.errno !== undefined) return `${head}${call} → ${s.errno}${s.message ? ` (${s.message.replace(`${s.errno}: `, "")})` : ""}`;
  return `${head}${call} → ${s.result === null || s.result === undefined ? "ok" : formatValue(s.result, MAX_VALUE)}`;
}

/** The trace, one step a line; the steps of the racing pair, when given, are marked. */
export function formatTrace(trace: Trace, racingPair?: readonly [number, number]): string {
  const width = Math.max(5, ...trace.actors.map((a) => (a.domain === "dom0" ? a.name : `${a.name}@${a.domain}`).length));
  const steps = trace.steps;
  const shown = steps.length > MAX_STEPS ? steps.slice(steps.length - MAX_STEPS) : steps;
  const lines = shown.map((s) => formatStep(s, width) + (racingPair?.includes(s.step) ? "   ◀ race" : ""));
  if (shown.length < steps.length) lines.unshift(`  … ${steps.length - shown.length} earlier steps (see --json for all)`);
  if (steps.length === 0) lines.push("  (no steps)");
  return lines.join("\n");
}

/** An argument as a shell reads it back. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Words wrapped to `width` columns, each line starting with `indent`. */
export function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}
