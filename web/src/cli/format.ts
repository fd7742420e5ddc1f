// Human output: verdicts, traces in the vocabulary of the calls
// (`writeFile("/run/x", "1") → ok`, `readFile("/nope") → ENOENT`), replay
// commands. The JSON output is the results document itself; this is for
// people at a terminal.

import type { Trace, TraceStep } from "../sim/trace";

const MAX_VALUE = 60;
const MAX_STEPS = 300;

/** A short, JSON-like rendering of a value. */
export function formatValue(v: unknown): string {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === "bigint") return `${v}n`;
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? `<${x.length} bytes>` : x)) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

export function formatStep(s: TraceStep, actorWidth: number): string {
  const who = (s.domain === "dom0" ? s.actor : `${s.actor}@${s.domain}`).padEnd(actorWidth);
  const head = `  #${String(s.step).padEnd(4)}${who}  `;
  if (s.call === "log") return `${head}log: ${s.args.map((a) => (typeof a === "string" ? a : formatValue(a))).join(" ")}`;
  if (s.call === "<killed>") return `${head}killed (during ${String(s.args[0])})`;
  const call = `${s.call}(${s.args.map(formatValue).join(", ")})`;
  if (s.errno !== undefined) return `${head}${call} → ${s.errno}${s.message ? ` (${s.message.replace(`${s.errno}: `, "")})` : ""}`;
  return `${head}${call} → ${s.result === null || s.result === undefined ? "ok" : formatValue(s.result)}`;
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
