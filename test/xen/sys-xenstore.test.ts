// sys.xenstore as scenarios use it: one step per request, watch deliveries
// as steps of the watcher, transactions retried on EAGAIN, waitFor as one
// blocked step, the world view's xenstore(path).

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import type { SysError } from "../../web/src/sim/op";
import { verify } from "../../web/src/sim/verify";

const build = (def: ScenarioDefinition) => buildScenario(def, resolveConfig(undefined, undefined));
const run = async (def: ScenarioDefinition) => {
  const b = build(def);
  return verify(b.spec, b.props, { mode: "run" });
};
const explore = async (def: ScenarioDefinition) => {
  const b = build(def);
  return verify(b.spec, b.props, { mode: "explore", maxSeconds: 60 });
};

describe("sys.xenstore", () => {
  it("read, write, ls, rm, getPerms, setPerms are one step each, with xenstore's errnos", async () => {
    const seen: unknown[] = [];
    const r = await run({
      domains: { work: {} },
      actors: {
        tool: async (sys) => {
          await sys.xenstore.write("/local/domain/0/backend/vbd/1/51712/params", "/img");
          seen.push(await sys.xenstore.read("/local/domain/0/backend/vbd/1/51712/params"));
          seen.push(await sys.xenstore.ls("/local/domain/0/backend/vbd/1"));
          await sys.xenstore.setPerms("/local/domain/0/backend/vbd/1/51712/params", ["n0", "r1"]);
          seen.push(await sys.xenstore.getPerms("/local/domain/0/backend/vbd/1/51712/params"));
          await sys.xenstore.read("/nothing").catch((e: SysError) => seen.push(e.errno));
          await sys.xenstore.rm("/local/domain/0/backend/vbd/1/51712");
          seen.push(await sys.xenstore.ls("/local/domain/0/backend/vbd/1"));
        },
      },
    });
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual(["/img", ["51712"], ["n0", "r1"], "ENOENT", []]);
    expect(r.trace!.steps.filter((s) => s.actor === "tool").map((s) => s.call)).toEqual([
      "xenstore.write", "xenstore.read", "xenstore.ls", "xenstore.setPerms", "xenstore.getPerms", "xenstore.read", "xenstore.rm", "xenstore.ls",
    ]);
  });

  it("a guest's relative paths are under its home; it gets EACCES outside what it may touch", async () => {
    const seen: unknown[] = [];
    const r = await run({
      domains: { work: {} },
      actors: {
        guest: {
          domain: "work",
          run: async (sys) => {
            await sys.xenstore.write("data/x", "1");
            seen.push(await sys.xenstore.read("/local/domain/1/data/x"));
            await sys.xenstore.write("/local/domain/0/backend/vbd/1/51712/physical-device", "7:0").catch((e: SysError) => seen.push(e.errno));
          },
        },
      },
      invariants: [{ name: "view", atEnd: true, check: (w) => (w.xenstore("/local/domain/1/data/x") === "1" ? undefined : "not written") }],
    });
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual(["1", "EACCES"]);
  });

  it("watch: the first next() registers (a step) and takes the initial event (a step); each later event is a step of the watcher", async () => {
    const events: string[] = [];
    const r = await run({
      actors: {
        watcher: async (sys) => {
          for await (const ev of sys.xenstore.watch("/run/flag")) {
            events.push(ev.path);
            if (events.length === 3) break;
          }
        },
        writer: async (sys) => {
          await sys.xenstore.write("/run/flag", "1");
          await sys.xenstore.write("/run/flag/sub", "2");
        },
      },
    });
    expect(r.verdict).toBe("pass");
    expect(events).toEqual(["/run/flag", "/run/flag", "/run/flag/sub"]);
    const calls = r.trace!.steps.map((s) => `${s.actor}:${s.call}`);
    expect(calls.filter((c) => c.startsWith("watcher:"))).toEqual([
      "watcher:xenstore.watch", "watcher:xenstore.watch.next", "watcher:xenstore.watch.next", "watcher:xenstore.watch.next", "watcher:xenstore.unwatch",
      "watcher:exit", // a process that registered a watch ends with an exit step, which closes its connection
    ]);
  });

  it("a process that ends with a watch still registered: its exit step closes the connection, and the watch goes", async () => {
    const b = build({
      actors: {
        watcher: async (sys) => {
          const it = sys.xenstore.watch("/run/flag");
          await it.next(); // registered, initial event taken; never unwatched
        },
      },
    });
    const r = await verify(b.spec, b.props, { mode: "run" });
    expect(r.verdict).toBe("pass");
    const last = r.trace!.steps.filter((s) => s.actor === "watcher").at(-1)!;
    expect(last.call).toBe("exit");
    expect(last.writes.some((k) => k.startsWith("xswatch:"))).toBe(true);
  });

  it("waitFor is one step that blocks until the predicate holds", async () => {
    const r = await run({
      actors: {
        waiter: async (sys) => {
          const v = await sys.xenstore.waitFor("/run/state", (x) => x === "4");
          await sys.log(`got ${v}`);
        },
        setter: async (sys) => {
          await sys.xenstore.write("/run/state", "2");
          await sys.xenstore.write("/run/state", "4");
        },
      },
    });
    expect(r.verdict).toBe("pass");
    const calls = r.trace!.steps.filter((s) => !s.actor.startsWith("kernel")).map((s) => `${s.actor}:${s.call}`);
    expect(calls).toEqual(["setter:xenstore.write", "setter:xenstore.write", "waiter:xenstore.waitFor", "waiter:log"]);
  });

  it("transaction: two counters incremented in transactions never lose an update; the explorer finds the retry", async () => {
    const bump = async (sys: import("../../web/src/api/types").Sys) => {
      await sys.xenstore.transaction(async (tx) => {
        const v = Number(await tx.read("/run/counter"));
        await tx.write("/run/counter", String(v + 1));
      });
    };
    const def: ScenarioDefinition = {
      actors: {
        init: async (sys) => { await sys.xenstore.write("/run/counter", "0"); },
        a: async (sys) => { await sys.xenstore.waitFor("/run/counter", (v) => v !== undefined); await bump(sys); },
        b: async (sys) => { await sys.xenstore.waitFor("/run/counter", (v) => v !== undefined); await bump(sys); },
      },
      invariants: [{ name: "no lost update", atEnd: true, check: (w) => (w.xenstore("/run/counter") === "2" ? undefined : `counter is ${w.xenstore("/run/counter")}`) }],
    };
    const r = await explore(def);
    expect(r.error).toBeUndefined();
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    // Without the transaction, the same read-modify-write loses an update.
    const racy = await explore({
      ...def,
      actors: {
        init: def.actors.init!,
        a: async (sys) => { await sys.xenstore.waitFor("/run/counter", (v) => v !== undefined); const v = Number(await sys.xenstore.read("/run/counter")); await sys.xenstore.write("/run/counter", String(v + 1)); },
        b: async (sys) => { await sys.xenstore.waitFor("/run/counter", (v) => v !== undefined); const v = Number(await sys.xenstore.read("/run/counter")); await sys.xenstore.write("/run/counter", String(v + 1)); },
      },
    });
    expect(racy.verdict).toBe("violation");
  }, 60_000);

  it("a transaction body that throws aborts it; its writes never land", async () => {
    const r = await run({
      actors: {
        a: async (sys) => {
          await sys.xenstore.transaction(async (tx) => {
            await tx.write("/run/partial", "1");
            await tx.read("/run/missing");
          }).catch(() => undefined);
        },
      },
      invariants: [{ name: "aborted", atEnd: true, check: (w) => (w.xenstore("/run/partial") === undefined ? undefined : "an aborted write landed") }],
    });
    expect(r.verdict).toBe("pass");
    expect(r.trace!.steps.filter((s) => s.actor === "a").map((s) => s.call)).toEqual(["xenstore.transaction.start", "xenstore.write", "xenstore.read", "xenstore.transaction.abort", "exit"]);
  });
});
