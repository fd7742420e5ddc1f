import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Execution } from "../../web/src/sim/execution";
import { decodeSchedule, encodeSchedule, ScheduleSyntaxError } from "../../web/src/sim/schedule";
import { canonical, hashValue } from "../../web/src/sim/hash";
import { Store, conflicts, emptyFootprint } from "../../web/src/sim/store";
import { toyScenario } from "../support/toy";

describe("the store", () => {
  it("records what a step reads and writes, and creating a member writes its collection", () => {
    const s = new Store();
    s.set("loop:0", { bound: false });
    const fp = emptyFootprint();
    s.recording = fp;
    s.get("loop:0");
    s.set("loop:1", { bound: true });
    s.list("dm");
    s.recording = null;
    expect([...fp.reads].sort()).toEqual(["dm:*", "loop:0"]);
    expect([...fp.writes].sort()).toEqual(["loop:*", "loop:1"]);
  });

  it("two creations commute; a creation and a listing do not", () => {
    const create = (k: string) => ({ reads: new Set<string>(), writes: new Set([k, "loop:*"]) });
    expect(conflicts(create("loop:1"), create("loop:2"))).toBe(false);
    expect(conflicts(create("loop:1"), { reads: new Set(["loop:*"]), writes: new Set<string>() })).toBe(true);
    expect(conflicts(create("loop:1"), create("loop:1"))).toBe(true);
  });

  it("restores to any checkpoint, and the fingerprint follows the contents, not the history", () => {
    const s = new Store();
    s.set("a:1", 1);
    const fp1 = s.fingerprintHex();
    const cp = s.checkpoint();
    s.set("a:2", 2);
    s.set("a:1", 5);
    s.delete("a:2");
    s.set("a:1", 1);
    expect(s.fingerprintHex()).toBe(fp1); // same contents by another route
    s.set("a:3", { x: [1, 2] });
    s.restore(cp);
    expect(s.fingerprintHex()).toBe(fp1);
    expect(s.peekKeys()).toEqual(["a:1"]);
    const t = new Store();
    t.set("a:1", 1);
    expect(t.fingerprintHex()).toBe(fp1);
  });
});

describe("the store's collections and hashes", () => {
  it("a key kind:scope:rest is in kind:* and kind:scope:*; listing a scope conflicts only with changes in it", () => {
    const s = new Store();
    const create = (key: string) => {
      const fp = emptyFootprint();
      s.recording = fp;
      s.set(key, 1);
      s.recording = null;
      return fp;
    };
    const listing = (scope?: string) => {
      const fp = emptyFootprint();
      s.recording = fp;
      const keys = s.list("loop", scope);
      s.recording = null;
      return { fp, keys };
    };
    const inDom0 = create("loop:dom0:0");
    const inWork = create("loop:work:0");
    expect([...inDom0.writes].sort()).toEqual(["loop:*", "loop:dom0:*", "loop:dom0:0"]);
    const dom0 = listing("dom0");
    expect(dom0.keys).toEqual(["loop:dom0:0"]);
    expect(conflicts(dom0.fp, inDom0)).toBe(true);
    expect(conflicts(dom0.fp, inWork)).toBe(false);
    expect(conflicts(listing().fp, inWork)).toBe(true);
    expect(listing().keys).toEqual(["loop:dom0:0", "loop:work:0"]);
    // A restore brings the scoped members back too.
    const cp = s.checkpoint();
    s.delete("loop:dom0:0");
    expect(s.list("loop", "dom0")).toEqual([]);
    s.restore(cp);
    expect(s.list("loop", "dom0")).toEqual(["loop:dom0:0"]);
  });

  it("hashValue: equal values hash alike whatever their key order; different values differ", () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.integer(), fc.double({ noNaN: true }), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null), tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
    })).value;
    const reversed = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reversed);
      if (v === null || typeof v !== "object") return v;
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).reverse().map(([k, x]) => [k, reversed(x)]));
    };
    fc.assert(fc.property(json, json, (a, b) => {
      expect(hashValue(reversed(a))).toEqual(hashValue(a));
      if (canonical(a) !== canonical(b)) expect(hashValue(a)).not.toEqual(hashValue(b));
    }), { numRuns: 2000 });
    // Types stay apart, and a cache by identity gives what computing gives.
    expect(hashValue("1")).not.toEqual(hashValue(1));
    expect(hashValue([])).not.toEqual(hashValue({}));
    expect(hashValue([1, 2])).not.toEqual(hashValue([2, 1]));
    const cache = new WeakMap<object, readonly [number, number]>();
    const v = { a: [1, { b: "x" }], c: null };
    expect(hashValue(v, cache)).toEqual(hashValue(v));
    expect(hashValue(v, cache)).toEqual(hashValue(structuredClone(v)));
  });
});

describe("schedule tokens", () => {
  it("round-trip any schedule and stay short for runs", () => {
    const transition = fc.record({
      actor: fc.integer({ min: 0, max: 40 }),
      kill: fc.option(fc.constant(true), { nil: undefined }),
      choices: fc.option(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(transition, { maxLength: 60 }), (ts) => {
      const back = decodeSchedule(encodeSchedule(ts));
      expect(back.map((t) => ({ actor: t.actor, kill: t.kill, choices: t.choices }))).toEqual(ts.map((t) => ({ actor: t.actor, kill: t.kill, choices: t.choices })));
    }));
    expect(encodeSchedule([{ actor: 0 }, { actor: 0 }, { actor: 0 }, { actor: 1 }, { actor: 0, kill: true }, { actor: 2, choices: [1] }])).toBe("1.0X3-1-0K-2.1");
  });

  it("a damaged token is a clear error", () => {
    expect(() => decodeSchedule("2.0-1")).toThrow(ScheduleSyntaxError);
    expect(() => decodeSchedule("1.0-?")).toThrow(/bad schedule item "\?"/);
  });
});

describe("executions", () => {
  it("the same schedule gives the same steps, and going back replays only the actors that moved", async () => {
    const spec = toyScenario({
      a: async (s) => { const v = await s.read("n"); await s.write("n", v + 1); },
      b: async (s) => { const v = await s.read("n"); await s.write("n", v + 2); },
    });
    const run = async () => {
      const e = new Execution(spec);
      await e.start();
      for (const actor of [0, 1, 1, 0]) await e.step({ actor });
      return e.steps.map((st) => [st.actor, st.call, st.args, st.outcome]);
    };
    expect(await run()).toEqual(await run());
    const e = new Execution(spec);
    await e.start();
    await e.step({ actor: 0 });
    const cp = e.checkpoint();
    const key = e.stateKeyHex();
    await e.step({ actor: 1 });
    await e.step({ actor: 0 });
    await e.restore(cp);
    expect(e.stateKeyHex()).toBe(key);
    expect(e.actors.map((a) => a.position)).toEqual([1, 0]);
    await e.step({ actor: 0 });
    expect(e.store.peek("var:n")).toBe(1);
  });
});

describe("script errors", () => {
  it("a call that is not awaited before the next one is a script error naming both calls", async () => {
    const { verify } = await import("../../web/src/sim/verify");
    const spec = toyScenario({ a: async (s) => { void s.write("x", 1); await s.write("y", 2); } });
    const r = await verify(spec, { invariants: [], sometimes: [], deadlock: true }, { mode: "run" });
    expect(r.verdict).toBe("error");
    expect(r.error?.message).toMatch(/a made a second call \(write\) while write had not returned: await every call/);
  });

  it("an exception in an actor's code ends the run as an error with the actor and the stack", async () => {
    const { verify } = await import("../../web/src/sim/verify");
    const spec = toyScenario({ a: async (s) => { await s.write("x", 1); (undefined as unknown as { f(): void }).f(); } });
    const r = await verify(spec, { invariants: [], sometimes: [], deadlock: true }, { mode: "explore" });
    expect(r).toMatchObject({ verdict: "error", error: { actor: "a" } });
    expect(r.error?.message).toMatch(/TypeError/);
    expect(r.error?.stack).toMatch(/store-and-schedule\.test\.ts/);
  });
});
