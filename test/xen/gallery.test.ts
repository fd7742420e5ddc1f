// The Xen gallery lessons, held to what they claim (as test/linux/gallery.test.ts):
// under "before" exhaustive exploration finds the violation and its schedule
// replays it; under every "after" it completes with none, and every
// `sometimes` property held (the race window was reached).

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { galleryEntry, type LessonConfig } from "../../web/src/scenarios";
import { verify } from "../../web/src/sim/verify";

const XEN_LESSONS = ["loop-reuse-race"];

const load = async (file: string) => (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${file}`, import.meta.url).pathname)).default as ScenarioDefinition;

async function scenarioFor(id: string, c: LessonConfig) {
  const entry = galleryEntry(c.scenario ?? id)!;
  const def = await load(entry.file);
  return buildScenario(def, resolveConfig(c.kernel ?? def.kernel, c.patches ?? def.patches));
}

describe("the Xen gallery lessons", () => {
  for (const id of XEN_LESSONS) {
    const e = galleryEntry(id)!;
    it(`${id}, before: exploration finds the violation and its schedule replays it`, async () => {
      const b = await scenarioFor(id, e.before!);
      const found = await verify(b.spec, b.props, { mode: "explore", maxSeconds: 60 });
      expect(found.error).toBeUndefined();
      expect(found.verdict).toBe("violation");
      const v = found.violations[0]!;
      expect(v.invariant).toBe("isolation");
      const replay = await verify(b.spec, b.props, { mode: "run", schedule: v.schedule });
      expect(replay.violations[0]).toMatchObject({ invariant: v.invariant, message: v.message });
    }, 120_000);
    for (const after of e.after ?? []) {
      it(`${id}, after (${JSON.stringify(after)}): exploration completes with no violation, and the race window is reached`, async () => {
        const b = await scenarioFor(id, after);
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
