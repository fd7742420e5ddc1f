// The kernel's shared objects as the store holds them, and their keys.
//
// Every key contains the domain: each domain runs its own kernel, so dom0's
// diskseq counter and a driver domain's never meet. Values are plain JSON
// (numbers, strings, arrays, records) and are replaced, never mutated, so the
// store's fingerprint and undo log stay right (sim/store.ts).
//
// Objects, not numbers: an fd names the *object* it opened (`disk:dom0:s15`),
// never a major:minor. A gendisk is keyed by the diskseq it was allocated
// with, which is never reused; `devt:` objects only index a number to the
// disk registered under it now. That is what makes "the slot was re-bound
// under me" visible. See docs/linux-model.md §3.

import { declareKind } from "../sim/object-kind";

// ---- block layer (block/genhd.c) ----

/** `diskseq:<d>`: the global counter; the next disk gets last + 1, the first one 1. */
export interface DiskseqCounter {
  last: number;
}

export type DiskDriver = "loop" | "dm";

/** `disk:<d>:s<allocSeq>`: a gendisk. */
export interface Gendisk {
  name: string;
  major: number;
  minor: number;
  /** Current value: BLKGETDISKSEQ, sysfs and uevents show this one. */
  diskseq: number;
  driver: DiskDriver;
  /** The driver's object: `loop:<d>:<index>` or `dm:<d>:<minor>`. */
  driverKey: string;
  /** add_disk done: the devt index, /sys/block/<name> and /dev/<name> exist. */
  registered: boolean;
  /** False after del_gendisk: new opens ENXIO, I/O on old fds EIO. */
  live: boolean;
  /** Capacity in 512-byte sectors. */
  sectors: number;
  readOnly: boolean;
  /** bd_openers of the whole disk: fds plus in-kernel opens (dm tables, blkback). */
  openers: number;
  /** The exclusive holder (O_EXCL fd or a dm table), with how many claims it holds. */
  claim: { holder: string; count: number } | null;
  /** sysfs holders/: names of upper disks that claimed this one. */
  holders: string[];
  /** The queue's logical and physical block size (BLKSSZGET, BLKPBSZGET): loop's block size; dm's, the largest of the disks under its table when it was bound. */
  logicalBlockSize: number;
  physicalBlockSize: number;
  /** The block device inode's block size (BLKBSZGET), set at each first open from the logical block size and the capacity (set_init_blocksize). */
  bdevBlockSize: number;
  /** bd_read_only (BLKROSET), kept with the disk; a write through an fd fails with EPERM while it or `readOnly` is set (bdev_read_only). */
  bdevReadOnly: boolean;
}

/** `devt:<d>:<major>:<minor>`: which registered disk a device number names now. */
export interface DevtIndex {
  disk: string;
}

/**
 * `pagecache:<d>:s<allocSeq>`: the pages of a disk's block-device page
 * cache (bd_inode's mapping) that buffered writes put there, by page index
 * (4096 bytes each). Dirty until written back (fsync, BLKFLSBUF, the last
 * close); clean ones stay and answer buffered reads until the cache is
 * dropped. Absent while no page is cached, as for every disk nobody wrote
 * to through an fd. pagecache.ts says what the model leaves out.
 */
export interface PageCache {
  pages: Record<string, CachedPage>;
}

export interface CachedPage {
  /** The page's 4096 bytes, base64 (store values are plain JSON). */
  data: string;
  dirty: boolean;
}

// ---- loop (drivers/block/loop.c) ----

export type LoopState = "unbound" | "bound" | "rundown" | "deleting";

/** `loop:<d>:<index>`: a loop_device. */
export interface LoopDevice {
  index: number;
  /** Its gendisk, fixed for the device's life. */
  disk: string;
  state: LoopState;
  /** What the backing fd referred to: a `file:` key or a `disk:` key. */
  backing: { file: string; writable: boolean } | null;
  /** lo_offset in bytes. */
  offset: number;
  /** lo_sizelimit in bytes (0: none). */
  sizelimit: number;
  /** lo_flags: READ_ONLY 1, AUTOCLEAR 4, PARTSCAN 8, DIRECT_IO 16. */
  flags: number;
  /** lo_file_name, as given in loop_info64 ("" after LOOP_SET_FD). */
  fileName: string;
  blockSize: number;
}

// ---- device-mapper (drivers/md/dm.c, dm-ioctl.c) ----

export type DmTargetType = "linear" | "striped" | "zero" | "error";

export interface DmTableTarget {
  start: number;
  length: number;
  type: DmTargetType;
  /** The parameter string as loaded (devices as given: "7:1 0" or "/dev/loop1 0"). */
  params: string;
  /** Parsed: the lower disks (gendisk keys) with their offsets, in the order of the params. */
  legs: { disk: string; offset: number }[];
  /** striped: chunk size in sectors. */
  chunkSectors?: number;
}

export interface DmTable {
  /** get_mode(): DM_READONLY_FLAG at load. */
  readOnly: boolean;
  targets: DmTableTarget[];
  /** Gendisk keys the table opened (dm_get_device), each claimed with holder `dm:<d>`: every mapped device claims with the one `_dm_claim_ptr`, so two dm devices may share a lower disk. */
  devices: string[];
}

/** `dm:<d>:<minor>`: a mapped_device, from alloc_dev to free_minor. */
export interface MappedDevice {
  minor: number;
  disk: string;
  /** The hash cell's name; null once unhashed (the name is free again). */
  name: string | null;
  uuid: string | null;
  live: DmTable | null;
  inactive: DmTable | null;
  /** md->type set by the first TABLE_LOAD, which also registers the gendisk. */
  typeSet: boolean;
  suspended: boolean;
  openCount: number;
  eventNr: number;
  deferredRemove: boolean;
  /** DMF_DELETING: opens and lookups by dev give ENXIO. */
  deleting: boolean;
  /** Unhashed by the deferred worker, not yet destroyed. */
  teardown: boolean;
  disableUevents: boolean;
  geometry: [number, number, number, number] | null;
}

/** `dmname:<d>:<name>` and `dmuuid:<d>:<uuid>`: the hash tables. */
export interface DmHashEntry {
  minor: number;
}

/** `dmwork:<d>`: dm's deferred-remove work item. */
export interface DmDeferredWork {
  queued: boolean;
  teardown: boolean;
}

// ---- files, fds ----

/** `fdtable:<d>:<process>`: one per process, so two processes' opens never conflict. */
export interface FdTable {
  fds: Record<string, OpenFile>;
}

export type MiscDevice = "loop-control" | "mapper-control";

/**
 * An open file. `pos` is the file position (lseek; absent: 0): the model's
 * read and write are pread and pwrite, which neither use nor move it.
 * `direct`: opened with O_DIRECT (a disk's I/O bypasses its page cache).
 */
export type OpenFile =
  | { kind: "file"; file: string; write: boolean; pos?: number }
  | { kind: "dir"; path: string; pos?: number }
  | { kind: "disk"; disk: string; write: boolean; excl: boolean; direct?: true; pos?: number }
  | { kind: "misc"; dev: MiscDevice };

/** An open block device. */
export type DiskFd = Extract<OpenFile, { kind: "disk" }>;

// ---- device nodes, links, uevents, udev ----

/** `node:<d>:<path>`: a device node (devtmpfs or mknod). */
export interface DeviceNode {
  type: "block" | "char";
  major: number;
  minor: number;
}

/** `link:<d>:<path>`: a symlink (only udev makes them). */
export interface Symlink {
  target: string;
}

export type UEventAction = "add" | "change" | "remove";

export interface UEvent {
  action: UEventAction;
  name: string;
  major: number;
  minor: number;
  /** DISKSEQ= */
  diskseq: number;
  env: Record<string, string>;
}

/** `uevents:<d>:<name>`: a device's pending uevents, oldest first. */
export interface UEventQueue {
  events: UEvent[];
}

/** `udevdb:<d>:<name>`: the links udev made for a device, to remove them later. */
export interface UdevRecord {
  links: string[];
}

// ---- the kinds ----
//
// Each kind once, with how its key is built (sim/object-kind.ts): every
// key of the kernel's objects comes from here.

export const DISKSEQ = declareKind<DiskseqCounter, [d: string]>("diskseq", (d) => d);
export const DISK = declareKind<Gendisk, [d: string, allocSeq: number]>("disk", (d, allocSeq) => `${d}:s${allocSeq}`);
/** A disk's page cache goes with its gendisk: the same tail as the disk's key (PAGECACHE.withTail). */
export const PAGECACHE = declareKind<PageCache, [d: string, allocSeq: number]>("pagecache", (d, allocSeq) => `${d}:s${allocSeq}`);
export const DEVT = declareKind<DevtIndex, [d: string, major: number, minor: number]>("devt", (d, major, minor) => `${d}:${major}:${minor}`);
export const LOOP = declareKind<LoopDevice, [d: string, index: number]>("loop", (d, index) => `${d}:${index}`);
export const DM = declareKind<MappedDevice, [d: string, minor: number]>("dm", (d, minor) => `${d}:${minor}`);
export const DM_NAME = declareKind<DmHashEntry, [d: string, name: string]>("dmname", (d, name) => `${d}:${name}`);
export const DM_UUID = declareKind<DmHashEntry, [d: string, uuid: string]>("dmuuid", (d, uuid) => `${d}:${uuid}`);
export const DM_WORK = declareKind<DmDeferredWork, [d: string]>("dmwork", (d) => d);
export const FDTABLE = declareKind<FdTable, [d: string, proc: string]>("fdtable", (d, proc) => `${d}:${proc}`);
export const DEV_NODE = declareKind<DeviceNode, [d: string, path: string]>("node", (d, path) => `${d}:${path}`);
export const SYMLINK = declareKind<Symlink, [d: string, path: string]>("link", (d, path) => `${d}:${path}`);
export const UEVENTS = declareKind<UEventQueue, [d: string, name: string]>("uevents", (d, name) => `${d}:${name}`);
export const UDEVDB = declareKind<UdevRecord, [d: string, name: string]>("udevdb", (d, name) => `${d}:${name}`);
