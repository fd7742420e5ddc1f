// What dm writes back: __dev_status (the header of every status reply),
// and the payloads after it, each sized the way the kernel sizes them so
// that data_size, data_start and DM_BUFFER_FULL_FLAG come out as they do:
// retrieve_status, retrieve_deps, list_devices, __list_versions.

import type { Store } from "../../sim/store";
import { readDisk } from "../block";
import { DISK, type DmTable, type Gendisk, type MappedDevice } from "../objects";
import { type DmParam } from "./header";
import { TARGET_VERSIONS, targetStatus } from "./table";
import { align8, DM_FLAGS, DM_NAME_LIST_HEAD, DM_RESULT_START, DM_TARGET_SPEC_SIZE, DM_TARGET_VERSIONS_SIZE } from "./uapi";

const F = DM_FLAGS;

/**
 * __dev_status: SUSPEND, READONLY, ACTIVE_PRESENT and INTERNAL_SUSPEND are
 * recomputed; DEFERRED_REMOVE is added when marked (never cleared: a
 * caller's bit comes back); every other bit the caller sent stays.
 */
export function devStatus(store: Store, md: MappedDevice, p: DmParam): void {
  const disk = readDisk(store, md.disk);
  p.flags &= ~(F.DM_SUSPEND_FLAG | F.DM_READONLY_FLAG | F.DM_ACTIVE_PRESENT_FLAG | F.DM_INTERNAL_SUSPEND_FLAG);
  if (md.suspended) p.flags |= F.DM_SUSPEND_FLAG;
  if (md.deferredRemove) p.flags |= F.DM_DEFERRED_REMOVE;
  p.dev = { major: disk.major, minor: disk.minor };
  p.open_count = md.openCount;
  p.event_nr = md.eventNr;
  p.target_count = 0;
  const inactiveQuery = (p.flags & F.DM_QUERY_INACTIVE_TABLE_FLAG) !== 0;
  if (md.live) {
    if (!inactiveQuery) {
      if (disk.readOnly) p.flags |= F.DM_READONLY_FLAG;
      p.target_count = md.live.targets.length;
    }
    p.flags |= F.DM_ACTIVE_PRESENT_FLAG;
  }
  if (inactiveQuery && md.inactive) {
    if (md.inactive.readOnly) p.flags |= F.DM_READONLY_FLAG;
    p.target_count = md.inactive.targets.length;
  }
  p.flags >>>= 0;
  p.diskseq = disk.diskseq;
}

/** dm_get_live_or_inactive_table */
export function queriedTable(md: MappedDevice, p: DmParam): DmTable | null {
  return (p.flags & F.DM_QUERY_INACTIVE_TABLE_FLAG) !== 0 ? md.inactive : md.live;
}

/** get_result_buffer: the payload starts at 312, whatever the caller said; its room is what data_size leaves. */
function resultBuffer(p: DmParam, paramSize: number): number {
  p.data_start = DM_RESULT_START;
  return p.data_start < paramSize ? paramSize - p.data_start : 0;
}

/**
 * retrieve_status: a dm_target_spec (40 bytes) and a string per target, each
 * 8-byte aligned; a target that does not fit stops the list with
 * BUFFER_FULL. STATUS_TABLE gives the table line, otherwise the info line.
 */
export function retrieveStatus(store: Store, table: DmTable, p: DmParam, paramSize: number): void {
  const len = resultBuffer(p, paramSize);
  const asTable = (p.flags & F.DM_STATUS_TABLE_FLAG) !== 0;
  const out: NonNullable<DmParam["out"]["targets"]> = [];
  let off = 0;
  let used = 0;
  for (const t of table.targets) {
    if (len - off <= DM_TARGET_SPEC_SIZE) {
      p.flags |= F.DM_BUFFER_FULL_FLAG;
      break;
    }
    off += DM_TARGET_SPEC_SIZE;
    const remaining = len - off;
    let s = targetStatus(store, t, asTable);
    // DMEMIT writes at most remaining - 1 characters and a NUL.
    const bytes = new TextEncoder().encode(s);
    if (bytes.length > remaining - 1) s = new TextDecoder().decode(bytes.subarray(0, Math.max(0, remaining - 1)));
    const l = Math.min(bytes.length, Math.max(0, remaining - 1)) + 1;
    if (l === remaining) {
      p.flags |= F.DM_BUFFER_FULL_FLAG;
      break;
    }
    off += l;
    used = p.data_start + off;
    off = align8(off);
    out.push(asTable
      ? { sector_start: t.start, length: t.length, target_type: t.type, params: s }
      : { sector_start: t.start, length: t.length, target_type: t.type, params: "", status: s });
  }
  if (used) {
    p.data_size = used;
    p.out.targets = out;
  }
  p.target_count = table.targets.length;
}

/** retrieve_deps: struct dm_target_deps (count, padding, dev[]) with every device of the table. */
export function retrieveDeps(store: Store, table: DmTable, p: DmParam, paramSize: number): void {
  const len = resultBuffer(p, paramSize);
  const needed = 8 + 8 * table.devices.length;
  if (len < needed) {
    p.flags |= F.DM_BUFFER_FULL_FLAG;
    return;
  }
  p.out.deps = table.devices.map((key) => {
    const disk = DISK.get(store, key);
    return { major: disk?.major ?? 0, minor: disk?.minor ?? 0 };
  });
  p.data_size = p.data_start + needed;
}

/** list_devices: every cell whose name and uuid start with the caller's name and uuid, in strcmp order; uuids only with DM_UUID_FLAG. */
export function listDevices(p: DmParam, paramSize: number, cells: { name: string; md: MappedDevice; disk: Gendisk }[]): void {
  const withUuid = (p.flags & F.DM_UUID_FLAG) !== 0;
  const enc = new TextEncoder();
  const starts = (v: string, pfx: string) => {
    const a = enc.encode(v);
    const b = enc.encode(pfx);
    return b.length <= a.length && b.every((x, i) => a[i] === x);
  };
  const chosen = cells.filter((c) => starts(c.name, p.name) && starts(c.md.uuid ?? "", p.uuid));
  let needed = 0;
  for (const c of chosen) {
    needed += align8(DM_NAME_LIST_HEAD + enc.encode(c.name).length + 1) + align8(8);
    if (withUuid && c.md.uuid !== null) needed += align8(enc.encode(c.md.uuid).length + 1);
  }
  const len = resultBuffer(p, paramSize);
  if (len < needed || len < 8) {
    p.flags |= F.DM_BUFFER_FULL_FLAG;
    return;
  }
  p.data_size = p.data_start + needed;
  p.out.names = chosen.map((c) => {
    const e: { name: string; dev: { major: number; minor: number }; event_nr: number; uuid?: string } = {
      name: c.name, dev: { major: c.disk.major, minor: c.disk.minor }, event_nr: c.md.eventNr,
    };
    if (withUuid && c.md.uuid !== null) e.uuid = c.md.uuid;
    return e;
  });
}

/** __list_versions: all targets, or the one named (unknown: EINVAL, checked by the caller). */
export function listVersions(p: DmParam, paramSize: number, only?: string): void {
  const list = only === undefined ? TARGET_VERSIONS : TARGET_VERSIONS.filter((t) => t.name === only);
  let needed = 0;
  for (const t of list) needed += DM_TARGET_VERSIONS_SIZE + t.name.length + 1 + 7;
  const len = resultBuffer(p, paramSize);
  if (len < needed) {
    p.flags |= F.DM_BUFFER_FULL_FLAG;
    return;
  }
  p.data_size = p.data_start + needed;
  p.out.versions = list.map((t) => ({ name: t.name, version: [...t.version] }));
}
