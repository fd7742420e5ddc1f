// Loading a scenario file in Node and pointing at the line that went wrong.
//
// The CLI itself runs inside Vite's module runner (bin/blocklab.mjs), so a
// dynamic import here is transpiled by the same runner, and the scenario's
// `import ... from "blocklab"` gets the very modules the CLI uses (one
// SysError class, not two). Parse errors come from the transform with a
// location; errors thrown while the file or an actor runs carry stacks whose
// positions are the file's own (the runner maps them back).

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

export interface Location {
  line: number;
  column: number;
}

export interface LoadFailure {
  message: string;
  location?: Location;
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** The first stack frame inside `file`: its line and column (1-based). */
export function locateInFile(error: unknown, file: string): Location | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return undefined;
  const abs = resolve(file);
  const url = pathToFileURL(abs).href;
  for (const line of stack.split("\n")) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (m && (m[1] === abs || m[1] === url)) return { line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** What went wrong loading `file`, for `FILE:LINE:COL: message`. */
export function describeLoadError(error: unknown, file: string): LoadFailure {
  const e = error as { errors?: { message?: string; loc?: { line: number; column: number; file?: string } }[]; message?: string; code?: string };
  // A transform (syntax) error: the first one, its first line, its location.
  const first = Array.isArray(e?.errors) ? e.errors.find((x) => x?.loc) ?? e.errors[0] : undefined;
  if (first?.message) {
    const text = first.message.replace(ANSI, "").split("\n")[0]!.trim();
    const loc = first.loc && (first.loc.file === undefined || resolve(first.loc.file) === resolve(file)) ? { line: first.loc.line, column: first.loc.column + 1 } : undefined;
    return { message: text.replace(/^\[[A-Z_]+\]\s*/, (tag) => `${tag.trim().slice(1, -1).toLowerCase().replace(/_/g, " ")}: `), location: loc };
  }
  // A ScenarioError's message says what it is; other errors keep their name (TypeError: ...).
  const named = error instanceof Error && error.name !== "Error" && error.name !== "ScenarioError";
  const message = error instanceof Error ? `${named ? `${error.name}: ` : ""}${error.message.replace(ANSI, "")}` : String(error);
  return { message, location: locateInFile(error, file) };
}

/** Imports a scenario file through the module runner the CLI runs in. */
export async function importScenarioFile(file: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ resolve(file))) as Record<string, unknown>;
}
