// A dm table (drivers/md/dm-table.c and the four targets the model has:
// dm-linear.c, dm-stripe.c, dm-zero.c, dm-target.c's error): parsing each
// target line in the kernel's check order, finding its devices in the
// caller's domain, and holding them open.
//
// Which devices are open follows md->table_devices: a mapped device opens
// a lower disk once, however many of its tables (live and inactive) and
// targets use it, and closes it when no table of it uses it any more. The
// open is exclusive with dm's one claim pointer (_dm_claim_ptr, shared by
// every mapped device, still so in 6.12's open_table_device), so two dm
// devices may map the same disk (two LVs on one PV) while an O_EXCL fd
// or a loop device's claim keeps dm out (EBUSY). Once the dm disk is
// registered, each lower disk lists it in sysfs holders/.

import { errnoOf, type StepContext } from "../../sim/op";
import type { Store } from "../../sim/store";
import { diskByDevt, readDisk } from "../block";
import { blkdevClose, blkdevOpen } from "../bdev";
import { LOOP_MAJOR } from "../kconfig";
import { fail, type Kernel } from "../kernel";
import { loopAdd } from "../loop/device";
import { DISK, LOOP, type DmTable, type DmTableTarget, type DmTargetType, type MappedDevice } from "../objects";
import { vfsStat } from "../vfs";
import { byteLength, type DmParam } from "./header";
import { heldDevices } from "./held";
import { align8, DM_IOCTL_SIZE, DM_TARGET_SPEC_SIZE } from "./uapi";

/** The holder of every table open: dm's one claim pointer, per domain. */
export function dmHolder(d: string): string {
  return `dm:${d}`;
}

/** dm_target_iterate's list, newest registration first (dm_register_target adds at the head); versions not verified. */
export const TARGET_VERSIONS: { name: DmTargetType; version: [number, number, number] }[] = [
  { name: "zero", version: [1, 2, 0] },
  { name: "striped", version: [1, 6, 0] },
  { name: "linear", version: [1, 4, 0] },
  { name: "error", version: [1, 6, 0] },
];

/** The data plane keeps a table in 4080 bytes: 32 per target, 16 per stripe leg (a model limit, reported as ENOMEM). */
const TABLE_BYTES = 4096 - 16;

export function tableSectors(t: DmTable): number {
  const last = t.targets[t.targets.length - 1];
  return last ? last.start + last.length : 0;
}

/** dm_split_args: words separated by white space (the model has no backslash escapes). */
function splitArgs(params: string): string[] {
  const s = params.trim();
  return s === "" ? [] : s.split(/\s+/);
}

function sectorArg(s: string | undefined, what: string): number {
  if (s === undefined || !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) fail("EINVAL", `${what}: invalid device sector ${JSON.stringify(s)}`);
  return Number(s);
}

/**
 * dm_devt_from_path: "M:m" is taken as a number; anything else is a path
 * looked up in the caller's domain (lookup_bdev). Before 6.5 every failed
 * lookup was ENODEV ("dm: remove dm_get_dev_t"); since, lookup_bdev's own
 * errno: ENOENT, or ENOTBLK for something that is not a block device.
 */
function devtFromPath(ctx: StepContext, k: Kernel, path: string): { major: number; minor: number } {
  const m = /^(\d+):(\d+)$/.exec(path);
  if (m) {
    const major = Number(m[1]);
    const minor = Number(m[2]);
    if (major > 4095 || minor > (1 << 20) - 1) fail("EOVERFLOW", `${path} does not fit a dev_t`);
    return { major, minor };
  }
  const exact = k.cfg.kernel === "linux-6.12";
  let st;
  try {
    st = vfsStat(ctx, k, path);
  } catch (e) {
    if (!exact && errnoOf(e) !== undefined) fail("ENODEV", `${path}: no such block device`);
    throw e;
  }
  if (st.type !== "block") fail(exact ? "ENOTBLK" : "ENODEV", `${path} is not a block device`);
  return st.rdev;
}

/** blkdev_get_by_dev's lookup: the registered disk under a number; a missing loopN below max_loop is created (loop_probe), as an open of its node does. */
function diskForDevt(ctx: StepContext, k: Kernel, d: string, major: number, minor: number): string {
  let disk = diskByDevt(ctx.store, d, major, minor);
  if (disk === undefined && major === LOOP_MAJOR && minor < k.cfg.maxLoop && !LOOP.has(ctx.store, LOOP.key(d, minor))) {
    loopAdd(ctx, d, minor);
    disk = diskByDevt(ctx.store, d, major, minor);
  }
  if (disk === undefined) fail("ENXIO", `no block device ${major}:${minor}`);
  return disk;
}

interface Build {
  d: string;
  md: MappedDevice;
  /** Devices the md holds already (through its other tables): no new open. */
  held: string[];
  /** Devices this load opened, in order, to close again if it fails. */
  opened: string[];
  devices: string[];
  readOnly: boolean;
}

/** dm_get_device: the device by path or number, not the md itself, opened unless the md already holds it. */
function getDevice(ctx: StepContext, k: Kernel, b: Build, path: string): string {
  const dev = devtFromPath(ctx, k, path);
  const own = readDisk(ctx.store, b.md.disk);
  if (dev.major === own.major && dev.minor === own.minor) fail("EINVAL", `${path} is ${own.name} itself`);
  const key = diskForDevt(ctx, k, b.d, dev.major, dev.minor);
  if (!b.devices.includes(key)) {
    if (!b.held.includes(key) && !b.opened.includes(key)) {
      blkdevOpen(ctx, k, b.d, key, { write: !b.readOnly, holder: dmHolder(b.d) });
      b.opened.push(key);
      if (own.registered) linkHolder(ctx, key, own.name);
    }
    // t->devices gets new entries at its head (list_add): DM_TABLE_DEPS lists the last first.
    b.devices.unshift(key);
  }
  return key;
}

type Ctor = (ctx: StepContext, k: Kernel, b: Build, t: { start: number; length: number; args: string[] }) => Pick<DmTableTarget, "legs" | "chunkSectors">;

/** The constructors (the `ctr` of each target_type), each with its argument checks in order. */
const TARGETS: Record<DmTargetType, Ctor> = {
  linear: (ctx, k, b, t) => {
    if (t.args.length !== 2) fail("EINVAL", "linear: invalid argument count (<dev> <offset>)");
    const offset = sectorArg(t.args[1], "linear");
    return { legs: [{ disk: getDevice(ctx, k, b, t.args[0]!), offset }] };
  },
  striped: (ctx, k, b, t) => {
    const { args } = t;
    if (args.length < 2) fail("EINVAL", "striped: not enough arguments");
    if (!/^\d+$/.test(args[0]!) || Number(args[0]) === 0 || Number(args[0]) > 0xffff_ffff) fail("EINVAL", "striped: invalid stripe count");
    if (!/^\d+$/.test(args[1]!) || Number(args[1]) === 0 || Number(args[1]) > 0xffff_ffff) fail("EINVAL", "striped: invalid chunk_size");
    const stripes = Number(args[0]);
    const chunk = Number(args[1]);
    if (t.length % stripes !== 0) fail("EINVAL", "striped: target length not divisible by number of stripes");
    if ((t.length / stripes) % chunk !== 0) fail("EINVAL", "striped: target length not divisible by chunk size");
    if (args.length !== 2 + 2 * stripes) fail("EINVAL", "striped: not enough destinations specified");
    const legs: DmTableTarget["legs"] = [];
    for (let i = 0; i < stripes; i++) {
      const off = args[3 + 2 * i]!;
      if (!/^\d+$/.test(off)) fail("EINVAL", "striped: couldn't parse stripe destination");
      legs.push({ disk: getDevice(ctx, k, b, args[2 + 2 * i]!), offset: sectorArg(off, "striped") });
    }
    return { legs, chunkSectors: chunk };
  },
  // zero_ctr refuses arguments; io_err_ctr ignores them (not verified against dm-zero.c / dm-target.c of these kernels).
  zero: (_ctx, _k, _b, t) => {
    if (t.args.length !== 0) fail("EINVAL", "zero: no arguments required");
    return { legs: [] };
  },
  error: () => ({ legs: [] }),
};

/**
 * device_area_is_invalid, run by dm_calculate_queue_limits: a target may
 * not reach past the end of a lower device (a device of size 0 is not
 * checked). The first load checks it in dm_setup_md_queue, a later table at resume.
 */
export function deviceTooSmall(store: Store, t: DmTable): string | undefined {
  for (const tg of t.targets) {
    const width = tg.type === "striped" ? tg.length / tg.legs.length : tg.length;
    for (const leg of tg.legs) {
      const disk = DISK.get(store, leg.disk);
      if (!disk || disk.sectors === 0) continue;
      if (leg.offset >= disk.sectors || leg.offset + width > disk.sectors) return `${disk.name} is too small for the ${tg.type} target at sector ${tg.start}`;
    }
  }
  return undefined;
}

/**
 * table_load's dm_table_create + populate_table: the specs laid out from
 * data_start in the caller's buffer, then each target in order: zero
 * length, unknown type, a gap (each target starts where the previous one
 * ended, the first at 0), then its constructor, which opens its devices.
 * On any error the devices this load opened are closed again, as
 * dm_table_destroy does (a loop device autoloaded on the way stays).
 */
export function buildTable(ctx: StepContext, k: Kernel, md: MappedDevice, p: DmParam, paramSize: number, readOnly: boolean): DmTable {
  const d = ctx.who.domain;
  const b: Build = { d, md, held: heldDevices([md.live, md.inactive]), opened: [], devices: [], readOnly };
  try {
    if (p.target_count === 0) fail("EINVAL", "no targets specified (target_count 0)");
    const targets: DmTableTarget[] = [];
    let next = p.data_start;
    let minSize = DM_IOCTL_SIZE;
    for (let i = 0; i < p.target_count; i++) {
      const spec = p.targets[i];
      if (next < minSize) fail("EINVAL", `target spec ${i} (offset ${next}) overlaps ${i ? "the previous target" : "struct dm_ioctl"}`);
      const need = spec ? DM_TARGET_SPEC_SIZE + byteLength(spec.params) + 1 : Infinity;
      if (spec === undefined || next + need > paramSize) fail("EINVAL", `target spec ${i} extends beyond the end of the parameters (data_size ${paramSize})`);
      minSize = next + need;
      next = align8(minSize);
      const start = spec.sector_start;
      if (spec.length === 0) fail("EINVAL", `target ${i}: zero-length target`);
      const type = spec.target_type as DmTargetType;
      if (!Object.hasOwn(TARGETS, type)) fail("EINVAL", `target ${i}: ${spec.target_type}: unknown target type`);
      const prevEnd = targets.length ? targets[targets.length - 1]!.start + targets[targets.length - 1]!.length : 0;
      if (start !== prevEnd) fail("EINVAL", `target ${i}: gap in table (starts at ${start}, expected ${prevEnd})`);
      const made = TARGETS[type](ctx, k, b, { start, length: spec.length, args: splitArgs(spec.params) });
      targets.push({ start, length: spec.length, type, params: spec.params, ...made });
    }
    const legs = targets.reduce((n, t) => n + (t.type === "striped" ? t.legs.length : 0), 0);
    if (targets.length * 32 + legs * 16 > TABLE_BYTES) fail("ENOMEM", `the model's data plane holds at most ${TABLE_BYTES} bytes of table (32 per target, 16 per stripe)`);
    return { readOnly, targets, devices: b.devices };
  } catch (e) {
    closeDevices(ctx, k, d, md, b.opened);
    throw e;
  }
}

function linkHolder(ctx: StepContext, lower: string, upperName: string): void {
  const disk = readDisk(ctx.store, lower);
  if (!disk.holders.includes(upperName)) DISK.update(ctx.store, lower, disk, { holders: [...disk.holders, upperName] });
}

function unlinkHolder(ctx: StepContext, lower: string, upperName: string): void {
  const disk = DISK.get(ctx.store, lower);
  if (disk?.holders.includes(upperName)) DISK.update(ctx.store, lower, disk, { holders: disk.holders.filter((h) => h !== upperName) });
}

/**
 * dm_calculate_queue_limits, for the block sizes: the largest logical and
 * physical block size of the disks under the table, at least 512 (a zero or
 * error target brings the stacking defaults). Taken when the table is bound
 * (first load, resume), as Linux sets the queue's limits then.
 */
export function stackedBlockSizes(store: Store, t: DmTable): { logicalBlockSize: number; physicalBlockSize: number } {
  let logicalBlockSize = 512;
  let physicalBlockSize = 512;
  for (const tg of t.targets) {
    for (const leg of tg.legs) {
      const disk = DISK.get(store, leg.disk);
      if (!disk) continue;
      logicalBlockSize = Math.max(logicalBlockSize, disk.logicalBlockSize);
      physicalBlockSize = Math.max(physicalBlockSize, disk.physicalBlockSize);
    }
  }
  return { logicalBlockSize, physicalBlockSize };
}

/** dm_setup_md_queue after add_disk: every device the md already holds gets its holders/ link. */
export function linkAllHolders(ctx: StepContext, md: MappedDevice, devices: string[]): void {
  const own = readDisk(ctx.store, md.disk);
  for (const dev of devices) linkHolder(ctx, dev, own.name);
}

/** close_table_device: the holder link goes (if the dm disk is registered), then the exclusive open. */
function closeDevices(ctx: StepContext, k: Kernel, d: string, md: MappedDevice, devices: string[]): void {
  const own = DISK.get(ctx.store, md.disk);
  for (const dev of devices) {
    if (!DISK.has(ctx.store, dev)) continue;
    if (own?.registered) unlinkHolder(ctx, dev, own.name);
    blkdevClose(ctx, k, d, dev, dmHolder(d));
  }
}

/** dm_table_destroy of the tables in `before` that are not in `after`: devices no table of the md uses any more are closed. */
export function releaseTables(ctx: StepContext, k: Kernel, d: string, md: MappedDevice, before: (DmTable | null)[], after: (DmTable | null)[]): void {
  const keep = heldDevices(after);
  closeDevices(ctx, k, d, md, heldDevices(before).filter((dev) => !keep.includes(dev)));
}

function devName(store: Store, key: string): string {
  const disk = DISK.get(store, key);
  return disk ? `${disk.major}:${disk.minor}` : "?";
}

/** A target's status string: STATUSTYPE_TABLE (its parameters, devices as M:m) or STATUSTYPE_INFO. */
export function targetStatus(store: Store, t: DmTableTarget, table: boolean): string {
  switch (t.type) {
    case "linear":
      return table ? `${devName(store, t.legs[0]!.disk)} ${t.legs[0]!.offset}` : "";
    case "striped":
      return table
        ? `${t.legs.length} ${t.chunkSectors}${t.legs.map((l) => ` ${devName(store, l.disk)} ${l.offset}`).join("")}`
        : `${t.legs.length} ${t.legs.map((l) => `${devName(store, l.disk)} `).join("")}1 ${"A".repeat(t.legs.length)}`;
    case "zero":
    case "error":
      return "";
  }
}
