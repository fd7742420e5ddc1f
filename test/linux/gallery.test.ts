// The kernel's gallery lessons, each held to what it claims: under its
// "before" configuration exhaustive exploration finds the violation and the
// schedule it reports replays it; under every "after" configuration (or the
// fixed script) exploration completes within its bounds with no violation,
// and every "sometimes" property held, so the pass is not vacuous (the race
// window was reached and closed, not missed).

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { GALLERY, galleryEntry, type LessonConfig } from "../../web/src/scenarios";
import { verify } from "../../web/src/sim/verify";

const load = async (file: string) => (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${file}`, import.meta.url).pathname)).default as ScenarioDefinition;

async function scenarioFor(id: string, c: LessonConfig) {
  const entry = galleryEntry(c.scenario ?? id)!;
  const def = await load(entry.file);
  return buildScenario(def, resolveConfig(c.kernel ?? def.kernel, c.patches ?? def.patches));
}

const describeConfig = (c: LessonConfig) => c.scenario ?? `${c.kernel ?? "its kernel"} + ${JSON.stringify(c.patches ?? "its patches")}`;

/** The lessons of the kernel model (the Xen lessons have their own test in test/xen). */
const KERNEL_LESSONS = ["losetup-find-free", "stale-diskseq", "dm-name-reuse", "dm-unknown-flags", "vm-shutdown-leak-kernel"];

describe("the kernel's gallery lessons", () => {
  it("are all in the gallery, each with a before and an after", () => {
    for (const id of KERNEL_LESSONS) expect(galleryEntry(id)?.before, id).toBeDefined();
  });

  for (const e of GALLERY.filter((x) => KERNEL_LESSONS.includes(x.id))) {
    it(`${e.id}, before (${describeConfig(e.before!)}): exploration finds the violation and its schedule replays it`, async () => {
      const b = await scenarioFor(e.id, e.before!);
      const found = await verify(b.spec, b.props, { mode: "explore", maxSeconds: 60 });
      expect(found.error).toBeUndefined();
      expect(found.verdict).toBe("violation");
      const v = found.violations[0]!;
      const replay = await verify(b.spec, b.props, { mode: "run", schedule: v.schedule });
      expect(replay.violations[0]).toMatchObject({ invariant: v.invariant, message: v.message });
    }, 120_000);

    for (const after of e.after ?? []) {
      it(`${e.id}, after (${describeConfig(after)}): exploration completes with no violation, and the race window is reached`, async () => {
        const b = await scenarioFor(e.id, after);
        const r = await verify(b.spec, b.props, { mode: "explore", maxSeconds: 120 });
        expect(r.error).toBeUndefined();
        expect(r.violations.map((v) => v.message)).toEqual([]);
        expect(r.complete).toBe(true);
        expect(r.sometimes.length).toBeGreaterThan(0);
        expect(r.sometimes.filter((s) => !s.held)).toEqual([]);
        expect(r.verdict).toBe("pass");
      }, 180_000);
    }
  }
});

describe("vm-shutdown-leak-kernel under the teaching switch rfc-dm-refcount-bug", () => {
  it("the RFC's double-counted open leaks the dm device again, even with dm-fd", async () => {
    const def = await load("vm-shutdown-leak-kernel.ts");
    const b = buildScenario(def, resolveConfig("linux-6.1", { preset: "rfc-v1", "rfc-dm-refcount-bug": true }));
    const r = await verify(b.spec, b.props, { mode: "explore", maxSeconds: 60 });
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]!.message).toMatch(/dm-0 of VM work still exist/);
  }, 120_000);
});
