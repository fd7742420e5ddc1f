// Conformance with real kernels: prober.c's sequence of loop and
// device-mapper calls (ported in prober.ts) runs through the emulated
// kernel's Sys, as an ordinary one-actor scenario, under linux-6.1.192 and
// linux-6.12, and every record is compared with what Debian's 6.1.192 and
// 6.12.117 kernels answered (test/fixtures/golden). A mismatch is a bug in
// the model, not in the trace. What is compared (docs/linux-model.md §8.1):
// return value and errno (for open only success or failure: fd numbers are
// incidental), diskseq from sysfs and BLKGETDISKSEQ, loop status, the dm
// header, device lists, /sys/block, bytes read, stat results, and the
// prober's own comparisons. Not compared: uname, poll counts, sleeps.
// Records marked racy may match either kernel's answer.
//
// The page cache, sysfs slaves/ and the block layer's own calls have no
// golden record; source-prober.ts makes them, and test/fixtures/from-source/
// holds the answers written from the kernel sources (each record says so,
// and which source): compared the same way, but evidence of a weaker kind.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { KernelId } from "../../web/src/api/types";
import { verify } from "../../web/src/sim/verify";
import { runProber, type ProbeRecord } from "./prober";
import { runSourceProber } from "./source-prober";

const GOLDEN: Record<string, string> = {
  "linux-6.1.192": "golden-6.1.0-56-amd64.jsonl",
  "linux-6.12": "golden-6.12.117+deb12-amd64.jsonl",
};

function golden(kernel: string): ProbeRecord[] {
  const text = readFileSync(new URL(`../fixtures/golden/${GOLDEN[kernel]}`, import.meta.url), "utf8");
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ProbeRecord);
}

async function probe(kernel: KernelId, run = runProber, files = {}): Promise<{ records: ProbeRecord[]; verdict: string; error?: unknown }> {
  const records: ProbeRecord[] = [];
  const b = buildScenario({ files, actors: { prober: (sys) => run(sys, records) } }, resolveConfig(kernel, "none"));
  const r = await verify(b.spec, b.props, { mode: "run", maxSteps: 20_000 });
  return { records, verdict: r.verdict, error: r.error };
}

const NOT_COMPARED = new Set(["uname", "poll_until_gone", "poll_until_sysfs_gone", "sleep"]);

/** What of a record is compared: open's fd number and the notes' incidental values are left out. */
function comparable(r: ProbeRecord): unknown {
  if (NOT_COMPARED.has(r.op)) return { step: r.step, op: r.op, args: r.args };
  if (r.op === "open") return { ...r, ret: r.ret === null ? null : "fd" };
  // readdir order is the kernel's, not ours: compare /sys/block as a map.
  if (r.op === "list_sys_block_diskseq") return { ...r, block: Object.fromEntries(Object.entries(r.block as Record<string, number>).sort(([a], [b]) => (a < b ? -1 : 1))) };
  return r;
}

/** The first difference between two records, as a path and the two values. */
function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path || "record"}: emulator ${JSON.stringify(a)} vs kernel ${JSON.stringify(b)}`;
}

for (const kernel of ["linux-6.1.192", "linux-6.12"] as const) {
  describe(`conformance with a real ${kernel} kernel (golden trace ${GOLDEN[kernel]})`, async () => {
    const real = golden(kernel);
    const other = golden(kernel === "linux-6.12" ? "linux-6.1.192" : "linux-6.12");
    const ran = await probe(kernel);

    it("the prober runs to the end without a script error", () => {
      expect(ran.error).toBeUndefined();
      expect(ran.records.at(-1)?.op).toBe("done");
      expect(ran.records.length).toBe(real.length);
    });

    const steps = [...new Set(real.map((r) => r.step))];
    it.each(steps)("step %i: every record agrees", (step) => {
      const problems: string[] = [];
      real.forEach((want, i) => {
        if (want.step !== step) return;
        const got = ran.records[i];
        if (!got) { problems.push(`line ${i + 1} (${want.op}): no record from the emulator`); return; }
        const diff = firstDifference(comparable(got), comparable(want));
        if (!diff) return;
        // A racy record may show either kernel's answer.
        if (want.args.racy && other[i] && other[i]!.op === want.op && !firstDifference(comparable(got), comparable(other[i]!))) return;
        problems.push(`line ${i + 1} ${want.op} ${JSON.stringify(want.args)}: ${diff}`);
      });
      expect(problems).toEqual([]);
    });
  });
}

const FROM_SOURCE: Record<string, string> = {
  "linux-6.1.192": "expected-6.1.192.jsonl",
  "linux-6.12": "expected-6.12.jsonl",
};

/** What the source prober works on: two 1 MiB images, as prober.c's step 0 makes them. */
const SOURCE_FILES = { "/img/a": { size: "1M", fill: 0xaa }, "/img/b": { size: "1M", fill: 0xbb } } as const;

for (const kernel of ["linux-6.1.192", "linux-6.12"] as const) {
  describe(`agreement with ${kernel} as read in its sources (records written from source, not recorded: ${FROM_SOURCE[kernel]})`, async () => {
    const text = readFileSync(new URL(`../fixtures/from-source/${FROM_SOURCE[kernel]}`, import.meta.url), "utf8");
    const expected = text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ProbeRecord);
    const ran = await probe(kernel, runSourceProber, SOURCE_FILES);

    it("every record is marked as written from source, and the prober runs to its end", () => {
      expect(expected.every((r) => r.origin === "from source" && typeof r.source === "string")).toBe(true);
      expect(ran.error).toBeUndefined();
      expect(ran.records.length).toBe(expected.length);
    });

    it.each([...new Set(expected.map((r) => r.step))])("step %i: every record agrees", (step) => {
      const problems: string[] = [];
      expected.forEach((want, i) => {
        if (want.step !== step) return;
        const { origin: _o, source: _s, ...record } = want;
        const diff = firstDifference(comparable(ran.records[i]!), comparable(record as ProbeRecord));
        if (diff) problems.push(`record ${i + 1} ${want.op} ${JSON.stringify(want.args)} (${String(want.source)}): ${diff}`);
      });
      expect(problems).toEqual([]);
    });
  });
}
