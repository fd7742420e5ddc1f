// Evaluating a transpiled scenario inside the sandbox worker, and mapping a
// stack frame of it back to the user's TypeScript.
//
// The editor's TypeScript worker emits CommonJS, so the module is a function
// of (require, exports, module) and its one import, "blocklab", is handed in
// here: the same API object the runtime was built with, so `instanceof
// SysError` holds in the script. The text gets a sourceURL, which V8 uses
// in stack frames; the source map then gives the TypeScript position.

import * as api from "../api/index";
import { formatValue } from "../sim/format-value";
import type { ScenarioCode, SourcePosition } from "../api/load-scenario";
import { SourceMap } from "./source-map";

export const SCRIPT_URL = "blocklab-scenario.js";
const PREFIX = "(function (require, exports, module) {";

export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportError";
  }
}

function requireFor(name: string): unknown {
  if (name === "blocklab") return api;
  throw new ImportError(`a scenario can import only "blocklab" (it imports ${formatValue(name)})`);
}

/** Runs the module's code and returns its exports. */
function evaluateModule(js: string): Record<string, unknown> {
  const body = js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
  // Indirect eval: global scope, no access to this module's variables.
  const factory = (0, eval)(`${PREFIX}${body}\n})\n//# sourceURL=${SCRIPT_URL}`) as (r: typeof requireFor, e: object, m: object) => void;
  const module = { exports: {} as Record<string, unknown> };
  factory(requireFor, module.exports, module);
  return module.exports;
}

/** Where in the user's TypeScript a stack's first frame inside the script is. */
function positionInStack(stack: string | undefined, sourceMap: SourceMap | undefined): SourcePosition | undefined {
  if (typeof stack !== "string") return undefined;
  const at = new RegExp(`${SCRIPT_URL.replace(/\./g, "\\.")}:(\\d+):(\\d+)`).exec(stack);
  if (!at) return undefined;
  const line = Number(at[1]);
  let column = Number(at[2]);
  if (line === 1) column = Math.max(1, column - PREFIX.length);
  if (!sourceMap) return { line, column };
  return sourceMap.original(line, column) ?? undefined;
}

function parseSourceMap(text: string | undefined): SourceMap | undefined {
  if (!text) return undefined;
  try {
    return new SourceMap(text);
  } catch {
    return undefined;
  }
}

/** The transpiled scenario for the front door (api/load-scenario.ts): evaluated here, its stacks mapped through its source map. */
export function sandboxCode(js: string, sourceMapText: string | undefined): ScenarioCode {
  const map = parseSourceMap(sourceMapText);
  return { evaluate: () => evaluateModule(js), locate: (stack) => positionInStack(stack, map) };
}
