// "Nothing a guest writes can crash the model": a guest's root process
// writes an arbitrary string to one of its frontend keys and then an
// arbitrary state, while its own blkfront and dom0's blkback run the
// handshake, so the write lands at every point of it; and a driver
// domain's root does the same to the backend keys the guest's blkfront
// reads. Every run ends as a verdict, never as an internal error (an
// exception out of a kernel step ends the whole exploration), and
// `isolation` holds. Each key is written in each state of its writer's end,
// alone or followed by a state: explored exhaustively within 1,500 states
// (one value per case) and sampled at random (three values per case, ten
// schedules each); the two values, explored completely.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { verify, type VerifyResult } from "../../web/src/sim/verify";

/** Strings Linux's readers must survive: signs, wraps, exponents, prefixes, blanks, junk, nothing, huge, unicode, NUL. */
const HOSTILE = fc.oneof(
  fc.constantFrom("-1", "4294967296", "4294967295", "18446744073709551616", "1e300", "0x10", " 12", "12abc", "", " ", "-0", "+1",
    "9".repeat(400), "\u0661\u0662", "\u00a08", "8\u00008", "x86_64-abi", "x86_32-abi", "x86_16-abi", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
);

/** Every key of a frontend directory a Linux kernel reads, blkback's and blkfront's. */
const FRONTEND_KEYS = ["ring-ref", "ring-ref0", "event-channel", "protocol", "ring-page-order", "multi-queue-num-queues", "feature-persistent",
  "state", "backend-id", "backend", "virtual-device", "device-type"] as const;
/** The keys of a backend directory the guest's blkfront reads. */
const BACKEND_KEYS = ["state", "sectors", "info", "sector-size", "physical-sector-size", "feature-flush-cache", "max-ring-page-order", "multi-queue-max-queues"] as const;

const FE = "/local/domain/1/device/vbd/51712";

async function phy(sys: Sys, be: string): Promise<void> {
  await sys.xenstore.write(`${be}/physical-device`, "7:0");
}

/**
 * work's disk over loop0; once its frontend is in state `at` (1: before its
 * blkfront published its ring, 3: after, 4: connected; undefined: in any
 * state, at any point once the directory exists), work's root writes
 * `key` = `value`, then (unless `state` is null) its state.
 */
function frontendWriter(at: string | undefined, key: string, value: string, state: string | null): ScenarioDefinition {
  // The writer comes first: a bounded exhaustive search tries its steps early. blkback opens loop0
  // unbound (an empty disk): the handshake is what is explored, not the data.
  return {
    domains: { work: {} },
    actors: {
      guest: { domain: "work", run: async (sys) => {
        await sys.xenstore.waitFor(`${FE}/state`, (v) => (at === undefined ? v !== undefined : v === at));
        await sys.xenstore.write(`${FE}/${key}`, value);
        if (state !== null) await sys.xenstore.write(`${FE}/state`, state);
      } },
      toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy }); },
    },
    invariants: ["isolation"],
  };
}

// storage is domid 1, work domid 2.
const DBE = "/local/domain/1/backend/vbd/2/51712";

/** work's disk served by storage; once the backend is in state `at` (2: InitWait, 4: Connected), storage's root writes `key` = `value`, then (unless `state` is null) the backend's state. */
function backendWriter(at: string, key: string, value: string, state: string | null): ScenarioDefinition {
  return {
    domains: { storage: { backend: true }, work: {} },
    files: { "/srv/work.img": { size: "64K", owner: "work", domain: "storage" } },
    actors: {
      rogue: { domain: "storage", run: async (sys) => {
        await sys.xenstore.waitFor(`${DBE}/state`, (v) => v === at);
        await sys.xenstore.write(`${DBE}/${key}`, value);
        if (state !== null) await sys.xenstore.write(`${DBE}/state`, state);
      } },
      toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/srv/work.img", vdev: "xvda", script: phy, backend: "storage" }); },
    },
    invariants: ["isolation"],
  };
}

/** The state written after the value: mostly one that makes the other end read the keys again. */
const STATE = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("3", "4") },
  { weight: 2, arbitrary: fc.constantFrom("0", "1", "2", "5", "6", "7", "8") },
  { weight: 1, arbitrary: HOSTILE },
);

/** A run's outcome, or the internal error that escaped it. */
async function outcome(def: ScenarioDefinition, mode: "explore" | "random", seed: number): Promise<VerifyResult | { internal: unknown }> {
  const b = buildScenario(def, resolveConfig("linux-6.1", "v2"));
  try {
    return mode === "explore" ? await verify(b.spec, b.props, { mode, maxStates: 1500 }) : await verify(b.spec, b.props, { mode, seed, maxExecutions: 10 });
  } catch (e) {
    return { internal: e };
  }
}

function expectSound(r: VerifyResult | { internal: unknown }): void {
  expect("internal" in r ? r.internal : undefined).toBeUndefined();
  const v = r as VerifyResult;
  expect(v.error).toBeUndefined();
  expect(v.violations.map((x) => x.message)).toEqual([]);
}

/** Runs of each case's property, per mode. */
const RUNS = { explore: 1, random: 3 };

/** Each key, written in each state of the writer's end, alone or followed by a state. */
const frontendCases = FRONTEND_KEYS.flatMap((key) => ["1", "3", "4"].flatMap((at) => [[key, at, "alone"], [key, at, "then a state"]] as const));
const backendCases = BACKEND_KEYS.flatMap((key) => ["2", "4"].flatMap((at) => [[key, at, "alone"], [key, at, "then a state"]] as const));
const then = (follow: string) => (follow === "alone" ? fc.constant(null) : STATE);

describe("hostile xenstore values never end a run in an internal error", () => {
  // Complete explorations (about 24,000 and 35,000 states): the two values the issue found, written at any
  // point of the handshake. Bounded ones below try every key; a bounded search covers a prefix of the schedules.
  it.each([["ring-ref", "-1"], ["backend-id", "-1"]])("a guest's %s of %j at any point, then Initialised: every schedule (complete)", async (key, value) => {
    const b = buildScenario(frontendWriter(undefined, key, value, "3"), resolveConfig("linux-6.1", "v2"));
    const r = await verify(b.spec, b.props, { mode: "explore", maxStates: 60_000 });
    expectSound(r);
    expect(r.complete).toBe(true);
  }, 120_000);

  for (const mode of ["explore", "random"] as const) {
    it.each(frontendCases)(`a guest's frontend key %s, written in state %s, %s (${mode})`, async (key, at, follow) => {
      await fc.assert(
        fc.asyncProperty(HOSTILE, then(follow), fc.nat(), async (value, state, seed) => {
          expectSound(await outcome(frontendWriter(at, key, value, state), mode, seed));
        }),
        { seed: 0x6e57, numRuns: RUNS[mode] },
      );
    }, 120_000);

    it.each(backendCases)(`a driver domain's backend key %s, written in state %s, %s, read by the guest's blkfront (${mode})`, async (key, at, follow) => {
      await fc.assert(
        fc.asyncProperty(HOSTILE, then(follow), fc.nat(), async (value, state, seed) => {
          expectSound(await outcome(backendWriter(at, key, value, state), mode, seed));
        }),
        { seed: 0xd0d0, numRuns: RUNS[mode] },
      );
    }, 120_000);
  }
});
