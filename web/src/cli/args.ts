// The command line, parsed and checked before anything runs: a mistake here
// is bad usage (exit 3), never a scenario error.

import { DEFAULT_BASE_URL } from "../api/share-link";

export type ExploreMode = "exhaustive" | "random" | "pct";

export interface RunCommand {
  kind: "run" | "explore";
  /** A scenario file or a gallery id, as given. */
  target: string;
  json: boolean;
  kernel?: string;
  patches?: string;
  /** `--patch ID[=VALUE]` in order; a bare ID means on. */
  patch: [string, string][];
  /** The configuration flags as given, for the replay command. */
  configArgs: string[];
  seed?: number;
  schedule?: string;
  mode: ExploreMode;
  maxExecutions?: number;
  maxSeconds?: number;
  baseUrl: string;
}

export type Command = { kind: "help" } | { kind: "gallery"; json: boolean } | RunCommand;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `usage:
  npx blocklab run FILE.ts|GALLERY-ID [config flags] [--seed N] [--schedule S] [--json]
  npx blocklab explore FILE.ts|GALLERY-ID [config flags] [--mode exhaustive|random|pct]
                       [--max-executions N] [--max-seconds T] [--json]
  npx blocklab gallery [--json]

config flags (they override the scenario's own):
  --kernel K                  linux-6.1 | linux-6.1.192 | linux-6.12
  --patches P                 none | rfc-v1 | v2 | a comma-separated list of patch ids
  --patch ID[=on|off|SETTING] one switch, or a setting (dmFlagPolicy=..., diskseqFormat=...); repeatable
other flags:
  --base-url URL              where the browser links point (default ${DEFAULT_BASE_URL})
  --json                      print only the results as JSON

exit status: 0 pass, 1 violation, 2 error in the scenario, 3 bad usage, 4 vacuous
             (a "sometimes" property never held), 70 internal error (a bug in Blocklab)`;

const VALUE_FLAGS = ["--kernel", "--patches", "--patch", "--seed", "--schedule", "--mode", "--max-executions", "--max-seconds", "--base-url"];
const ONLY_FOR: Record<string, "run" | "explore"> = {
  "--schedule": "run",
  "--mode": "explore",
  "--max-executions": "explore",
  "--max-seconds": "explore",
};

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function parseArgs(argv: readonly string[]): Command {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) throw new UsageError("no command given");
  if (cmd === "help" || cmd === "--help" || cmd === "-h") return { kind: "help" };
  if (cmd !== "run" && cmd !== "explore" && cmd !== "gallery") throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);

  const positional: string[] = [];
  const flags: [string, string | undefined][] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--help" || a === "-h") return { kind: "help" };
    if (!a.startsWith("-") || a === "-") { positional.push(a); continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (name === "--json") {
      if (eq > 0) throw new UsageError("--json takes no value");
      flags.push([name, undefined]);
      continue;
    }
    if (!VALUE_FLAGS.includes(name)) throw new UsageError(`unknown flag ${name}`);
    let value: string | undefined = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (eq < 0 && value.startsWith("--")) throw new UsageError(`${name} needs a value (got the flag ${value})`);
    flags.push([name, value]);
  }

  const json = flags.some(([f]) => f === "--json");
  if (cmd === "gallery") {
    if (positional.length > 0 || flags.some(([f]) => f !== "--json")) throw new UsageError("gallery takes no arguments but --json");
    return { kind: "gallery", json };
  }

  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? `${cmd} needs a scenario file or a gallery id` : `${cmd} takes one scenario, got ${positional.length}: ${positional.join(" ")}`);
  const c: RunCommand = { kind: cmd, target: positional[0]!, json, patch: [], configArgs: [], mode: "exhaustive", baseUrl: DEFAULT_BASE_URL };
  const once = new Set<string>();
  for (const [flag, value] of flags) {
    if (flag === "--json") continue;
    const v = value!;
    const only = ONLY_FOR[flag];
    if (only && only !== cmd) throw new UsageError(`${flag} is for \`${only}\`, not \`${cmd}\``);
    if (flag !== "--patch") {
      if (once.has(flag)) throw new UsageError(`${flag} given twice`);
      once.add(flag);
    }
    switch (flag) {
      case "--kernel": c.kernel = v; c.configArgs.push(flag, v); break;
      case "--patches": c.patches = v; c.configArgs.push(flag, v); break;
      case "--patch": {
        const eq = v.indexOf("=");
        if (eq === 0 || v === "") throw new UsageError(`--patch takes ID or ID=on|off|SETTING, got ${JSON.stringify(v)}`);
        c.patch.push(eq < 0 ? [v, "on"] : [v.slice(0, eq), v.slice(eq + 1)]);
        c.configArgs.push(flag, v);
        break;
      }
      case "--seed": c.seed = integer(flag, v, 0, 2 ** 32 - 1); break;
      case "--schedule": c.schedule = v; break;
      case "--mode":
        if (v !== "exhaustive" && v !== "random" && v !== "pct") throw new UsageError(`--mode is exhaustive, random or pct, got ${JSON.stringify(v)}`);
        c.mode = v;
        break;
      case "--max-executions": c.maxExecutions = integer(flag, v, 1, Number.MAX_SAFE_INTEGER); break;
      case "--max-seconds": {
        const t = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || !(t > 0)) throw new UsageError(`--max-seconds takes a positive number, got ${JSON.stringify(v)}`);
        c.maxSeconds = t;
        break;
      }
      case "--base-url": c.baseUrl = v; break;
    }
  }
  return c;
}
