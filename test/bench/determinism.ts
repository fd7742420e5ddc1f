// The determinism check: every gallery lesson explored from the command line
// (`blocklab explore ID --json`) several times, what was printed compared
// byte for byte, with each run's counterexample (steps, preemptions, proved
// shortest) and time. `npm run determinism` runs each 20 times; CI's cheap
// version is test/cli/determinism.test.ts.
//
// Standalone: node test/bench/launch.mjs test/bench/determinism.ts [--runs N] [--only id,id] [--json]

import { galleryExplorations, runCli } from "../support/gallery-explore";

export interface DeterminismRow {
  lesson: string;
  verdict: string;
  /** Steps of the printed counterexample (of the first violation), when there is one. */
  steps?: number;
  preemptions?: number;
  shortest?: boolean;
  runs: number;
  /** Distinct outputs over the runs: 1 when deterministic. */
  distinct: number;
  /** Median wall-clock milliseconds of one run. */
  ms: number;
}

interface Printed {
  verdict: string;
  violations: { preemptions?: number; shortest?: boolean; trace: { steps: unknown[] } }[];
}

export async function determinism(opts: { runs: number; only?: string[]; log?: (s: string) => void }): Promise<DeterminismRow[]> {
  const rows: DeterminismRow[] = [];
  for (const g of galleryExplorations(opts.only)) {
    const outputs = new Set<string>();
    const ms: number[] = [];
    let first: Printed | undefined;
    for (let i = 0; i < opts.runs; i++) {
      const t0 = performance.now();
      const { stdout } = await runCli(g.argv);
      ms.push(performance.now() - t0);
      outputs.add(stdout);
      first ??= JSON.parse(stdout) as Printed;
    }
    const v = first!.violations[0];
    const row: DeterminismRow = {
      lesson: g.id, verdict: first!.verdict,
      ...(v ? { steps: v.trace.steps.length, preemptions: v.preemptions, shortest: v.shortest } : {}),
      runs: opts.runs, distinct: outputs.size, ms: Math.round([...ms].sort((a, b) => a - b)[ms.length >> 1]!),
    };
    opts.log?.(`determinism: ${row.lesson}: ${row.verdict}${v ? `, ${row.steps} steps, ${row.preemptions} preemptions${row.shortest ? " (shortest)" : ""}` : ""}; ${row.distinct} distinct output(s) in ${row.runs} runs, ${row.ms} ms each`);
    rows.push(row);
  }
  return rows;
}

if (process.argv[1]?.endsWith("determinism.ts")) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf("--runs");
  const j = argv.indexOf("--only");
  const rows = await determinism({ runs: i >= 0 ? Number(argv[i + 1]) : 20, only: j >= 0 ? argv[j + 1]!.split(",") : undefined, log: (s) => process.stderr.write(s + "\n") });
  if (argv.includes("--json")) process.stdout.write(JSON.stringify(rows) + "\n");
  else {
    const t = [["lesson", "verdict", "steps", "preemptions", "shortest", "runs", "distinct outputs", "ms (median)"],
      ...rows.map((r) => [r.lesson, r.verdict, String(r.steps ?? ""), String(r.preemptions ?? ""), r.shortest === undefined ? "" : String(r.shortest), String(r.runs), String(r.distinct), String(r.ms)])];
    const w = t[0]!.map((_, c) => Math.max(...t.map((r) => r[c]!.length)));
    process.stdout.write(t.map((r) => r.map((x, c) => x.padEnd(w[c]!)).join("  ").trimEnd()).join("\n") + "\n");
  }
  if (rows.some((r) => r.distinct !== 1)) process.exitCode = 1;
}
