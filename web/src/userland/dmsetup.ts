// dmsetup as ordinary library code over Sys: each ioctl its own step, in
// the order libdevmapper makes them, so other actors can run in between
// (the name re-created, the device opened, between create and resume).
// docs/linux-model.md §11. Not checked against lvm2's source: the revert
// of a create whose load or resume fails (libdm's _create_and_load_v4
// removes the device), and the doubling of the buffer on DM_BUFFER_FULL_FLAG.

import type { DmInfo, DmIoctlArg, DmIoctlResult, DmTarget, Sys } from "blocklab";
import { SysError } from "../sim/op";

const DM_SUSPEND_FLAG = 1 << 1;
const DM_STATUS_TABLE_FLAG = 1 << 4;
const DM_BUFFER_FULL_FLAG = 1 << 8;
const DM_DEFERRED_REMOVE = 1 << 17;
const DM_FILE_DESCRIPTOR_FLAG = 1 << 20;

/** What dmsetup needs to know of the kernel it talks to: under strict-v5 it asks for an fd as a major-5 (strict) caller. */
export interface DmsetupEnv {
  strictV5: boolean;
}

function einval(message: string): SysError {
  return new SysError("EINVAL", message);
}

/** The table text, one target per line: `<start> <length> <type> [<params>...]`. dmsetup refuses a bad line before any ioctl. */
export function parseTable(text: string): DmTarget[] {
  const out: DmTarget[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\d+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) throw einval(`dmsetup: invalid table line ${JSON.stringify(line)}`);
    out.push({ sector_start: Number(m[1]), length: Number(m[2]), target_type: m[3]!, params: m[4]! });
  }
  if (out.length === 0) throw einval("dmsetup: the table is empty");
  return out;
}

function infoOf(h: DmIoctlResult): DmInfo {
  return {
    name: h.name, uuid: h.uuid, major: h.dev.major, minor: h.dev.minor, open_count: h.open_count, event_nr: h.event_nr,
    state: (h.flags & DM_SUSPEND_FLAG) !== 0 ? "SUSPENDED" : "ACTIVE", deferredRemove: (h.flags & DM_DEFERRED_REMOVE) !== 0,
  };
}

/** Opens /dev/mapper/control for one command, as each dmsetup run does, and closes it after. */
async function withControl<T>(sys: Sys, body: (fd: number) => Promise<T>): Promise<T> {
  const fd = await sys.open("/dev/mapper/control", { write: true });
  try {
    return await body(fd);
  } finally {
    await sys.close(fd);
  }
}

/**
 * `dmsetup create NAME --table TABLE`: DM_DEV_CREATE, DM_TABLE_LOAD,
 * DM_DEV_SUSPEND (resume). If the load or the resume fails, the device is
 * removed again and the error passed on. With `fd` (patch 2), the fd of the
 * new device stays open in this process.
 */
export async function dmsetupCreate(sys: Sys, env: DmsetupEnv, name: string, table: string, options: { fd?: boolean; deferredRemove?: boolean; uuid?: string } = {}): Promise<DmInfo & { fd?: number }> {
  const targets = parseTable(table);
  const version: [number, number, number] = options.fd && env.strictV5 ? [5, 0, 0] : [4, 0, 0];
  return withControl(sys, async (ctl) => {
    let flags = 0;
    if (options.fd) flags |= DM_FILE_DESCRIPTOR_FLAG;
    if (options.deferredRemove) flags |= DM_DEFERRED_REMOVE;
    const create: DmIoctlArg = { version, name, flags };
    if (options.uuid !== undefined) create.uuid = options.uuid;
    const made = await sys.ioctl(ctl, "DM_DEV_CREATE", create);
    let resumed: DmIoctlResult;
    try {
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { version, name, targets });
      resumed = await sys.ioctl(ctl, "DM_DEV_SUSPEND", { version, name });
    } catch (e) {
      await sys.ioctl(ctl, "DM_DEV_REMOVE", { version, name }).catch(() => undefined);
      throw e;
    }
    const out: DmInfo & { fd?: number } = infoOf(resumed);
    if (made.fd !== undefined) out.fd = made.fd;
    return out;
  });
}

/** `dmsetup remove [--deferred] NAME`: one DM_DEV_REMOVE, no retry (dmsetup retries only with --retry). */
export async function dmsetupRemove(sys: Sys, name: string, options: { deferred?: boolean } = {}): Promise<void> {
  await withControl(sys, async (ctl) => {
    await sys.ioctl(ctl, "DM_DEV_REMOVE", { name, flags: options.deferred ? DM_DEFERRED_REMOVE : 0 });
  });
}

/** `dmsetup info NAME`: DM_DEV_STATUS. */
export async function dmsetupInfo(sys: Sys, name: string): Promise<DmInfo> {
  return withControl(sys, async (ctl) => infoOf(await sys.ioctl(ctl, "DM_DEV_STATUS", { name })));
}

/** Runs a payload command again with a doubled buffer while the kernel says DM_BUFFER_FULL_FLAG (libdm's dm_task_run). */
async function withRoom(sys: Sys, ctl: number, name: "DM_TABLE_STATUS" | "DM_LIST_DEVICES", arg: DmIoctlArg): Promise<DmIoctlResult> {
  for (let size = 16384; ; size *= 2) {
    const r = await sys.ioctl(ctl, name, { ...arg, data_size: size });
    if ((r.flags & DM_BUFFER_FULL_FLAG) === 0 || size >= 1 << 24) return r;
  }
}

/** `dmsetup table NAME`: DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG, one line per target. */
export async function dmsetupTable(sys: Sys, name: string): Promise<string> {
  return withControl(sys, async (ctl) => {
    const r = await withRoom(sys, ctl, "DM_TABLE_STATUS", { name, flags: DM_STATUS_TABLE_FLAG });
    return (r.targets ?? []).map((t) => `${t.sector_start} ${t.length} ${t.target_type}${t.params ? ` ${t.params}` : ""}`).join("\n");
  });
}

/** `dmsetup ls`: DM_LIST_DEVICES, names in the kernel's order. */
export async function dmsetupLs(sys: Sys): Promise<{ name: string; major: number; minor: number }[]> {
  return withControl(sys, async (ctl) => {
    const r = await withRoom(sys, ctl, "DM_LIST_DEVICES", {});
    return (r.names ?? []).map((n) => ({ name: n.name, major: n.dev.major, minor: n.dev.minor }));
  });
}

/** `dmsetup suspend NAME`: DM_DEV_SUSPEND with DM_SUSPEND_FLAG; I/O to the device waits until it is resumed. */
export async function dmsetupSuspend(sys: Sys, name: string): Promise<DmInfo> {
  return withControl(sys, async (ctl) => infoOf(await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name, flags: DM_SUSPEND_FLAG })));
}

/** `dmsetup resume NAME`: DM_DEV_SUSPEND without the flag; a loaded inactive table becomes the live one. */
export async function dmsetupResume(sys: Sys, name: string): Promise<DmInfo> {
  return withControl(sys, async (ctl) => infoOf(await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name })));
}

/** `dmsetup load NAME --table TABLE`: DM_TABLE_LOAD into the inactive slot (it goes live at the next resume). */
export async function dmsetupLoad(sys: Sys, name: string, table: string): Promise<DmInfo> {
  const targets = parseTable(table);
  return withControl(sys, async (ctl) => infoOf(await sys.ioctl(ctl, "DM_TABLE_LOAD", { name, targets })));
}
