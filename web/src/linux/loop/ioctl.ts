// lo_ioctl: the loop device's ioctls, one row per command, each handler
// checking in the kernel's order so the first failing check wins
// (drivers/block/loop.c; docs/linux-model.md §5.2 has the errno table by state).

import type { StepContext } from "../../sim/op";
import { readDisk, mediaChange, queueUevent, setCapacity, hugeEncodeDev } from "../block";
import { fail, type Kernel } from "../kernel";
import { lookupFd } from "../fdtable";
import { FILE, isTextFile } from "../files";
import { DISK, type Gendisk, type LoopDevice, type OpenFile } from "../objects";
import {
  LO_FLAGS, LO_NAME_SIZE, LOOP_CONFIGURE_SETTABLE_FLAGS, LOOP_SET_STATUS_CLEARABLE_FLAGS, LOOP_SET_STATUS_SETTABLE_FLAGS,
  loopSectors, loopUnbind, readLoop, writeLoop,
} from "./device";

/** uapi loop.h ioctl numbers. */
export const LOOP_IOCTLS = {
  LOOP_SET_FD: 0x4c00,
  LOOP_CLR_FD: 0x4c01,
  LOOP_SET_STATUS: 0x4c02,
  LOOP_GET_STATUS: 0x4c03,
  LOOP_SET_STATUS64: 0x4c04,
  LOOP_GET_STATUS64: 0x4c05,
  LOOP_CHANGE_FD: 0x4c06,
  LOOP_SET_CAPACITY: 0x4c07,
  LOOP_SET_DIRECT_IO: 0x4c08,
  LOOP_SET_BLOCK_SIZE: 0x4c09,
  LOOP_CONFIGURE: 0x4c0a,
} as const;

export type LoopFlagName = keyof typeof LO_FLAGS;

export interface LoopInfo64Arg {
  lo_offset?: number;
  lo_sizelimit?: number;
  lo_flags?: number | LoopFlagName[];
  lo_file_name?: string;
  [other: string]: unknown;
}

export interface LoopInfo64Result {
  lo_device: number;
  lo_inode: number;
  lo_rdevice: number;
  lo_offset: number;
  lo_sizelimit: number;
  lo_number: number;
  lo_flags: number;
  lo_flag_names: LoopFlagName[];
  lo_file_name: string;
}

/**
 * The block device an ioctl reached and the mode it was opened with (the
 * `bdev, mode` lo_ioctl gets): the caller's own fd on a loop device, or the
 * device under a dm table when dm_blk_ioctl passes a request down, with the
 * mode of the caller's dm fd.
 */
export interface IoctlTarget {
  disk: string;
  write: boolean;
  excl: boolean;
}

/** The target of an ioctl on a disk fd. */
export function targetOfFd(f: Extract<OpenFile, { kind: "disk" }>): IoctlTarget {
  return { disk: f.disk, write: f.write, excl: f.excl };
}

/** The loop device an ioctl reached. */
interface LoopTarget {
  f: IoctlTarget;
  disk: Gendisk;
  key: string;
  lo: LoopDevice;
}

// ---- argument decoding: a bad JavaScript value stands in for a bad user pointer (EFAULT in C); the model says EINVAL ----

function u64(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail("EINVAL", `${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function loopFlags(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) fail("EINVAL", `lo_flags must be a 32-bit unsigned integer, got ${v}`);
    return v;
  }
  if (Array.isArray(v)) {
    let n = 0;
    for (const name of v) {
      const bit = (LO_FLAGS as Record<string, number>)[name as string];
      if (bit === undefined) fail("EINVAL", `unknown loop flag ${JSON.stringify(name)} (known: ${Object.keys(LO_FLAGS).join(", ")})`);
      n |= bit;
    }
    return n;
  }
  return fail("EINVAL", `lo_flags must be a number or a list of flag names`);
}

export function loopFlagNames(flags: number): LoopFlagName[] {
  return (Object.entries(LO_FLAGS) as [LoopFlagName, number][]).filter(([, bit]) => (flags & bit) !== 0).map(([n]) => n);
}

interface DecodedInfo {
  offset: number;
  sizelimit: number;
  flags: number;
  fileName: string;
}

function decodeInfo(v: unknown): DecodedInfo {
  if (v === undefined) return { offset: 0, sizelimit: 0, flags: 0, fileName: "" };
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail("EINVAL", "loop_info64 must be an object");
  const i = v as LoopInfo64Arg;
  const name = i.lo_file_name ?? "";
  if (typeof name !== "string") fail("EINVAL", "lo_file_name must be a string");
  // lo_file_name is a char[LO_NAME_SIZE] the kernel NUL-terminates: at most 63 bytes survive.
  const bytes = new TextEncoder().encode(name).subarray(0, LO_NAME_SIZE - 1);
  return { offset: u64(i.lo_offset, "lo_offset"), sizelimit: u64(i.lo_sizelimit, "lo_sizelimit"), flags: loopFlags(i.lo_flags), fileName: new TextDecoder().decode(bytes) };
}

function loopOf(ctx: StepContext, f: IoctlTarget): LoopTarget {
  const disk = readDisk(ctx.store, f.disk);
  const key = disk.driverKey;
  return { f, disk, key, lo: readLoop(ctx.store, key) };
}

/** What a backing fd refers to, checked as loop_validate_file does; EBADF/EINVAL. */
function validateBacking(ctx: StepContext, self: string, backingFd: unknown): { file: string; writable: boolean } {
  if (typeof backingFd !== "number") fail("EBADF", `the backing fd must be a number, got ${JSON.stringify(backingFd)}`);
  const b = lookupFd(ctx, backingFd);
  if (b.kind === "file") return { file: b.file, writable: b.write };
  if (b.kind !== "disk") fail("EINVAL", `fd ${backingFd} is neither a regular file nor a block device`);
  // Walk down a chain of loop devices: binding a device to itself, even
  // through others, is EBADF; an unbound loop in the chain is EINVAL.
  let key = b.disk;
  for (let hops = 0; hops < 64; hops++) {
    const disk = readDisk(ctx.store, key);
    if (disk.driver !== "loop") break;
    if (key === self) fail("EBADF", `binding ${disk.name} to itself`);
    const lo = readLoop(ctx.store, disk.driverKey);
    if (lo.state !== "bound") fail("EINVAL", `${disk.name} in the backing chain is not bound`);
    const next = lo.backing!.file;
    if (!DISK.is(next)) break;
    key = next;
  }
  return { file: b.disk, writable: b.write };
}

function backingRdev(ctx: StepContext, backing: string | undefined): number {
  if (backing === undefined || !DISK.is(backing)) return 0;
  const disk = DISK.get(ctx.store, backing);
  return disk ? hugeEncodeDev(disk.major, disk.minor) : 0;
}

// ---- handlers ----

/** loop_configure (LOOP_CONFIGURE, and LOOP_SET_FD with a zeroed config). */
function configure(ctx: StepContext, k: Kernel, at: IoctlTarget, cfg: { fd: unknown; block_size?: unknown; info?: unknown }, isConfigure: boolean): 0 {
  const d = ctx.who.domain;
  // 1. fget(config->fd)
  if (typeof cfg.fd !== "number" || !Number.isInteger(cfg.fd)) fail("EBADF", `config.fd must be an fd number, got ${JSON.stringify(cfg.fd)}`);
  lookupFd(ctx, cfg.fd);
  const { f, disk, key, lo } = loopOf(ctx, at);
  // 2. bd_prepare_to_claim(bdev, loop_configure) for a caller without O_EXCL.
  if (!f.excl && disk.claim !== null) fail("EBUSY", `${disk.name} is claimed by ${disk.claim.holder}`);
  // 3. The state, then 4. the backing file (G:L79: a directory fails here, before a bad flag would).
  if (lo.state !== "unbound") fail("EBUSY", `${disk.name} is ${lo.state}`);
  const backing = validateBacking(ctx, f.disk, cfg.fd);
  const info = isConfigure ? decodeInfo(cfg.info) : { offset: 0, sizelimit: 0, flags: 0, fileName: "" };
  // 5. Unknown flags (G:L75).
  if ((info.flags & ~LOOP_CONFIGURE_SETTABLE_FLAGS) !== 0) fail("EINVAL", `lo_flags 0x${info.flags.toString(16)} has bits LOOP_CONFIGURE cannot set`);
  // 6. blk_validate_block_size
  const bs = isConfigure ? u64(cfg.block_size, "block_size") : 0;
  if (bs !== 0 && (bs < 512 || bs > 4096 || (bs & (bs - 1)) !== 0)) fail("EINVAL", `block_size ${bs} is not a power of two in 512..4096`);
  // Commit. The device is read-only unless both the backing file and the loop fd were opened for writing.
  let flags = info.flags;
  if (!backing.writable || !f.write) flags |= LO_FLAGS.LO_FLAGS_READ_ONLY;
  const sectors = loopSectors(ctx.store, backing.file, info.offset, info.sizelimit);
  if (DISK.is(backing.file)) {
    // The loop device keeps the backing file, and with it the lower device, open.
    const lower = readDisk(ctx.store, backing.file);
    DISK.update(ctx.store, backing.file, lower, { openers: lower.openers + 1 });
  }
  mediaChange(ctx, k, d, lo.disk);
  const blockSize = bs || 512;
  writeLoop(ctx, d, key, readLoop(ctx.store, key), {
    state: "bound", backing, offset: info.offset, sizelimit: info.sizelimit, flags, fileName: info.fileName, blockSize,
  });
  // The queue's logical and physical block size are the loop block size (loop_configure; loop_reconfigure_limits on 6.12).
  const after = DISK.update(ctx.store, lo.disk, readDisk(ctx.store, lo.disk), { readOnly: (flags & LO_FLAGS.LO_FLAGS_READ_ONLY) !== 0, logicalBlockSize: blockSize, physicalBlockSize: blockSize });
  setCapacity(ctx, d, lo.disk, sectors);
  if (k.cfg.loopConfigureUevent) queueUevent(ctx, d, { ...after, sectors }, "change");
  return 0;
}

/** loop_clr_fd: synchronous on 6.1 for a sole opener; marks autoclear otherwise, and always on 6.12. */
function clrFd(ctx: StepContext, k: Kernel, at: IoctlTarget): 0 {
  const d = ctx.who.domain;
  const { disk, key, lo } = loopOf(ctx, at);
  if (lo.state !== "bound") fail("ENXIO", `${disk.name} is ${lo.state}`);
  const autoclear = lo.flags | LO_FLAGS.LO_FLAGS_AUTOCLEAR;
  if (k.cfg.loopClrFdAlwaysLazy) {
    writeLoop(ctx, d, key, lo, { flags: autoclear, state: disk.openers === 1 ? "rundown" : lo.state });
    return 0;
  }
  if (disk.openers > 1) {
    writeLoop(ctx, d, key, lo, { flags: autoclear });
    return 0;
  }
  writeLoop(ctx, d, key, lo, { state: "rundown" });
  loopUnbind(ctx, k, d, key);
  return 0;
}

function setStatus64(ctx: StepContext, _k: Kernel, at: IoctlTarget, arg: unknown): 0 {
  const d = ctx.who.domain;
  const { disk, key, lo } = loopOf(ctx, at);
  // (EPERM without FMODE_WRITE and CAP_SYS_ADMIN: every process of the model has CAP_SYS_ADMIN.)
  if (lo.state !== "bound") fail("ENXIO", `${disk.name} is ${lo.state}`);
  const info = decodeInfo(arg);
  const prev = lo.flags;
  const flags = (info.flags & LOOP_SET_STATUS_SETTABLE_FLAGS) | (prev & ~LOOP_SET_STATUS_SETTABLE_FLAGS) | (prev & ~LOOP_SET_STATUS_CLEARABLE_FLAGS);
  const sizeChanged = info.offset !== lo.offset || info.sizelimit !== lo.sizelimit;
  writeLoop(ctx, d, key, lo, { offset: info.offset, sizelimit: info.sizelimit, fileName: info.fileName, flags });
  if (sizeChanged) setCapacity(ctx, d, lo.disk, loopSectors(ctx.store, lo.backing!.file, info.offset, info.sizelimit));
  return 0;
}

function getStatus64(ctx: StepContext, _k: Kernel, at: IoctlTarget): LoopInfo64Result {
  const { disk, lo } = loopOf(ctx, at);
  if (lo.state !== "bound") fail("ENXIO", `${disk.name} is ${lo.state}`);
  const backing = lo.backing!.file;
  const f = FILE.is(backing) ? FILE.get(ctx.store, backing) : undefined;
  return {
    // The model has no superblocks or inode numbers: lo_device is 0 and
    // lo_inode the data plane's image id + 1 (a text file: 0). lo_rdevice is
    // the backing block device's number, as stat(2) gives it.
    lo_device: 0,
    lo_inode: f && !isTextFile(f) ? f.image + 1 : 0,
    lo_rdevice: backingRdev(ctx, backing),
    lo_offset: lo.offset,
    lo_sizelimit: lo.sizelimit,
    lo_number: lo.index,
    lo_flags: lo.flags,
    lo_flag_names: loopFlagNames(lo.flags),
    lo_file_name: lo.fileName,
  };
}

function changeFd(ctx: StepContext, k: Kernel, at: IoctlTarget, newFd: unknown): 0 {
  const d = ctx.who.domain;
  if (typeof newFd !== "number") fail("EBADF", `the new backing fd must be a number, got ${JSON.stringify(newFd)}`);
  lookupFd(ctx, newFd);
  const { f, disk, key, lo } = loopOf(ctx, at);
  if (lo.state !== "bound") fail("ENXIO", `${disk.name} is ${lo.state}`);
  if ((lo.flags & LO_FLAGS.LO_FLAGS_READ_ONLY) === 0) fail("EINVAL", `${disk.name} is not read-only: LOOP_CHANGE_FD only swaps read-only backings`);
  const backing = validateBacking(ctx, f.disk, newFd);
  const old = lo.backing!.file;
  if (loopSectors(ctx.store, backing.file, lo.offset, lo.sizelimit) !== loopSectors(ctx.store, old, lo.offset, lo.sizelimit)) {
    fail("EINVAL", "the new backing file's size differs from the old one's");
  }
  if (DISK.is(backing.file)) {
    const lower = readDisk(ctx.store, backing.file);
    DISK.update(ctx.store, backing.file, lower, { openers: lower.openers + 1 });
  }
  const after = mediaChange(ctx, k, d, lo.disk);
  writeLoop(ctx, d, key, readLoop(ctx.store, key), { backing: { file: backing.file, writable: lo.backing!.writable } });
  if (DISK.is(old) && DISK.has(ctx.store, old)) {
    const lower = readDisk(ctx.store, old);
    DISK.update(ctx.store, old, lower, { openers: lower.openers - 1 });
  }
  if (k.cfg.loopConfigureUevent) queueUevent(ctx, d, after, "change");
  return 0;
}

function setCapacityIoctl(ctx: StepContext, _k: Kernel, at: IoctlTarget): 0 {
  const { disk, lo } = loopOf(ctx, at);
  if (lo.state !== "bound") fail("ENXIO", `${disk.name} is ${lo.state}`);
  setCapacity(ctx, ctx.who.domain, lo.disk, loopSectors(ctx.store, lo.backing!.file, lo.offset, lo.sizelimit));
  return 0;
}

type LoopHandler = (ctx: StepContext, k: Kernel, at: IoctlTarget, arg: unknown) => unknown;

/** One row per command the model implements; the others fall to lo_simple_ioctl's EINVAL. */
const LOOP_TABLE: Partial<Record<keyof typeof LOOP_IOCTLS, LoopHandler>> = {
  LOOP_SET_FD: (ctx, k, at, arg) => configure(ctx, k, at, { fd: arg }, false),
  LOOP_CONFIGURE: (ctx, k, at, arg) => {
    if (typeof arg !== "object" || arg === null) fail("EINVAL", "LOOP_CONFIGURE takes a loop_config { fd, block_size?, info? }");
    return configure(ctx, k, at, arg as { fd: unknown }, true);
  },
  LOOP_CLR_FD: (ctx, k, at) => clrFd(ctx, k, at),
  LOOP_SET_STATUS64: (ctx, k, at, arg) => setStatus64(ctx, k, at, arg),
  LOOP_GET_STATUS64: (ctx, k, at) => getStatus64(ctx, k, at),
  LOOP_CHANGE_FD: (ctx, k, at, arg) => changeFd(ctx, k, at, arg),
  LOOP_SET_CAPACITY: (ctx, k, at) => setCapacityIoctl(ctx, k, at),
};

/** lo_ioctl on the loop device `at` reached. */
export function loopIoctl(ctx: StepContext, k: Kernel, at: IoctlTarget, name: string, arg: unknown): unknown {
  const h = (LOOP_TABLE as Record<string, LoopHandler | undefined>)[name];
  if (!h) fail("EINVAL", `${name} is not a loop device ioctl the model implements (lo_simple_ioctl answers EINVAL)`);
  return h(ctx, k, at, arg);
}
