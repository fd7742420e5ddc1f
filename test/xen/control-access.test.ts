// Who may use the toolstack (sys.xl) and xenstore (sys.xenstore): only root,
// and for the toolstack only root in dom0 (xen/control-access.ts). Each
// escalation that used to work is refused as on a real system: EACCES for
// a process that is not root (the device nodes and xenstored's socket are
// root's), EPERM for a guest's or a driver domain's root (Xen refuses the
// toolstack's hypercalls to a domain that is not the control domain).

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { controlRefusal } from "../../web/src/xen/control-access";
import { outcome } from "../linux/harness";
import { drive, xsPeek } from "./blk-harness";

const VAULT = "/var/lib/images/vault.img";
const FILES = {
  "/var/lib/images/work.img": { size: "64K", owner: "work" },
  [VAULT]: { size: "64K", owner: "vault" },
} as const;

/** One actor, `who`, running `body`; work and vault are guests. */
async function as(who: { domain?: string; privileged?: boolean }, body: (sys: Sys, seen: string[]) => Promise<void>, extra: Partial<ScenarioDefinition> = {}) {
  const seen: string[] = [];
  const d = await drive({
    domains: { work: {}, vault: {} },
    files: FILES,
    ...extra,
    actors: { p: { ...who, run: (sys) => body(sys, seen) } },
  });
  return { d, seen };
}

/** Every xl command against vault, in order. */
async function everyXl(sys: Sys, seen: string[]): Promise<void> {
  seen.push(await outcome(sys.xl.blockAttach("vault", { target: "/var/lib/images/work.img", vdev: "xvdb" })));
  seen.push(await outcome(sys.xl.blockAttach("work", { target: VAULT, vdev: "xvdb" })));
  seen.push(await outcome(sys.xl.blockDetach("vault", "xvda")));
  seen.push(await outcome(sys.xl.shutdown("vault")));
  seen.push(await outcome(sys.xl.destroy("vault")));
  seen.push(await outcome(sys.xl.create("vault")));
  // Bad arguments too: the access check comes first.
  seen.push(await outcome(sys.xl.blockAttach("nowhere", { target: VAULT, vdev: "xvdb" })));
}

/** Every xenstore request, on a node the domain could otherwise read or write. */
async function everyXenstore(sys: Sys, seen: string[], path: string): Promise<void> {
  seen.push(await outcome(sys.xenstore.read(path)));
  seen.push(await outcome(sys.xenstore.write(`${path}/x`, "1")));
  seen.push(await outcome(sys.xenstore.ls(path)));
  seen.push(await outcome(sys.xenstore.rm(`${path}/x`)));
  seen.push(await outcome(sys.xenstore.getPerms(path)));
  seen.push(await outcome(sys.xenstore.setPerms(path, ["n0"])));
  seen.push(await outcome(sys.xenstore.waitFor(path, () => false)));
  seen.push(await outcome(sys.xenstore.watch(path).next()));
  seen.push(await outcome(sys.xenstore.transaction(async (tx) => tx.read(path))));
}

const vaultAlive = (d: Awaited<ReturnType<typeof drive>>) => d.exec.store.peek<{ state: string }>("xendom:2")?.state;

describe("the toolstack and xenstore: one permission model", () => {
  it("the rule: root in dom0 may use both; any other root xenstore only (EPERM for the toolstack); no one else either (EACCES)", () => {
    expect([[true, 0], [true, 1], [false, 0], [false, 1]].map(([root, domid]) =>
      [controlRefusal(root as boolean, domid as number, "privcmd"), controlRefusal(root as boolean, domid as number, "xenbus")]))
      .toEqual([[undefined, undefined], ["EPERM", undefined], ["EACCES", "EACCES"], ["EACCES", "EACCES"]]);
  });

  it("an unprivileged process in a guest: every xl command is EACCES; vault's image is never attached and vault lives", async () => {
    const { d, seen } = await as({ domain: "work", privileged: false }, everyXl);
    expect(seen).toEqual(Array(7).fill("EACCES"));
    expect(xsPeek(d.exec.store, "/local/domain/0/backend/vbd/1/51728")).toBeUndefined();
    expect(vaultAlive(d)).toBe("running");
  });

  it("root in a guest: every xl command is EPERM (Xen's XSM_PRIV), and nothing changes", async () => {
    const { d, seen } = await as({ domain: "work" }, everyXl);
    expect(seen).toEqual(Array(7).fill("EPERM"));
    expect(xsPeek(d.exec.store, "/local/domain/0/backend/vbd/1/51728")).toBeUndefined();
    expect(vaultAlive(d)).toBe("running");
  });

  it("root in a driver domain: xl is EPERM too (its xl devd needs xenstore only)", async () => {
    const { seen } = await as({ domain: "storage" }, everyXl, { domains: { storage: { backend: true }, work: {}, vault: {} } });
    expect(seen).toEqual(Array(7).fill("EPERM"));
  });

  it("a non-root process in dom0: every xl command and every xenstore request is EACCES", async () => {
    const { d, seen } = await as({ privileged: false }, async (sys, s) => {
      await everyXl(sys, s);
      await everyXenstore(sys, s, "/local/domain/0");
    });
    expect(seen).toEqual(Array(16).fill("EACCES"));
    expect(vaultAlive(d)).toBe("running");
    expect(xsPeek(d.exec.store, "/local/domain/0/x")).toBeUndefined();
  });

  it("a non-root process in a guest: every xenstore request is EACCES, even on the guest's own nodes", async () => {
    const { d, seen } = await as({ domain: "work", privileged: false }, (sys, s) => everyXenstore(sys, s, "data"));
    expect(seen).toEqual(Array(9).fill("EACCES"));
    expect(xsPeek(d.exec.store, "/local/domain/1/data/x")).toBeUndefined();
  });

  it("root in a guest uses xenstore as the guest: its own nodes, nothing of dom0's or vault's", async () => {
    const { seen } = await as({ domain: "work" }, async (sys, s) => {
      s.push(await sys.xenstore.read("domid"));
      s.push(await outcome(sys.xenstore.write("data/x", "1")));
      s.push(await outcome(sys.xenstore.write("/local/domain/0/x", "1")));
      s.push(await outcome(sys.xenstore.write("/local/domain/2/data/x", "1")));
    });
    expect(seen).toEqual(["1", "ok", "EACCES", "EACCES"]);
  });

  it("root in a driver domain uses xenstore as that domain: its backend directory of a disk it serves, nothing of dom0's", async () => {
    const BE = "/local/domain/1/backend/vbd/2/51712";
    const seen: string[] = [];
    const d = await drive({
      domains: { storage: { backend: true }, work: {} },
      files: { "/srv/work.img": { size: "64K", owner: "work", domain: "storage" } },
      actors: {
        toolstack: (sys) => sys.xl.blockAttach("work", { target: "/srv/work.img", vdev: "xvda", script: "qubes-block", backend: "storage" }),
        p: { domain: "storage", run: async (sys) => {
          await sys.xenstore.waitFor(`${BE}/state`, (v) => v === "4");
          seen.push(await outcome(sys.xenstore.write(`${BE}/x`, "1")));
          seen.push(await outcome(sys.xenstore.write("/local/domain/0/backend/vbd/2/51712/x", "1")));
        } },
      },
    }, { patches: "v2" });
    expect(d.errors).toEqual({});
    expect(seen).toEqual(["ok", "EACCES"]);
  });
});
