// dm-ioctl.c's name and uuid cells: `dmname:<d>:<name>` and
// `dmuuid:<d>:<uuid>` point at a minor. A lookup by name reads one key, so
// work on different names commutes; listing reads the whole collection.
// __find_device_hash_cell's rules: uuid first, then name, then dev; a uuid
// with a name or a dev, or a name with a dev, finds nothing.

import type { StepContext } from "../../sim/op";
import type { Store } from "../../sim/store";
import type { Kernel } from "../kernel";
import { DISK, DM, DM_NAME, DM_UUID, type MappedDevice } from "../objects";
import { readMd } from "./device";
import { isDevZero, type DmParam } from "./header";
import { DM_FLAGS } from "./uapi";

export interface Cell {
  key: string;
  md: MappedDevice;
}

function cellAt(store: Store, d: string, table: typeof DM_NAME, entryKey: string): Cell | undefined {
  const e = table.get(store, entryKey);
  if (!e) return undefined;
  const key = DM.key(d, e.minor);
  const md = DM.get(store, key);
  return md ? { key, md } : undefined;
}

export function cellByName(store: Store, d: string, name: string): Cell | undefined {
  return cellAt(store, d, DM_NAME, DM_NAME.key(d, name));
}

export function cellByUuid(store: Store, d: string, uuid: string): Cell | undefined {
  return cellAt(store, d, DM_UUID, DM_UUID.key(d, uuid));
}

/** __get_dev_cell → dm_get_md: the right major, a live minor that is neither being freed nor deleted, and still hashed. */
function cellByDev(store: Store, k: Kernel, d: string, major: number, minor: number): Cell | undefined {
  if (major !== k.cfg.dmMajor) return undefined;
  const key = DM.key(d, minor);
  const md = DM.get(store, key);
  if (!md || md.deleting || md.teardown || md.name === null) return undefined;
  return { key, md };
}

/**
 * __find_device_hash_cell. Found: the cell's name and uuid are written into
 * the header, and DM_INACTIVE_PRESENT_FLAG says whether an inactive table
 * exists. strict-v5 callers who state a diskseq find only that device.
 */
export function findCell(ctx: StepContext, k: Kernel, p: DmParam, expectDiskseq = 0): Cell | undefined {
  const d = ctx.who.domain;
  let c: Cell | undefined;
  if (p.uuid !== "") {
    if (p.name !== "" || !isDevZero(p.dev)) return undefined;
    c = cellByUuid(ctx.store, d, p.uuid);
  } else if (p.name !== "") {
    if (!isDevZero(p.dev)) return undefined;
    c = cellByName(ctx.store, d, p.name);
  } else if (!isDevZero(p.dev)) {
    c = cellByDev(ctx.store, k, d, p.dev.major, p.dev.minor);
  }
  if (!c) return undefined;
  if (expectDiskseq !== 0 && DISK.get(ctx.store, c.md.disk)?.diskseq !== expectDiskseq) return undefined;
  p.name = c.md.name ?? "";
  p.uuid = c.md.uuid ?? "";
  if (c.md.inactive !== null) p.flags |= DM_FLAGS.DM_INACTIVE_PRESENT_FLAG;
  else p.flags &= ~DM_FLAGS.DM_INACTIVE_PRESENT_FLAG;
  return c;
}

/** dm_hash_insert: the name first, then the uuid; either taken is EBUSY (the caller destroys the new device). */
export function hashInsert(ctx: StepContext, d: string, key: string, name: string, uuid: string | null): "ok" | "name" | "uuid" {
  if (DM_NAME.has(ctx.store, DM_NAME.key(d, name))) return "name";
  if (uuid !== null && DM_UUID.has(ctx.store, DM_UUID.key(d, uuid))) return "uuid";
  const md = readMd(ctx.store, key);
  DM_NAME.set(ctx.store, DM_NAME.key(d, name), { minor: md.minor });
  if (uuid !== null) DM_UUID.set(ctx.store, DM_UUID.key(d, uuid), { minor: md.minor });
  DM.update(ctx.store, key, md, { name, uuid });
  return "ok";
}

/**
 * __hash_remove: the cells go (the name and uuid are free from now on) and
 * the live table's event fires (event_nr + 1, waking DM_DEV_WAIT).
 */
export function hashRemove(ctx: StepContext, d: string, key: string): MappedDevice {
  const md = readMd(ctx.store, key);
  if (md.name !== null) DM_NAME.delete(ctx.store, DM_NAME.key(d, md.name));
  if (md.uuid !== null) DM_UUID.delete(ctx.store, DM_UUID.key(d, md.uuid));
  return DM.update(ctx.store, key, md, { name: null, uuid: null, eventNr: md.live !== null ? md.eventNr + 1 : md.eventNr });
}

/** The hashed names of a domain in strcmp order (the rb-tree's in-order walk). */
export function hashedNames(store: Store, d: string): string[] {
  return DM_NAME.list(store, d).map((k) => DM_NAME.tail(k, d)).sort(strcmp);
}

/** strcmp on UTF-8 bytes (JavaScript's < compares UTF-16 units, which orders some characters differently). */
export function strcmp(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
