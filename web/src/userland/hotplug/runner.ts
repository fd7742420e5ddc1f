// Hotplug scripts run as their own process, as libxl forks them: the
// toolstack queues a job (`<script> add|remove` with XENBUS_PATH) and waits
// for it to exit; dom0's hotplug runner (a daemon actor) takes the job and
// runs the script in a new process of its own, with its own fds, which the
// kernel closes when the script exits. A toolstack killed while it waits
// leaves its script running, as a killed xl does.
//
// A disk served by a driver domain has its script run there, by `xl devd`
// (libxl_device_events_handler, tools/libs/light/libxl_device.c): here the
// same job, taken by that domain's runner, the script a process of that
// domain (its kernel, its files). libxl in dom0 waits for it as for its own.
//
//   "hotplug:<toolstack>:<n>"      { script, action, backend, state: queued | running }
//   "hotplugexit:<toolstack>:<n>"  { ok, error? }: the script's exit status, until its toolstack reaps it
//
// The exit status is an object of its own so that a toolstack reaping it
// touches nothing the runner's guard reads (the runner lists the jobs).
//
// The script is "block", "qubes-block", or a function the scenario gave
// (kept in the run's script table under the job's id, since the store holds
// only data).

import type { Channel } from "../../sim/actor";
import type { ActorSpec } from "../../sim/execution";
import { SysError, type Op, type Who } from "../../sim/op";
import { declareKind } from "../../sim/object-kind";
import type { Store } from "../../sim/store";
import type { Sys } from "blocklab";
import { blockScript } from "./block";
import { qubesBlockScript } from "./qubes-block";

export type HotplugAction = "add" | "remove";
export type HotplugFunction = (sys: Sys, backendPath: string, action?: HotplugAction) => Promise<void>;

export interface HotplugJob {
  script: string;
  action: HotplugAction;
  /** XENBUS_PATH, absolute. */
  backend: string;
  state: "queued" | "running";
}

export interface HotplugExit {
  ok: boolean;
  error?: string;
}

/** The functions scenarios gave as scripts, by job id (per built scenario). */
export type ScriptTable = Map<string, HotplugFunction>;

const HOTPLUG_JOB = declareKind<HotplugJob, [id: string]>("hotplug", (id) => id);
const HOTPLUG_EXIT = declareKind<HotplugExit, [id: string]>("hotplugexit", (id) => id);

/** The toolstack's step: queue the job. */
export function queueJob(id: string, job: Omit<HotplugJob, "state">): Op<void> {
  return {
    call: `hotplug ${job.action}`,
    args: [job.script, job.backend],
    run: (ctx) => HOTPLUG_JOB.set(ctx.store, HOTPLUG_JOB.key(id), { ...job, state: "queued" }),
  };
}

/** The toolstack's step: wait for the script to exit; its status (reaped). */
export function awaitJob(id: string): Op<{ ok: boolean; error?: string }> {
  const key = HOTPLUG_JOB.key(id);
  const exitKey = HOTPLUG_EXIT.key(id);
  return {
    call: "hotplug wait",
    args: [id],
    waitingFor: `the hotplug script of ${id} to exit`,
    ready: (store) => HOTPLUG_EXIT.has(store, exitKey) || !HOTPLUG_JOB.has(store, key),
    run: (ctx) => {
      const x = HOTPLUG_EXIT.get(ctx.store, exitKey);
      if (!x) return { ok: false, error: "the job vanished" };
      HOTPLUG_EXIT.delete(ctx.store, exitKey);
      return x.ok ? { ok: true } : { ok: false, error: x.error ?? "failed" };
    },
  };
}

/** The queued jobs of disks that domain `back` serves (their XENBUS_PATH is under its backend tree). */
function queued(store: Store, back: number): string[] {
  const mine = `/local/domain/${back}/backend/`;
  return HOTPLUG_JOB.list(store).filter((k) => {
    const job = HOTPLUG_JOB.get(store, k)!;
    return job.state === "queued" && job.backend.startsWith(mine);
  });
}

/** The runner's step: take a queued job (any of them: libxl runs scripts of different devices concurrently). */
function takeJob(back: number): Op<{ id: string; job: HotplugJob }> {
  return {
    call: "hotplug run",
    args: [],
    waitingFor: "a hotplug job",
    // The runner carries nothing from one job to the next (each script is a process of its own).
    loopHead: true,
    ready: (store) => queued(store, back).length > 0,
    run: (ctx) => {
      const q = queued(ctx.store, back);
      const key = q.length === 1 ? q[0]! : q[ctx.choose("hotplug.job", q.length)]!;
      const job = HOTPLUG_JOB.get(ctx.store, key)!;
      HOTPLUG_JOB.update(ctx.store, key, job, { state: "running" });
      return { id: HOTPLUG_JOB.tail(key), job };
    },
  };
}

function finishJob(id: string, error: string | undefined): Op<void> {
  return {
    call: "hotplug exit",
    args: [error === undefined ? 0 : 1],
    run: (ctx) => {
      const key = HOTPLUG_JOB.key(id);
      if (!HOTPLUG_JOB.has(ctx.store, key)) return;
      HOTPLUG_JOB.delete(ctx.store, key);
      HOTPLUG_EXIT.set(ctx.store, HOTPLUG_EXIT.key(id), error === undefined ? { ok: true } : { ok: false, error });
    },
  };
}

/** A script process: its Sys and its exit (the kernel closes its fds). */
export interface ScriptProcess {
  sys: Sys;
  exit(): Promise<void>;
}

export async function runScript(name: string, sys: Sys, backend: string, action: HotplugAction, scripts: ScriptTable, id: string): Promise<void> {
  if (name === "block") return blockScript(sys, backend, action);
  if (name === "qubes-block") return qubesBlockScript(sys, backend, action);
  const fn = scripts.get(id);
  if (!fn) throw new SysError("ENOENT", `hotplug script ${name} not found`);
  return fn(sys, backend, action);
}

/**
 * A backend domain's hotplug runner: one job at a time, each script in a
 * new process (`spawn` makes its Sys over the runner's channel). In dom0
 * it stands for libxl forking the script; in a driver domain, for `xl
 * devd`, which runs the scripts of the disks that domain serves, there.
 */
export function hotplugRunner(scripts: ScriptTable, spawn: (ch: Channel, who: Who, name: string) => ScriptProcess, back = 0, domain = "dom0"): ActorSpec {
  return {
    name: back === 0 ? "toolstack:hotplug" : `toolstack:devd@${domain}`,
    domain,
    daemon: true,
    body: async (ch, who) => {
      for (;;) {
        const { id, job } = await ch.call(takeJob(back));
        const proc = spawn(ch, who, `hotplug-${id}`);
        let error: string | undefined;
        try {
          await runScript(job.script, proc.sys, job.backend, job.action, scripts, id);
        } catch (e) {
          if (!(e instanceof SysError)) throw e;
          error = e.message;
        }
        await proc.exit();
        await ch.call(finishJob(id, error));
      }
    },
  };
}
