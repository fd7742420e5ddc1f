// A scenario file as Node runs it, for the front door (api/load-scenario.ts).
//
// The CLI itself runs inside Vite's module runner (bin/blocklab.mjs), so a
// dynamic import here is transpiled by the same runner, and the scenario's
// `import ... from "blocklab"` gets the very modules the CLI uses (one
// SysError class, not two). Parse errors come from the transform with a
// location; errors thrown while the file or an actor runs carry stacks whose
// positions are the file's own (the runner maps them back).

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ScenarioCode, ScenarioProblem, SourcePosition } from "../api/load-scenario";

const ANSI = /\u001b\[[0-9;]*m/g;

/** The first frame of `stack` inside `file`: its line and column (1-based). */
function locateInFile(stack: string | undefined, file: string): SourcePosition | undefined {
  if (!stack) return undefined;
  const abs = resolve(file);
  const url = pathToFileURL(abs).href;
  for (const line of stack.split("\n")) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (m && (m[1] === abs || m[1] === url)) return { line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** A transform (syntax) error: its first error's first line, and where it is when that is in `file`. */
function transformProblem(error: unknown, file: string): ScenarioProblem | undefined {
  const e = error as { errors?: { message?: string; loc?: { line: number; column: number; file?: string } }[] } | null;
  const first = Array.isArray(e?.errors) ? e.errors.find((x) => x?.loc) ?? e.errors[0] : undefined;
  if (typeof first?.message !== "string") return undefined;
  const text = first.message.replace(ANSI, "").split("\n")[0]!.trim();
  const inFile = first.loc && (first.loc.file === undefined || resolve(first.loc.file) === resolve(file));
  return {
    phase: "load",
    // "[PARSE_ERROR] Expected ..." reads as "parse error: Expected ...".
    message: text.replace(/^\[[A-Z_]+\]\s*/, (tag) => `${tag.trim().slice(1, -1).toLowerCase().replace(/_/g, " ")}: `),
    ...(inFile ? { position: { line: first.loc!.line, column: first.loc!.column + 1 } } : {}),
  };
}

/** The scenario in `file`, imported through the module runner the CLI runs in. */
export function scenarioFile(file: string): ScenarioCode {
  return {
    evaluate: async () => (await import(/* @vite-ignore */ resolve(file))) as Record<string, unknown>,
    locate: (stack) => locateInFile(stack, file),
    explain: (error) => transformProblem(error, file),
  };
}
