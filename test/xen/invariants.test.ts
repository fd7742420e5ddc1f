// The built-in `isolation` and `no-leak` invariants can fail: a scenario
// that breaks each (in the default schedule, no exploration needed), and
// the same world without the fault, which keeps them.

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { verify } from "../../web/src/sim/verify";

const FILES: ScenarioDefinition["files"] = {
  "/img/work.img": { size: "64K", owner: "work", fill: 0x11 },
  "/img/scratch.img": { size: "64K" },
};

async function run(def: ScenarioDefinition) {
  const b = buildScenario(def, resolveConfig("linux-6.1", "none"));
  return verify(b.spec, b.props, { mode: "run", maxSteps: 5000 });
}

/** A hotplug script that publishes whatever image it is told to, not `params`. */
const publishing = (image: string) => async function wrongImage(sys: Sys, be: string, action?: string) {
  if (action === "remove") return;
  const a = await sys.losetup.attach(image);
  await sys.xenstore.write(`${be}/physical-device`, `${a.major.toString(16)}:${a.minor.toString(16)}`);
};

const attachWith = (script: (sys: Sys, be: string) => Promise<void>): ScenarioDefinition => ({
  domains: { work: {}, vault: {} },
  files: { ...FILES, "/img/vault.img": { size: "64K", owner: "vault", fill: 0x22 } },
  actors: {
    toolstack: async (sys) => {
      await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script });
      await sys.xenstore.waitFor("/local/domain/1/device/vbd/51712/state", (v) => v === "4");
    },
  },
  invariants: ["isolation", "progress"],
});

describe("isolation", () => {
  it("fails when blkback gives a guest another domain's image", async () => {
    const r = await run(attachWith(publishing("/img/vault.img")));
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]).toMatchObject({ invariant: "isolation" });
    expect(r.violations[0]!.message).toMatch(/^work was given \/img\/vault\.img, the image of vault: blkback opened 7:0/);
  });

  it("fails when blkback exports an image other than the one the toolstack named (even one nobody owns)", async () => {
    const r = await run(attachWith(publishing("/img/scratch.img")));
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]!.message).toBe("blkback exported /img/scratch.img as work's disk, but the toolstack asked for /img/work.img");
  });

  it("holds for the image the toolstack named", async () => {
    const r = await run(attachWith(publishing("/img/work.img")));
    expect(r.violations).toEqual([]);
    expect(r.verdict).toBe("pass");
  });
});

describe("no-leak", () => {
  const leaky = (keepDomainAlive: boolean): ScenarioDefinition => ({
    domains: { work: {} },
    files: FILES,
    actors: {
      // A loop device over work's image that nobody detaches.
      tool: async (sys) => {
        await sys.losetup.attach("/img/work.img");
        if (!keepDomainAlive) await sys.xl.destroy("work");
      },
    },
    invariants: ["no-leak", "progress"],
  });

  it("fails when a loop device is still bound to a dead VM's image", async () => {
    const r = await run(leaky(false));
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]).toMatchObject({ invariant: "no-leak", message: "loop0 is still bound to /img/work.img of work, which is gone" });
  });

  it("is checked only once every VM is gone (a live VM may still use its devices)", async () => {
    const r = await run(leaky(true));
    expect(r.verdict).toBe("pass");
  });

  it("fails when a dm device still maps a dead VM's image", async () => {
    const r = await run({
      domains: { work: {} },
      files: FILES,
      actors: {
        tool: async (sys) => {
          // Autoclear, and the fd kept until dm holds the device: dm is what keeps it bound.
          const a = await sys.losetup.attach("/img/work.img", { autoclear: true, keepFd: true });
          await sys.dmsetup.create("work-disk", `0 128 linear ${a.path} 0`);
          await sys.xl.destroy("work");
        },
      },
      invariants: ["no-leak", "progress"],
    });
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]).toMatchObject({ invariant: "no-leak", message: "dm device work-disk still maps /img/work.img of work, which is gone" });
  });

  it("fails when a process still holds an fd at the end", async () => {
    const r = await run({
      domains: { work: {} },
      files: FILES,
      actors: {
        holder: { daemon: true, run: async (sys) => {
          await sys.open("/img/scratch.img");
          await sys.xenstore.waitFor("/never", (v) => v !== undefined);
        } },
        tool: async (sys) => { await sys.xl.destroy("work"); },
      },
      invariants: ["no-leak", "progress"],
    });
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]).toMatchObject({ invariant: "no-leak", message: "holder in dom0 still holds 1 open fd" });
  });

  it("holds when the toolstack detaches what it attached before the VM goes", async () => {
    const r = await run({
      domains: { work: {} },
      files: FILES,
      actors: {
        toolstack: async (sys) => {
          await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "block" });
          await sys.xl.shutdown("work");
        },
      },
      invariants: ["no-leak", "isolation", "progress"],
    });
    expect(r.violations).toEqual([]);
    expect(r.verdict).toBe("pass");
  });
});
