import { describe, expect, it } from "vitest";
import { buildScenario, worldView } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { SysError } from "../../web/src/api/index";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { GALLERY } from "../../web/src/scenarios";
import { Execution } from "../../web/src/sim/execution";
import { verify } from "../../web/src/sim/verify";

// Scenario files import "blocklab": vitest.config.ts maps it to the API, as
// bin/blocklab.mjs does for the CLI.

const config = resolveConfig(undefined, undefined);
const build = (def: ScenarioDefinition) => buildScenario(def, config);

async function runDefault(def: ScenarioDefinition) {
  const b = build(def);
  return { b, r: await verify(b.spec, b.props, { mode: "run" }) };
}

describe("buildScenario: the world and the actors", () => {
  it("gives dom0 domid 0 and the guests 1, 2, ... in order", () => {
    const b = build({ domains: { work: {}, vault: {}, sys: {} }, actors: { a: async () => {} } });
    expect(b.domains).toEqual([{ name: "dom0", domid: 0 }, { name: "work", domid: 1 }, { name: "vault", domid: 2 }, { name: "sys", domid: 3 }]);
  });

  it("puts the files in the initial store: text, and images as data-plane images with a size, an owner and a write counter", async () => {
    const b = build({
      domains: { work: {} },
      files: { "/img": { size: "8M", owner: "work" }, "/plain.img": { size: 1024 }, "/run/state": { content: "0" }, "/etc/hostname": { content: "work", domain: "work" } },
      actors: { a: async () => {} },
    });
    const exec = new Execution(b.spec);
    await exec.start();
    expect(exec.store.peek("file:dom0:/img")).toEqual({ size: 8 << 20, owner: "work", image: 0, gen: 0 });
    expect(exec.store.peek("file:dom0:/plain.img")).toEqual({ size: 1024, image: 1, gen: 0 });
    expect(b.machine.dp!.imageSize(0)).toBe(8 << 20);
    expect(exec.store.peek("file:dom0:/run/state")).toEqual({ content: "0" });
    expect(exec.store.peek("file:work:/etc/hostname")).toEqual({ content: "work" });
    const w = worldView(exec.store);
    expect(w.readFile("dom0", "/run/state")).toBe("0");
    expect(w.readFile("dom0", "/img")).toBeUndefined(); // an image is not text
    expect(w.exists("dom0", "/img")).toBe(true);
    expect(w.exists("dom0", "/etc/hostname")).toBe(false); // another domain's file
    expect(w.xenstore("/local/domain/0/name")).toBe("Domain-0");
    expect(w.xenstore("/local/domain/0/nothing")).toBeUndefined();
    // The kernel booted with max_loop=8: loop0..7, unbound, diskseq 1..8.
    expect(w.devices("dom0").map((d) => [d.name, d.diskseq, d.state])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`loop${i}`, i + 1, "unbound"]));
  });

  it("runs actors in dom0 by default and in their own domain's files otherwise", async () => {
    const { r } = await runDefault({
      domains: { work: {} },
      files: { "/etc/hostname": { content: "work", domain: "work" }, "/img": { size: 512 } },
      actors: {
        host: async (sys) => {
          expect(sys.domain).toBe("dom0");
          expect(await sys.exists("/etc/hostname")).toBe(false);
          await sys.readFile("/img").catch(async (e: SysError) => { await sys.log(e.errno); });
        },
        guest: { domain: "work", run: async (sys) => { await sys.writeFile("/seen", await sys.readFile("/etc/hostname")); } },
      },
    });
    expect(r.verdict).toBe("pass");
    const steps = r.trace!.steps.map((s) => [s.actor, s.domain, s.call, s.errno ?? s.result]);
    expect(steps).toEqual([
      ["host", "dom0", "exists", false],
      ["host", "dom0", "readFile", "EINVAL"],
      ["host", "dom0", "log", null],
      ["guest", "work", "readFile", "work"],
      ["guest", "work", "writeFile", null],
    ]);
    expect(r.trace!.steps[2]!.args).toEqual(["EINVAL"]);
    expect(r.trace!.steps[4]!.writes).toEqual(["file:*", "file:work:*", "file:work:/seen"]);
  });

  it("files: ENOENT when missing, EINVAL for a relative path, exists never fails; errors are SysErrors", async () => {
    const seen: string[] = [];
    const { r } = await runDefault({
      actors: {
        a: async (sys) => {
          for (const f of [() => sys.readFile("/missing"), () => sys.writeFile("relative", "x"), () => sys.readFile("relative")]) {
            try { await f(); } catch (e) { seen.push(e instanceof SysError ? e.errno : `not a SysError: ${String(e)}`); }
          }
          seen.push(String(await sys.exists("relative")), String(await sys.exists("/missing")));
          await sys.writeFile("/new/deep/path", "created");
          seen.push(await sys.readFile("/new/deep/path"));
        },
      },
    });
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual(["ENOENT", "EINVAL", "EINVAL", "false", "false", "created"]);
    expect(r.trace!.steps[0]).toMatchObject({ call: "readFile", errno: "ENOENT", message: "ENOENT: /missing: no such file or directory" });
  });

  it("xl and disk calls are emulated now: a guest that is not in the scenario is EINVAL, in one step (after the access check, as xl opens privcmd first)", async () => {
    const { r } = await runDefault({
      actors: {
        a: async (sys) => {
          await sys.xl.blockAttach("work", { target: "/img", vdev: "xvda", script: async () => {} }).catch((e: SysError) => expect(e.errno).toBe("EINVAL"));
        },
      },
    });
    expect(r.verdict).toBe("pass");
    expect(r.trace!.steps.map((s) => [s.call, s.errno])).toEqual([["xl block-attach", "EINVAL"]]);
  });

  it("a call made before the previous one finished is a script error, not a silent overwrite", async () => {
    const { b, r } = await runDefault({
      actors: { a: async (sys) => { void sys.log("first"); await sys.readFile("/x"); } },
    });
    expect(r.verdict).toBe("error");
    expect(r.error!.message).toMatch(/a made a second call \(readFile\) while log had not returned: await every call/);
    expect(b.diagnostics.scriptError?.actor).toBe("a");
  });

  it("a thrown bug in an actor is an error verdict; an uncaught SysError just ends the actor", async () => {
    const bug = await runDefault({ actors: { a: async (sys) => { await sys.log("x"); (undefined as unknown as { f(): void }).f(); } } });
    expect(bug.r.verdict).toBe("error");
    expect(bug.r.error).toMatchObject({ actor: "a" });
    expect(bug.b.diagnostics.scriptError!.error).toBeInstanceOf(TypeError);
    const errno = await runDefault({ actors: { a: async (sys) => { await sys.readFile("/nope"); } } });
    expect(errno.r.verdict).toBe("pass");
  });
});

describe("buildScenario: properties", () => {
  it("defaults to every built-in invariant, all of them checked", () => {
    const all = build({ actors: { a: async () => {} } });
    expect(all.props.deadlock).toBe(true);
    expect(all.props.invariants.map((i) => i.name)).toEqual(["isolation", "no-stale-open", "no-leak"]);
    const none = build({ actors: { a: async () => {} }, invariants: [] });
    expect(none.props.deadlock).toBe(false);
    const some = build({ actors: { a: async () => {} }, invariants: ["no-leak", { name: "c", check: () => undefined }] });
    expect(some.props).toMatchObject({ deadlock: false, invariants: [{ name: "c", atEnd: false }, { name: "no-leak", atEnd: true }] });
  });

  it("custom checks see the world: a message or false is a violation, undefined or true holds", async () => {
    const def = (check: () => unknown): ScenarioDefinition => ({
      actors: { a: async (sys) => { await sys.writeFile("/f", "1"); } },
      invariants: [{ name: "f is 1", atEnd: true, check: check as () => string | undefined }],
    });
    expect((await runDefault(def(() => undefined))).r.verdict).toBe("pass");
    expect((await runDefault(def(() => true))).r.verdict).toBe("pass");
    const f = (await runDefault(def(() => false))).r;
    expect(f.violations[0]).toMatchObject({ invariant: "f is 1", message: "f is 1 does not hold" });
    const m = (await runDefault(def(() => "no good"))).r;
    expect(m.violations[0]!.message).toBe("no good");
    const thrown = await runDefault(def(() => { throw new RangeError("oops"); }));
    expect(thrown.r.verdict).toBe("error");
    expect(thrown.r.error!.message).toBe('invariant "f is 1": RangeError: oops');
  });

  it("a sometimes property never met makes a pass vacuous", async () => {
    const def = (path: string): ScenarioDefinition => ({
      actors: { a: async (sys) => { await sys.writeFile("/a", "1"); } },
      sometimes: [{ name: "written", check: (w) => w.exists("dom0", path) }],
    });
    const b = build(def("/b"));
    expect((await verify(b.spec, b.props, { mode: "explore" })).verdict).toBe("vacuous");
    const a = build(def("/a"));
    expect((await verify(a.spec, a.props, { mode: "explore" })).verdict).toBe("pass");
  });

  it("progress is checked when asked for, and quiet while nothing in the model can block", async () => {
    // Nothing in the files model blocks; this pins down that progress is on and quiet.
    const { b, r } = await runDefault({ actors: { a: async (sys) => { await sys.exists("/x"); } }, invariants: ["progress"] });
    expect(b.props.deadlock).toBe(true);
    expect(r.verdict).toBe("pass");
  });
});

describe("the gallery", () => {
  const load = async (file: string) => (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${file}`, import.meta.url).pathname)).default as ScenarioDefinition;

  it("lists lessons with a title, a lesson text and an existing file", async () => {
    const ids = GALLERY.map((e) => e.id);
    expect(ids.slice(0, 2)).toEqual(["lost-update", "check-then-act"]);
    expect(ids).toEqual(expect.arrayContaining(["losetup-find-free", "losetup-find-free-retry", "stale-diskseq", "dm-name-reuse", "dm-unknown-flags", "vm-shutdown-leak-kernel"]));
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of GALLERY) for (const c of e.after ?? []) if (c.scenario) expect(ids).toContain(c.scenario);
    for (const e of GALLERY) {
      expect(e.lesson.length).toBeGreaterThan(100);
      expect((await load(e.file)).title).toBe(e.title);
    }
  });

  // The toy lessons (no kernel objects); the kernel's lessons have their own tests in test/linux/gallery.test.ts.
  for (const e of GALLERY.filter((x) => ["lost-update", "check-then-act"].includes(x.id))) {
    it(`${e.id}: passes in the default order, exploring finds the violation, and its schedule replays it`, async () => {
      const def = await load(e.file);
      const b = buildScenario(def, resolveConfig(def.kernel, def.patches));
      const run = await verify(b.spec, b.props, { mode: "run" });
      expect(run.verdict).toBe("pass");
      const found = await verify(b.spec, b.props, { mode: "explore" });
      expect(found.verdict).toBe("violation");
      const v = found.violations[0]!;
      const replay = await verify(b.spec, b.props, { mode: "run", schedule: v.schedule });
      expect(replay.verdict).toBe("violation");
      expect(replay.violations[0]).toMatchObject({ invariant: v.invariant, message: v.message, schedule: v.schedule });
      expect(replay.violations[0]!.trace.steps).toEqual(v.trace.steps);
    });
  }

  it("lost-update: the explorer reports the lost update itself", async () => {
    const def = await load("lost-update.ts");
    const b = buildScenario(def, config);
    const found = await verify(b.spec, b.props, { mode: "explore" });
    expect(found.violations[0]!.message).toBe("two VMs started but /run/blocklab/vms-started says 1: one update was lost");
    expect(found.violations[0]!.trace.steps.map((s) => `${s.actor} ${s.call} ${JSON.stringify(s.result)}`)).toEqual([
      'toolstack-a readFile "0"', 'toolstack-b readFile "0"', "toolstack-b writeFile null", "toolstack-a writeFile null",
    ]);
    expect(found.violations[0]!.preemptions).toBe(1); // shortened to the fewest preemptions
    expect(found.violations[0]!.racingPair).toEqual([2, 3]); // the two writes
  });
});
