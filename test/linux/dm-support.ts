// Helpers for the device-mapper tests: driving one user actor while the
// deferred-remove worker runs only when a test says so (at a `log` marker),
// and reading a dm reply as errno-plus-flags.

import { errnoOf as errnoOfError } from "../../web/src/sim/op";
import type { KernelId, PatchSelection, Sys } from "blocklab";
import type { Execution } from "../../web/src/sim/execution";
import { started, type Files } from "./harness";

export const IMG: Files = { "/img/a": { size: "1M", fill: 0xaa }, "/img/b": { size: "1M", fill: 0xbb } } as Files;

export const F = {
  READONLY: 1, SUSPEND: 2, EXISTS: 4, PERSISTENT_DEV: 8, STATUS_TABLE: 16, ACTIVE_PRESENT: 32, INACTIVE_PRESENT: 64,
  BUFFER_FULL: 256, QUERY_INACTIVE: 1 << 12, UEVENT_GENERATED: 1 << 13, UUID: 1 << 14, SECURE_DATA: 1 << 15,
  DEFERRED_REMOVE: 1 << 17, FD: 1 << 20,
} as const;

function index(exec: Execution, name: string): number {
  const i = exec.actors.findIndex((a) => a.who.name === name);
  if (i < 0) throw new Error(`no actor ${name}`);
  return i;
}

/**
 * Runs `script` as actor "t" step by step. Kernel actors never run on their
 * own: after `sys.log(marker)`, `hooks[marker]` says how many deferred-worker
 * steps happen, and whether udev settles (udev: true). Returns the execution.
 */
export async function drive(
  script: (sys: Sys) => Promise<void>,
  opts: { kernel?: KernelId; patches?: PatchSelection; files?: Files; hooks?: Record<string, { worker?: number; udev?: boolean; inspect?: (exec: Execution) => void }> } = {},
): Promise<Execution> {
  const { b, exec } = await started({ files: opts.files ?? IMG, actors: { t: script }, invariants: ["progress"] }, opts.kernel ?? "linux-6.1.192", opts.patches ?? "none");
  const t = index(exec, "t");
  const worker = index(exec, "kernel:dm-deferred");
  const udev = index(exec, "kernel:udev");
  while (exec.isEnabled(t)) {
    const rec = await exec.step({ actor: t });
    if (rec.call !== "log") continue;
    const hook = opts.hooks?.[String(rec.args[0])];
    for (let i = 0; i < (hook?.worker ?? 0); i++) await exec.step({ actor: worker });
    if (hook?.udev) while (exec.isEnabled(udev)) await exec.step({ actor: udev });
    hook?.inspect?.(exec);
  }
  const err = b.diagnostics.scriptError;
  if (err) throw err.error;
  return exec;
}

/** The errno of a failed call, or "0" plus the names of the `watch` bits set in the reply's flags. */
export async function dmOutcome(p: Promise<{ flags: number }>, watch: (keyof typeof F)[] = []): Promise<string> {
  try {
    const r = await p;
    const set = watch.filter((n) => (r.flags & F[n]) !== 0);
    return ["0", ...set].join("+");
  } catch (e) {
    const errno = errnoOfError(e);
    if (errno === undefined) throw e;
    return errno;
  }
}

export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    const errno = errnoOfError(e);
    if (errno === undefined) throw e;
    return errno;
  }
}

export const control = (sys: Sys) => sys.open("/dev/mapper/control", { write: true });

/** A loop device over /img/<img>, left bound (loop<index>), fd closed. */
export async function attachLoop(sys: Sys, index: number, img = "a"): Promise<void> {
  const fd = await sys.open(`/dev/loop${index}`, { write: true });
  const back = await sys.open(`/img/${img}`, { write: true });
  await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: back });
  await sys.close(back);
  await sys.close(fd);
}

export function linear(len: number, dev: string, offset = 0) {
  return [{ sector_start: 0, length: len, target_type: "linear", params: `${dev} ${offset}` }];
}

export function errorTable(len = 2048) {
  return [{ sector_start: 0, length: len, target_type: "error", params: "" }];
}
