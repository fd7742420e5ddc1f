// The dm commands, one row each as in dm-ioctl.c's lookup_ioctl: the
// command's flags (NO_PARAMS: only the header is copied in; a global event
// on success) and a short handler. Each handler checks in the kernel's
// order, so the first failing check wins, and writes its answer into the
// header `p` (docs/linux-model.md §5.4 has the table of checks and errnos).

import type { StepContext } from "../../sim/op";
import { queueUevent, readDisk } from "../block";
import { fail, type Kernel } from "../kernel";
import { addDisk } from "../block";
import { DISK, DM, DM_NAME, DM_UUID, type DmHashEntry, type MappedDevice } from "../objects";
import { allocDev, destroyDev, lockForDeletion, readMd } from "./device";
import { createWithFd, fdRequested, rfcCreateChecks } from "./fd";
import type { DmCall } from "./call";
import { CopiedBack, byteLength, cloneParam, type DmParam } from "./header";
import { cellByName, cellByUuid, findCell, hashedNames, hashInsert, hashRemove, type Cell } from "./hash";
import { devStatus, listDevices, listVersions, queriedTable, retrieveDeps, retrieveStatus } from "./status";
import { heldDevices } from "./held";
import { buildTable, deviceTooSmall, linkAllHolders, stackedBlockSizes, releaseTables, TARGET_VERSIONS, tableSectors } from "./table";
import { DM_DATA_OFFSET, DM_DISABLE_UEVENTS_FLAG, DM_FLAGS, DM_IOCTL_SIZE, DM_NAME_LEN, DM_UUID_LEN, type DmCommand } from "./uapi";

const F = DM_FLAGS;

/** One dm ioctl in progress: the kernel's param, the caller's buffer size, and whether the caller opted into strict mode (strict-v5). */
type Handler = (c: DmCall) => void;

export interface CommandRow {
  noParams: boolean;
  globalEvent: boolean;
  handler: Handler | null;
}

// ---- shared steps ----

/** find_device and friends: the cell or ENXIO. */
function lookup(c: DmCall): Cell {
  const cell = findCell(c.ctx, c.k, c.p, c.strict ? c.p.expectDiskseq : 0);
  if (!cell) fail("ENXIO", `no such device-mapper device (${describe(c.p)})`);
  return cell;
}

function describe(p: DmParam): string {
  if (p.uuid) return `uuid ${JSON.stringify(p.uuid)}${p.name || p.dev.major || p.dev.minor ? " with a name or dev as well" : ""}`;
  if (p.name) return `name ${JSON.stringify(p.name)}${p.dev.major || p.dev.minor ? " with a dev as well" : ""}`;
  if (p.dev.major || p.dev.minor) return `dev ${p.dev.major}:${p.dev.minor}`;
  return "no name, uuid or dev given";
}

/**
 * dm_kobject_uevent: fails (no UEVENT_GENERATED) on a disk that was never
 * added, since its kobject is not in sysfs; DM_COOKIE is the caller's
 * event_nr when nonzero. A device created with uevents disabled (strict-v5) sends none.
 */
function dmUevent(c: DmCall, md: MappedDevice, action: "change" | "remove", resize = false): boolean {
  const disk = DISK.get(c.ctx.store, md.disk);
  if (!disk?.registered || md.disableUevents) return false;
  const env: Record<string, string> = {};
  if (c.p.event_nr !== 0) env.DM_COOKIE = String(c.p.event_nr);
  if (resize) env.RESIZE = "1";
  queueUevent(c.ctx, c.d, disk, action, env);
  return true;
}

/** check_name: no '/', and since 6.5 none of "control", "." and "..". */
function checkName(k: Kernel, name: string): void {
  if (name.includes("/")) fail("EINVAL", `device name ${JSON.stringify(name)} cannot contain '/'`);
  if (k.cfg.dmRefusesReservedNames && (name === "control" || name === "." || name === "..")) fail("EINVAL", `device name cannot be "control", "." or ".."`);
}

/** A string in the payload at data_start (DEV_RENAME's new name, SET_GEOMETRY's, TARGET_MSG's): inside the buffer and NUL-terminated in it. */
function payloadString(c: DmCall, s: string | undefined, extra = 0): string {
  const str = s ?? "";
  if (c.p.data_start < DM_DATA_OFFSET) fail("EINVAL", `data_start ${c.p.data_start} points into the header`);
  if (c.p.data_start + extra + byteLength(str) + 1 > c.size) fail("EINVAL", "the payload string does not end inside data_size");
  return str;
}

// ---- handlers ----

/** remove_all → dm_hash_remove_all(keep_open, mark_deferred, false): in name order, again from the start after every removal. */
function removeAll(c: DmCall): void {
  const markDeferred = (c.p.flags & F.DM_DEFERRED_REMOVE) !== 0;
  for (let progressed = true; progressed;) {
    progressed = false;
    for (const name of hashedNames(c.ctx.store, c.d)) {
      const cell = cellByName(c.ctx.store, c.d, name)!;
      if (lockForDeletion(c.ctx, cell.key, cell.md, markDeferred, false) !== "ok") continue;
      hashRemove(c.ctx, c.d, cell.key);
      destroyDev(c.ctx, c.k, c.d, cell.key);
      progressed = true;
      break;
    }
  }
  c.p.data_size = 0;
}

function listDevicesCmd(c: DmCall): void {
  const cells = hashedNames(c.ctx.store, c.d).map((name) => {
    const cell = cellByName(c.ctx.store, c.d, name)!;
    return { name, md: cell.md, disk: readDisk(c.ctx.store, cell.md.disk) };
  });
  listDevices(c.p, c.size, cells);
}

/**
 * dev_create: check_name, then the minor and the gendisk (a diskseq), then
 * the hash insert. A name or uuid that exists is EBUSY after the diskseq
 * was used; the device is destroyed and its minor free again.
 */
function devCreate(c: DmCall): void {
  const { p, k } = c;
  rfcCreateChecks(c);
  checkName(k, p.name);
  const persistent = (p.flags & F.DM_PERSISTENT_DEV_FLAG) !== 0 ? p.dev.minor : undefined;
  const disableUevents = c.strict && (p.flags & DM_DISABLE_UEVENTS_FLAG) !== 0;
  const { key } = allocDev(c.ctx, k, c.d, persistent, { disableUevents });
  const uuid = p.uuid !== "" ? p.uuid : null;
  const clash = hashInsert(c.ctx, c.d, key, p.name, uuid);
  if (clash !== "ok") {
    destroyDev(c.ctx, k, c.d, key);
    const what = clash === "name" ? `name ${JSON.stringify(p.name)}` : `uuid ${JSON.stringify(uuid)}`;
    if (c.strict && (p.flags & F.DM_EXISTS_FLAG) !== 0) {
      // strict-v5's DM_EXISTS_FLAG: the existing device's status comes back with the error.
      const other = (clash === "name" ? cellByName(c.ctx.store, c.d, p.name) : cellByUuid(c.ctx.store, c.d, uuid!))!;
      const q = cloneParam(p);
      q.name = other.md.name ?? "";
      q.uuid = other.md.uuid ?? "";
      devStatus(c.ctx.store, other.md, q);
      q.flags |= F.DM_EXISTS_FLAG;
      q.data_size = DM_IOCTL_SIZE;
      fail("EBUSY", `${what} exists`, new CopiedBack(q));
    }
    fail("EBUSY", `${what} exists`);
  }
  p.flags &= ~F.DM_INACTIVE_PRESENT_FLAG;
  if (fdRequested(c)) createWithFd(c, key);
  devStatus(c.ctx.store, readMd(c.ctx.store, key), p);
}

/**
 * dev_remove: an open device is EBUSY, or with DM_DEFERRED_REMOVE marked
 * and 0 with no status (`dev` stays as sent). Otherwise it goes now: the
 * cells, the inactive table, a `remove` uevent (UEVENT_GENERATED only for
 * a registered disk), the live table, the gendisk, and the minor.
 */
function devRemove(c: DmCall): void {
  const { key, md } = lookup(c);
  const deferred = (c.p.flags & F.DM_DEFERRED_REMOVE) !== 0;
  const r = lockForDeletion(c.ctx, key, md, deferred, false);
  if (r === "EBUSY") {
    if (deferred) return;
    fail("EBUSY", `${md.name} is open (open_count ${md.openCount})`);
  }
  let now = hashRemove(c.ctx, c.d, key);
  releaseTables(c.ctx, c.k, c.d, now, [now.inactive], [now.live]);
  now = DM.update(c.ctx.store, key, readMd(c.ctx.store, key), { inactive: null });
  c.p.flags &= ~F.DM_DEFERRED_REMOVE;
  if (dmUevent(c, now, "remove")) c.p.flags |= F.DM_UEVENT_GENERATED_FLAG;
  destroyDev(c.ctx, c.k, c.d, key);
}

/** dev_rename → dm_hash_rename: the new name (or uuid) checked, then free, then the old device by name only, then a uuid not set yet. */
function devRename(c: DmCall): void {
  const { p, k } = c;
  const changeUuid = (p.flags & F.DM_UUID_FLAG) !== 0;
  const s = payloadString(c, p.newName);
  if (s === "" || byteLength(s) > (changeUuid ? DM_UUID_LEN - 1 : DM_NAME_LEN - 1)) fail("EINVAL", `invalid new ${changeUuid ? "uuid" : "name"} ${JSON.stringify(s)}`);
  if (!changeUuid) checkName(k, s);
  if ((changeUuid ? cellByUuid : cellByName)(c.ctx.store, c.d, s)) fail("EBUSY", `${changeUuid ? "uuid" : "name"} ${JSON.stringify(s)} exists`);
  const old = cellByName(c.ctx.store, c.d, p.name);
  if (!old) fail("ENXIO", `no device named ${JSON.stringify(p.name)} to rename`);
  if (changeUuid && old.md.uuid !== null) fail("EINVAL", `${old.md.name} already has uuid ${JSON.stringify(old.md.uuid)}`);
  const { key, md } = old;
  const minor: DmHashEntry = { minor: md.minor };
  if (changeUuid) DM_UUID.set(c.ctx.store, DM_UUID.key(c.d, s), minor);
  else {
    DM_NAME.delete(c.ctx.store, DM_NAME.key(c.d, md.name!));
    DM_NAME.set(c.ctx.store, DM_NAME.key(c.d, s), minor);
  }
  // The live table's event: event_nr + 1, which wakes DM_DEV_WAIT.
  const now = DM.update(c.ctx.store, key, md, changeUuid ? { uuid: s, eventNr: md.live ? md.eventNr + 1 : md.eventNr } : { name: s, eventNr: md.live ? md.eventNr + 1 : md.eventNr });
  if (dmUevent(c, now, "change")) p.flags |= F.DM_UEVENT_GENERATED_FLAG;
  devStatus(c.ctx.store, now, p);
}

function devSuspend(c: DmCall): void {
  if ((c.p.flags & F.DM_SUSPEND_FLAG) !== 0) doSuspend(c);
  else doResume(c);
}

/** do_suspend: suspend unless already suspended (lockfs and noflush change nothing in the model). */
function doSuspend(c: DmCall): void {
  let { key, md } = lookup(c);
  if (!md.suspended) md = DM.update(c.ctx.store, key, md, { suspended: true });
  devStatus(c.ctx.store, md, c.p);
}

/**
 * do_resume: the inactive table is taken (INACTIVE_PRESENT cleared); if
 * there is one, the device is suspended, the table swapped in (capacity,
 * read-only mode; a size change between two nonzero sizes makes the
 * uevent carry RESIZE=1), and the old live table destroyed. Then a
 * suspended device resumes, which needs a live table (EINVAL without),
 * with a `change` uevent.
 */
function doResume(c: DmCall): void {
  const { p } = c;
  const { key } = lookup(c);
  let md = readMd(c.ctx.store, key);
  const newMap = md.inactive;
  p.flags &= ~F.DM_INACTIVE_PRESENT_FLAG;
  md = DM.update(c.ctx.store, key, md, { inactive: null });
  let oldMap = null;
  let resize = false;
  if (newMap) {
    if (!md.suspended) md = DM.update(c.ctx.store, key, md, { suspended: true });
    const tooSmall = deviceTooSmall(c.ctx.store, newMap);
    if (tooSmall) {
      // dm_swap_table fails in dm_calculate_queue_limits: the new table is destroyed, the device stays suspended.
      releaseTables(c.ctx, c.k, c.d, md, [newMap], [md.live]);
      fail("EINVAL", tooSmall);
    }
    const disk = readDisk(c.ctx.store, md.disk);
    const size = tableSectors(newMap);
    resize = disk.sectors !== 0 && size !== 0 && disk.sectors !== size;
    oldMap = md.live;
    md = DM.update(c.ctx.store, key, md, { live: newMap, geometry: size !== disk.sectors ? null : md.geometry });
    // __bind's capacity and do_resume's set_disk_ro. The RESIZE rides on dm's own uevent below (one event, as since "dm: send just one event on resize, not two").
    DISK.update(c.ctx.store, md.disk, disk, { sectors: size, readOnly: newMap.readOnly, ...stackedBlockSizes(c.ctx.store, newMap) });
  }
  let err: string | undefined;
  if (md.suspended) {
    if (!md.live) err = `${md.name} has no table to resume with`;
    else {
      md = DM.update(c.ctx.store, key, md, { suspended: false });
      if (dmUevent(c, md, "change", resize)) p.flags |= F.DM_UEVENT_GENERATED_FLAG;
    }
  }
  if (oldMap) releaseTables(c.ctx, c.k, c.d, md, [oldMap], [md.live, md.inactive]);
  if (err) fail("EINVAL", err);
  devStatus(c.ctx.store, md, p);
}

function devStatusCmd(c: DmCall): void {
  devStatus(c.ctx.store, lookup(c).md, c.p);
}

/** dev_wait: the guard (dmIoctlReady) has already waited for event_nr to differ from the caller's. */
function devWait(c: DmCall): void {
  const { md } = lookup(c);
  devStatus(c.ctx.store, md, c.p);
  const t = queriedTable(md, c.p);
  if (t) retrieveStatus(c.ctx.store, t, c.p, c.size);
}

/**
 * table_load: the table is built and its devices opened now. The first
 * load sets the device's type and registers its gendisk (add_disk: sysfs,
 * /dev/dm-N, an `add` uevent, holders/ links). A previous inactive table
 * is replaced and destroyed.
 */
function tableLoad(c: DmCall): void {
  const { key, md } = lookup(c);
  const readOnly = (c.p.flags & F.DM_READONLY_FLAG) !== 0;
  const table = buildTable(c.ctx, c.k, md, c.p, c.size, readOnly);
  let now = readMd(c.ctx.store, key);
  if (!now.typeSet) {
    const tooSmall = deviceTooSmall(c.ctx.store, table);
    if (tooSmall) {
      releaseTables(c.ctx, c.k, c.d, now, [table], [now.live, now.inactive]);
      fail("EINVAL", `unable to set up device queue for new table: ${tooSmall}`);
    }
    // dm_setup_md_queue sets the queue's limits from this first table, then add_disk.
    DISK.update(c.ctx.store, now.disk, readDisk(c.ctx.store, now.disk), stackedBlockSizes(c.ctx.store, table));
    addDisk(c.ctx, c.d, now.disk, { uevent: !now.disableUevents });
    linkAllHolders(c.ctx, now, heldDevices([now.live, now.inactive, table]));
    now = DM.update(c.ctx.store, key, now, { typeSet: true });
  }
  const old = now.inactive;
  now = DM.update(c.ctx.store, key, now, { inactive: table });
  c.p.flags |= F.DM_INACTIVE_PRESENT_FLAG;
  devStatus(c.ctx.store, now, c.p);
  if (old) releaseTables(c.ctx, c.k, c.d, now, [old], [now.live, now.inactive]);
}

function tableClear(c: DmCall): void {
  const { key, md } = lookup(c);
  const old = md.inactive;
  const now = DM.update(c.ctx.store, key, md, { inactive: null });
  c.p.flags &= ~F.DM_INACTIVE_PRESENT_FLAG;
  devStatus(c.ctx.store, now, c.p);
  if (old) releaseTables(c.ctx, c.k, c.d, now, [old], [now.live]);
}

function tableDeps(c: DmCall): void {
  const { md } = lookup(c);
  devStatus(c.ctx.store, md, c.p);
  const t = queriedTable(md, c.p);
  if (t) retrieveDeps(c.ctx.store, t, c.p, c.size);
}

function tableStatus(c: DmCall): void {
  const { md } = lookup(c);
  devStatus(c.ctx.store, md, c.p);
  const t = queriedTable(md, c.p);
  if (t) retrieveStatus(c.ctx.store, t, c.p, c.size);
}

function listVersionsCmd(c: DmCall): void {
  listVersions(c.p, c.size);
}

function getTargetVersion(c: DmCall): void {
  if (!TARGET_VERSIONS.some((t) => t.name === c.p.name)) fail("EINVAL", `no target type ${JSON.stringify(c.p.name)}`);
  listVersions(c.p, c.size, c.p.name);
}

/**
 * target_message: "@cancel_deferred_remove" is dm's own; other '@'
 * messages (dm-stats) are not modelled and answer EINVAL. Anything else
 * goes to the target at `sector`, and none of the four targets takes
 * messages. Without a live table the kernel returns 2 and copies nothing
 * back (the model: the caller's header, with the kernel's version).
 */
function targetMsg(c: DmCall): number | void {
  const { key, md } = lookup(c);
  const msg = payloadString(c, c.p.message, 8);
  const argv = msg.trim() === "" ? [] : msg.trim().split(/\s+/);
  if (argv.length === 0) fail("EINVAL", "empty message");
  if (argv[0]!.startsWith("@")) {
    if (argv[0]!.toLowerCase() !== "@cancel_deferred_remove") fail("EINVAL", `unsupported message to dm core: ${argv[0]}`);
    if (argv.length !== 1) fail("EINVAL", "@cancel_deferred_remove takes no arguments");
    if (md.deleting) fail("EBUSY", `${md.name} is being deleted`);
    devStatus(c.ctx.store, DM.update(c.ctx.store, key, md, { deferredRemove: false }), c.p);
    return;
  }
  if (!md.live) return 2;
  if (md.deleting) fail("ENXIO", `${md.name} is being deleted`);
  const t = md.live.targets.find((x) => c.p.sector >= x.start && c.p.sector < x.start + x.length);
  if (!t) fail("EINVAL", `sector ${c.p.sector} is outside the device`);
  fail("EINVAL", `target type ${t.type} does not support messages`);
}

/** dev_set_geometry: "C H S start", C ≤ 65535, H and S ≤ 255, start within C·H·S; nothing is copied back (data_size 0). */
function devSetGeometry(c: DmCall): void {
  const { key, md } = lookup(c);
  const g = payloadString(c, c.p.geometry);
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(g);
  if (!m) fail("EINVAL", `unable to interpret geometry ${JSON.stringify(g)}`);
  const [cyl, heads, sectors, start] = m.slice(1).map(Number) as [number, number, number, number];
  if (cyl > 65535 || heads > 255 || sectors > 255) fail("EINVAL", "geometry exceeds range limits");
  if (start > cyl * heads * sectors) fail("EINVAL", "start sector is beyond the geometry limits");
  DM.update(c.ctx.store, key, md, { geometry: [cyl, heads, sectors, start] });
  c.p.data_size = 0;
}

/** dev_arm_poll remembers the global event number in the control fd; the model has no poll(), so nothing to remember. */
function devArmPoll(): void {}

export const COMMANDS: Record<DmCommand, CommandRow> = {
  DM_VERSION: { noParams: false, globalEvent: false, handler: null },
  DM_REMOVE_ALL: { noParams: true, globalEvent: true, handler: removeAll },
  DM_LIST_DEVICES: { noParams: false, globalEvent: false, handler: listDevicesCmd },
  DM_DEV_CREATE: { noParams: true, globalEvent: true, handler: devCreate },
  DM_DEV_REMOVE: { noParams: true, globalEvent: true, handler: devRemove },
  DM_DEV_RENAME: { noParams: false, globalEvent: true, handler: devRename },
  DM_DEV_SUSPEND: { noParams: true, globalEvent: false, handler: devSuspend },
  DM_DEV_STATUS: { noParams: true, globalEvent: false, handler: devStatusCmd },
  DM_DEV_WAIT: { noParams: false, globalEvent: false, handler: devWait },
  DM_TABLE_LOAD: { noParams: false, globalEvent: false, handler: tableLoad },
  DM_TABLE_CLEAR: { noParams: true, globalEvent: false, handler: tableClear },
  DM_TABLE_DEPS: { noParams: false, globalEvent: false, handler: tableDeps },
  DM_TABLE_STATUS: { noParams: false, globalEvent: false, handler: tableStatus },
  DM_LIST_VERSIONS: { noParams: false, globalEvent: false, handler: listVersionsCmd },
  DM_TARGET_MSG: { noParams: false, globalEvent: false, handler: targetMsg as Handler },
  DM_DEV_SET_GEOMETRY: { noParams: false, globalEvent: false, handler: devSetGeometry },
  DM_DEV_ARM_POLL: { noParams: true, globalEvent: false, handler: devArmPoll },
  DM_GET_TARGET_VERSION: { noParams: false, globalEvent: false, handler: getTargetVersion },
};

/** Runs a handler; a positive return (TARGET_MSG's 2) is passed on. */
export function runCommand(row: CommandRow, c: DmCall): number {
  const r = (row.handler as (c: DmCall) => number | void)(c);
  return typeof r === "number" ? r : 0;
}
