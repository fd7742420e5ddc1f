// Every object the models put in the store is of a declared kind
// (sim/object-kind.ts): a key spelled by hand outside its declaration would
// split the footprints of its readers and writers without any other test
// failing. Random walks over every gallery lesson, under each of its
// configurations (and over a scenario with what no lesson has: an
// unprivileged process, a dm uuid), check every key the store holds after
// every step.

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { GALLERY, galleryEntry, type LessonConfig } from "../../web/src/scenarios";
import type { Execution } from "../../web/src/sim/execution";
import { declaredKinds } from "../../web/src/sim/object-kind";
import type { Properties } from "../../web/src/sim/properties";
import { randomWalk } from "../../web/src/sim/random-walk";

const load = async (file: string) => (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${file}`, import.meta.url).pathname)).default as ScenarioDefinition;

async function scenarioFor(id: string, c: LessonConfig) {
  const entry = galleryEntry(c.scenario ?? id)!;
  const def = await load(entry.file);
  return buildScenario(def, resolveConfig(c.kernel ?? def.kernel, c.patches ?? def.patches));
}

/** The kinds seen over all the walks. */
const seen = new Set<string>();

/** The first key the store holds that is not of exactly one declared kind. */
function strayKey(exec: Execution): string | undefined {
  const kinds = [...declaredKinds().values()];
  for (const key of exec.store.peekKeys()) {
    const of = kinds.filter((k) => k.is(key));
    if (of.length !== 1) return `${key} is of ${of.length === 0 ? "no declared kind" : `the kinds ${of.map((k) => k.name).join(", ")}`}`;
    seen.add(of[0]!.name);
  }
  return undefined;
}

/** What the lessons leave out: credentials (an unprivileged process), dm's uuid table, a buffered write (the page cache). */
const SUPPLEMENT: ScenarioDefinition = {
  files: { "/tmp/note": { content: "hello" } },
  actors: {
    admin: async (sys) => {
      await sys.dmsetup.create("vol", "0 8 zero", { uuid: "uuid-vol" });
      const fd = await sys.open("/dev/dm-0", { write: true });
      await sys.write(fd, 0, new Uint8Array([1]));
      await sys.close(fd);
      await sys.dmsetup.remove("vol");
    },
    user: { privileged: false, run: async (sys) => void (await sys.readFile("/tmp/note")) },
  },
};

const PROPS: Properties = { invariants: [{ name: "declared kinds", check: strayKey }], sometimes: [], deadlock: false };

describe("every store object is of one declared kind", () => {
  for (const e of GALLERY) {
    const configs = [...(e.before ? [e.before] : []), ...(e.after ?? [])];
    for (const c of configs.length > 0 ? configs : [{}]) {
      it(`${e.id} (${JSON.stringify(c)})`, async () => {
        const b = await scenarioFor(e.id, c);
        const r = await randomWalk(b.spec, PROPS, { seed: 7, maxExecutions: 12, maxSteps: 3000 });
        expect(r.violations.map((v) => v.message)).toEqual([]);
        expect(r.steps).toBeGreaterThan(0);
      }, 120_000);
    }
  }

  it("a scenario with an unprivileged process and a dm uuid", async () => {
    const b = buildScenario(SUPPLEMENT, resolveConfig("linux-6.1", "none"));
    const r = await randomWalk(b.spec, PROPS, { seed: 7, maxExecutions: 4 });
    expect(r.violations.map((v) => v.message)).toEqual([]);
  });

  it("and the walks met every declared kind", () => {
    expect([...declaredKinds().keys()].filter((k) => !seen.has(k)).sort()).toEqual([]);
  });
});
