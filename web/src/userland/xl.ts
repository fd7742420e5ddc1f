// The toolstack: `xl` commands with libxl's ordering (tools/libs/light/
// libxl_disk.c, libxl_device.c). The protocol: docs/xen-protocol.md,
// "Attaching a disk" (steps 1-4), "Detaching a disk", "Who writes which
// key" and "Permissions libxl sets".
//
//   block-attach: one transaction writes the frontend directory (owned by
//     the guest, readable by the backend) and the backend directory (owned
//     by the backend, readable by the guest), both in state 1 with online
//     = 1; wait for the backend's InitWait; run `<script> add` and wait for
//     it to exit.
//   block-detach: one transaction sets online = 0 and state = 5 (unless
//     6); wait for state 6 (or the guest gone: libxl's 10 s timeout is
//     certain then); run `<script> remove`; remove the directories.
//   shutdown: control/shutdown = "poweroff"; wait until the guest's
//     devices are closing; then destroy.
//   destroy: the domain dies (xenstored removes what it owned, its
//     grants and rings go); then every disk is detached as above.
//
// A transaction is one step here: its reads and writes are private until
// it commits, so running them as separate steps would add no interleaving
// (and none can conflict with a transaction that is a single step).
//
// Every command first opens /dev/xen/privcmd and asks Xen for the domain
// list, which only root in the control domain may (xen/control-access.ts):
// the check is folded into the command's first step, and comes before any
// complaint about its arguments, as xl's libxl_ctx_alloc comes before the
// command.

import { SysError, type Op } from "../sim/op";
import type { Store } from "../sim/store";
import { fail } from "../linux/kernel";
import { XS_NODE } from "../xen/xenstore/node";
import { xsDirectory, xsRm, xsSetPerms, xsTryRead, xsWrite } from "../xen/xenstore";
import { BLKFRONT, vdevToDevid } from "../xen/blkfront";
import { BLKIF_RING } from "../xen/blkif-ring";
import { domidOf, isBackend, type XenKernel } from "../xen/xen-kernel";
import { XBDEV, XenbusState } from "../xen/xenbus";
import { awaitJob, queueJob, type HotplugFunction, type ScriptTable } from "./hotplug/runner";
import { domainAlive, domainGet, domainRunning } from "../xen/domain";
import { domainDestroy } from "../xen/domctl";
import { requireControl } from "../xen/control-access";
import { formatValue } from "../sim/format-value";

export interface XlEnv {
  call<R>(op: Op<R>): Promise<R>;
  k: XenKernel;
  scripts: ScriptTable;
  /** The toolstack process's name: job ids are `<actor>:<n>`. */
  actor: string;
  /** The domain the process runs in (only dom0's root may use the toolstack). */
  domid: number;
  jobs: { n: number };
}

export interface DiskSpec {
  target: string;
  vdev: string;
  mode?: "r" | "w";
  script?: "block" | "qubes-block" | HotplugFunction;
  /** xl's `backend=`: the domain that serves the disk (dom0 by default, or a driver domain). */
  backend?: string;
}

/** A command's first step, behind xl's access to privcmd and Xen's to the domain list. */
function privileged<R>(env: XlEnv, op: Op<R>): Op<R> {
  return {
    ...op,
    run: (ctx) => {
      requireControl(ctx, env.domid, "privcmd");
      return op.run(ctx);
    },
  };
}

/**
 * The command's checks of its arguments (`check`, which throws a SysError):
 * their result, or, when they fail, the command ends in one step that is
 * refused access first and otherwise fails with their error.
 */
async function checked<T>(env: XlEnv, call: string, args: readonly unknown[], check: () => T): Promise<T> {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    return env.call(privileged(env, { call, args, run: () => { throw e; } }));
  }
}

function nodeValue(store: Store, path: string): string | undefined {
  return XS_NODE.get(store, XS_NODE.key(path))?.value;
}

/** The frontend, backend and libxl directories of a disk (its backend: dom0 unless a driver domain serves it). */
function paths(front: number, devid: number, back = 0) {
  return {
    fe: `/local/domain/${front}/device/vbd/${devid}`,
    be: `/local/domain/${back}/backend/vbd/${front}/${devid}`,
    libxl: `/libxl/${front}/device/vbd/${devid}`,
  };
}

type DiskPaths = ReturnType<typeof paths>;

/** The domid `backend=` names: dom0, or a domain the scenario made a driver domain. */
function backendOf(k: XenKernel, d: DiskSpec, front: number): number {
  if (d.backend === undefined) return 0;
  const id = typeof d.backend === "string" ? domidOf(k, d.backend) : undefined;
  if (id === undefined || !isBackend(k, id)) fail("EINVAL", `backend ${formatValue(d.backend)} is not dom0 or a driver domain ({ backend: true }) of this scenario`);
  if (id === front) fail("EINVAL", `${k.domains[front]} cannot serve its own disk`);
  return id;
}

function guest(k: XenKernel, domain: unknown): number {
  const id = typeof domain === "string" ? domidOf(k, domain) : undefined;
  if (id === undefined || id === 0) fail("EINVAL", `${formatValue(domain)} is not a guest of this scenario`);
  return id;
}

/** libxl__device_disk_add's transaction: both directories, with their permissions, in state 1. */
function attachTransaction(k: XenKernel, domain: string, front: number, back: number, devid: number, d: DiskSpec, script: string): Op<void> {
  const p = paths(front, devid, back);
  return {
    call: "xenstore transaction (block-attach)",
    args: [domain, d.vdev, d.target],
    run: (ctx) => {
      if (!domainRunning(ctx.store, front)) fail("EINVAL", `domain ${domain} is not running`);
      if (!domainRunning(ctx.store, back)) fail("EINVAL", `backend domain ${k.domains[back]} is not running`);
      if (xsTryRead(ctx, 0, `${p.fe}/backend`) !== undefined || xsTryRead(ctx, 0, `${p.be}/frontend`) !== undefined) fail("EEXIST", `${d.vdev} already exists in ${domain}`);
      const w = (path: string, v: string) => xsWrite(ctx, 0, path, v);
      w(p.fe, "");
      xsSetPerms(ctx, 0, p.fe, [`n${front}`, `r${back}`]);
      w(`${p.fe}/backend`, p.be);
      w(`${p.fe}/backend-id`, String(back));
      w(`${p.fe}/virtual-device`, String(devid));
      w(`${p.fe}/device-type`, "disk");
      w(`${p.fe}/state`, String(XenbusState.Initialising));
      w(p.be, "");
      xsSetPerms(ctx, 0, p.be, [`n${back}`, `r${front}`]);
      w(`${p.be}/frontend`, p.fe);
      w(`${p.be}/frontend-id`, String(front));
      w(`${p.be}/params`, d.target);
      w(`${p.be}/script`, `/etc/xen/scripts/${script}`);
      w(`${p.be}/mode`, d.mode ?? "w");
      w(`${p.be}/type`, "phy");
      w(`${p.be}/dev`, d.vdev);
      w(`${p.be}/online`, "1");
      w(`${p.be}/state`, String(XenbusState.Initialising));
      w(`${p.libxl}/backend`, p.be);
      w(`${p.libxl}/frontend`, p.fe);
      w(`${p.libxl}/params`, d.target);
      w(`${p.libxl}/script`, script);
    },
  };
}

/** Waits until the backend's state is one of `states`, its directory is gone, or (with `orDead`) the guest is dead. */
function waitBackend(be: string, states: number[], front: number, orDead: boolean): Op<string | undefined> {
  return {
    call: "xenstore wait",
    args: [`${be}/state`, states],
    waitingFor: `${be}/state to become ${states.join(" or ")}`,
    ready: (store) => {
      const v = nodeValue(store, `${be}/state`);
      return v === undefined || states.includes(Number(v)) || (orDead && !domainRunning(store, front));
    },
    run: (ctx) => xsTryRead(ctx, 0, `${be}/state`),
  };
}

function scriptOf(d: DiskSpec): string {
  if (d.script === undefined) return "block";
  if (typeof d.script === "function") return d.script.name ? `user:${d.script.name}` : "user";
  if (d.script !== "block" && d.script !== "qubes-block") fail("EINVAL", `unknown hotplug script ${formatValue(d.script)}`);
  return d.script;
}

async function runHotplug(env: XlEnv, script: string, fn: HotplugFunction | undefined, be: string, action: "add" | "remove"): Promise<{ ok: boolean; error?: string }> {
  const id = `${env.actor}:${++env.jobs.n}`;
  if (fn) env.scripts.set(id, fn);
  await env.call(queueJob(id, { script, action, backend: be }));
  return env.call(awaitJob(id));
}

export async function xlBlockAttach(env: XlEnv, domain: string, d: DiskSpec): Promise<void> {
  const { front, back, devid, script } = await checked(env, "xl block-attach", [domain], () => {
    const front = guest(env.k, domain);
    if (typeof d !== "object" || d === null || typeof d.target !== "string" || typeof d.vdev !== "string") fail("EINVAL", "blockAttach takes { target, vdev, mode?, script?, backend? }");
    const back = backendOf(env.k, d, front);
    const devid = vdevToDevid(d.vdev);
    if (devid === undefined) fail("EINVAL", `${d.vdev} is not a virtual device name`);
    return { front, back, devid, script: scriptOf(d) };
  });
  const p = paths(front, devid, back);
  await env.call(privileged(env, attachTransaction(env.k, domain, front, back, devid, d, script)));
  const state = await env.call(waitBackend(p.be, [XenbusState.InitWait, XenbusState.Closing, XenbusState.Closed], front, true));
  if (state !== String(XenbusState.InitWait)) fail("EIO", `the backend of ${d.vdev} did not reach InitWait (state ${state ?? "gone"})`);
  const r = await runHotplug(env, script, typeof d.script === "function" ? d.script : undefined, p.be, "add");
  if (!r.ok) {
    await env.call(removeDirs(p));
    fail("EIO", `hotplug script ${script} failed: ${r.error}`);
  }
}

/** libxl__initiate_device_generic_remove's transaction: online 0, state 5 unless already 6. */
function detachTransaction(p: DiskPaths): Op<boolean> {
  return {
    call: "xenstore transaction (block-detach)",
    args: [p.be],
    run: (ctx) => {
      if (xsTryRead(ctx, 0, `${p.be}/state`) === undefined) return false;
      xsWrite(ctx, 0, `${p.be}/online`, "0");
      if (xsTryRead(ctx, 0, `${p.be}/state`) !== String(XenbusState.Closed)) xsWrite(ctx, 0, `${p.be}/state`, String(XenbusState.Closing));
      return true;
    },
  };
}

function removeDirs(p: DiskPaths): Op<void> {
  return {
    call: "xenstore rm (device)",
    args: [p.fe, p.be],
    run: (ctx) => {
      for (const path of [p.fe, p.be, p.libxl]) {
        try {
          xsRm(ctx, 0, path);
        } catch {
          // already gone with the domain
        }
      }
    },
  };
}

/** What libxl keeps of a disk under /libxl: its backend directory (which domain serves it) and its script. */
function libxlDisk(front: number, devid: number): Op<{ be: string | undefined; script: string | undefined }> {
  const libxl = paths(front, devid).libxl;
  return {
    call: "xenstore read",
    args: [`${libxl}/backend`, `${libxl}/script`],
    run: (ctx) => ({ be: xsTryRead(ctx, 0, `${libxl}/backend`), script: xsTryRead(ctx, 0, `${libxl}/script`) }),
  };
}

async function detach(env: XlEnv, front: number, devid: number): Promise<void> {
  const { be, script } = await env.call(libxlDisk(front, devid));
  const p = paths(front, devid);
  if (be !== undefined) p.be = be;
  if (await env.call(detachTransaction(p))) {
    await env.call(waitBackend(p.be, [XenbusState.Closed], front, true));
  }
  if (script !== undefined && !script.startsWith("user")) await runHotplug(env, script, undefined, p.be, "remove");
  else if (script !== undefined) {
    // A user function is called again with "remove" under the id it was attached with (if it is still known).
    const known = [...env.scripts.entries()].find(([, f]) => `user:${f.name}` === script || script === "user");
    await runHotplug(env, script, known?.[1], p.be, "remove");
  }
  await env.call(removeDirs(p));
}

export async function xlBlockDetach(env: XlEnv, domain: string, vdev: string): Promise<void> {
  const { front, devid } = await checked(env, "xl block-detach", [domain, vdev], () => {
    const front = guest(env.k, domain);
    const devid = typeof vdev === "string" ? vdevToDevid(vdev) : undefined;
    if (devid === undefined) fail("EINVAL", `${formatValue(vdev)} is not a virtual device name`);
    return { front, devid };
  });
  // libxl finds the disk (and the domain serving it) in its own copy.
  const libxl = paths(front, devid).libxl;
  const exists = await env.call<boolean>(privileged(env, { call: "xenstore read", args: [`${libxl}/backend`], run: (ctx) => xsTryRead(ctx, 0, `${libxl}/backend`) !== undefined }));
  if (!exists) fail("ENOENT", `${vdev} is not attached to ${domain}`);
  await detach(env, front, devid);
}

/** The guest's disks as libxl knows them (its private copy under /libxl). */
function disksOf(front: number): Op<number[]> {
  return {
    call: "xenstore directory",
    args: [`/libxl/${front}/device/vbd`],
    run: (ctx) => {
      try {
        return xsDirectory(ctx, 0, `/libxl/${front}/device/vbd`).map(Number);
      } catch {
        return [];
      }
    },
  };
}

/** The domain dies: its kernel's frontends go with its memory; Xen and xenstored forget it (domain.ts). */
function domainDeath(k: XenKernel, front: number): Op<void> {
  return {
    call: "domain destroy",
    args: [k.domains[front]],
    run: (ctx) => {
      if (!domainAlive(ctx.store, front)) return;
      for (const key of BLKFRONT.list(ctx.store, String(front))) {
        const fe = BLKFRONT.get(ctx.store, key)!;
        if (fe.ring !== null) k.dp!.frontendFree(fe.ring);
        BLKFRONT.delete(ctx.store, key);
        BLKIF_RING.delete(ctx.store, BLKIF_RING.key(front, fe.devid));
        XBDEV.delete(ctx.store, XBDEV.key(fe.nodename));
      }
      domainDestroy(ctx, k.dp, front);
    },
  };
}

export async function xlDestroy(env: XlEnv, domain: string): Promise<void> {
  const front = await checked(env, "xl destroy", [domain], () => guest(env.k, domain));
  await env.call(privileged(env, domainDeath(env.k, front)));
  for (const devid of await env.call(disksOf(front))) await detach(env, front, devid);
}

export async function xlShutdown(env: XlEnv, domain: string): Promise<void> {
  const front = await checked(env, "xl shutdown", [domain], () => guest(env.k, domain));
  await env.call<void>(privileged(env, { call: "xenstore write", args: [`/local/domain/${front}/control/shutdown`, "poweroff"], run: (ctx) => xsWrite(ctx, 0, `/local/domain/${front}/control/shutdown`, "poweroff") }));
  // xenbus_dev_shutdown: each connected frontend goes Closing and waits for its backend to follow.
  await env.call<void>({
    call: "wait for shutdown",
    args: [domain],
    waitingFor: `${domain}'s disks to close`,
    ready: (store) => BLKFRONT.list(store, String(front)).every((x) => {
      const fe = BLKFRONT.get(store, x)!;
      const s = Number(nodeValue(store, `${fe.nodename}/state`) ?? "0");
      const b = Number(nodeValue(store, `${fe.backend}/state`) ?? "0");
      return s !== XenbusState.Connected || b >= XenbusState.Closing || fe.phase === "closed";
    }),
    run: () => undefined,
  });
  await xlDestroy(env, domain);
}

export async function xlCreate(env: XlEnv, domain: string): Promise<void> {
  const front = await checked(env, "xl create", [domain], () => guest(env.k, domain));
  await env.call<void>(privileged(env, {
    call: "domain create",
    args: [domain],
    run: (ctx) => {
      if (domainGet(ctx.store, front)?.state === "running") fail("EEXIST", `${domain} is already running (scenario domains start running)`);
      fail("ENOSYS", `re-creating ${domain} after its destruction is not modelled`);
    },
  }));
}

