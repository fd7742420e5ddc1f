// The public scenario API, as users and the editor see it:
//   import { scenario } from "blocklab";
//
// This file is the one place where the public types are declared (with the
// doc comments the editor shows on hover). The implementation in this folder
// takes its types from here (types.ts), so the compiler checks that it keeps
// to them; test/api/dts-sync.test.ts checks the rest at run time.
// It is self-contained on purpose: the editor loads it as one extra lib.

declare module "blocklab" {
  // ---------------------------------------------------------------------------
  // Kernel configuration (see the patch table in the docs)

  /**
   * The base kernel:
   * - `"linux-6.1"` (default): 6.1.0 to 6.1.51, the kernel of the RFC's time;
   * - `"linux-6.1.192"`: Debian 12's LTS kernel, with "block: increment diskseq on all media change events";
   * - `"linux-6.12"`: 6.12 LTS (Debian 13): dm refuses `control`, `.`, `..`; `LOOP_CLR_FD` is always lazy.
   */
  export type KernelId = "linux-6.1" | "linux-6.1.192" | "linux-6.12";

  /**
   * A patch switch of the series "Allow race-free block device handling":
   * - `"bdev-file"` 1/7 block: struct file from a block device (needed by `dm-fd`);
   * - `"dm-fd"` 2/7 fd for a newly created DM device;
   * - `"blkback-diskseq"` 3/7 diskseq checks in blkback;
   * - `"loop-release-diskseq"` 4/7 bump diskseq on loop release;
   * - `"loop-autoclear-delete"` 5/7 delete an autoclear loop device when unused;
   * - `"blkback-cleanups"` 6/7 minor blkback cleanups (no behaviour change);
   * - `"blkback-opened"` 7/7 blkback says it has opened the device;
   * - `"rfc-dm-refcount-bug"`: teaching switch, the RFC's create-with-fd path counting the open twice (needs `dm-fd`).
   */
  export type PatchId =
    | "bdev-file"
    | "dm-fd"
    | "blkback-diskseq"
    | "loop-release-diskseq"
    | "loop-autoclear-delete"
    | "blkback-cleanups"
    | "blkback-opened"
    | "rfc-dm-refcount-bug";

  /**
   * How dm treats flag bits it does not know: `"ignore"` (mainline v4),
   * `"reject"` (the RFC: bits above 20 give EINVAL), `"strict-v5"` (callers opt in with major 5).
   */
  export type DmFlagPolicy = "ignore" | "reject" | "strict-v5";

  /** How the toolstack hands blkback the diskseq: a separate `diskseq` node, or the RFC's `seq@major:minor`. */
  export type DiskseqFormat = "node" | "inline";

  /** `"none"`: every switch off; `"rfc-v1"`: all seven on (reject, inline); `"v2"`: 3, 4, 7 on (strict-v5, node). */
  export type PresetId = "none" | "rfc-v1" | "v2";

  /** A switch's value: on or off, or (for `dm-fd`, `blkback-diskseq`) a sub-setting, which also turns it on. */
  export type PatchValue = boolean | "on" | "off" | DmFlagPolicy | DiskseqFormat;

  /** Switches by id on top of `preset` (default `"none"`), and the two sub-settings. */
  export type PatchMap = { [id in PatchId]?: PatchValue } & {
    preset?: PresetId;
    dmFlagPolicy?: DmFlagPolicy;
    diskseqFormat?: DiskseqFormat;
  };

  /** A preset, a list of the switches that are on, or a map of switches. */
  export type PatchSelection = PresetId | PatchId[] | PatchMap;

  /** Every switch resolved: what a run actually used (results, shared links). */
  export type ResolvedPatches = { [id in PatchId]: boolean } & {
    dmFlagPolicy: DmFlagPolicy;
    diskseqFormat: DiskseqFormat;
  };

  export interface Config {
    kernel: KernelId;
    patches: ResolvedPatches;
  }

  // ---------------------------------------------------------------------------
  // The scenario file

  /** Bytes, or a string with an optional K, M or G suffix (powers of 1024): `"8M"`. */
  export type Size = number | `${number}` | `${number}${"K" | "M" | "G" | "k" | "m" | "g"}`;

  /** A guest VM (running when the scenario starts; domids 1, 2, ... in order): `{}`, or a driver domain. */
  export interface DomainDefinition {
    /**
     * A driver domain: it runs blkback (and `xl devd`, which runs the
     * hotplug scripts of the disks it serves, in its own kernel) for disks
     * attached with `blockAttach(guest, { backend: "<this domain>", ... })`.
     * Their images live in its filesystem (`files: { path: { domain } }`).
     * It is not one of the VMs that `no-leak` waits for.
     */
    backend?: boolean;
  }

  /** A disk image: its size and the VM whose data it holds. */
  export interface ImageFileDefinition {
    /** At most 4096G (4 TiB), the data plane's largest image; 256 images per scenario. */
    size: Size;
    /** The domain allowed to see this image's data. */
    owner?: string;
    /** The domain whose filesystem holds the file (default `"dom0"`). */
    domain?: string;
    /** Every byte of the image starts with this value (0..255; default: zeros). At most 64M per image, 256M for all. */
    fill?: number;
  }

  /** A small text file. */
  export interface TextFileDefinition {
    content: string;
    /** The domain whose filesystem holds the file (default `"dom0"`). */
    domain?: string;
  }

  export type FileDefinition = ImageFileDefinition | TextFileDefinition;

  /** An actor's code: one process, every `sys` call one atomic step. */
  export type ActorFunction = (sys: Sys) => Promise<void> | void;

  export interface ActorDefinition {
    /** The domain the process runs in (default `"dom0"`). */
    domain?: string;
    run: ActorFunction;
    /** The explorer also tries killing it at each of its steps (the kernel closes its fds). */
    mayCrash?: boolean;
    /**
     * Root (default `true`): may open device nodes and make them. An
     * unprivileged process gets EACCES opening a device node (they are
     * 0600/0660 root:disk), EPERM from mknod (no CAP_MKNOD), and EACCES
     * from every `xl` command and xenstore request (privcmd, the xenbus
     * device and xenstored's socket are root's).
     */
    privileged?: boolean;
    /** A service that may wait forever: not a deadlock when everything else is done. */
    daemon?: boolean;
  }

  /**
   * The built-in invariants:
   * - `"progress"`: no deadlock;
   * - `"isolation"` (after every step): blkback exports to a guest only a disk whose
   *   backing is the image the toolstack named in `params`, and no guest's disk, as
   *   opened or as served by its ring, reaches an image `owner`ed by another domain;
   * - `"no-leak"` (at the end, once every guest is destroyed): no loop device bound to,
   *   and no dm device mapping, an image of a dead VM; no ring still mapped by blkback;
   *   no fd still open;
   * - `"no-stale-open"` (after every step): a (dev_t, diskseq) pair never names two
   *   device incarnations. Every reading of a diskseq (BLKGETDISKSEQ, sysfs, blkback's
   *   check) is recorded with what the device was then (a loop device: the file it is
   *   bound to; a dm device: the device itself); the same pair read on another
   *   incarnation is a violation, since whoever checks that pair cannot tell them apart.
   */
  export type BuiltinInvariant = "isolation" | "no-leak" | "no-stale-open" | "progress";

  /**
   * A check over the world. `check` returns a message (or `false`) when the
   * property does not hold, and `undefined` (or `true`) when it holds.
   */
  export interface WorldCheck {
    name: string;
    /** Check once, when every actor is done (or stuck); otherwise after every step. */
    atEnd?: boolean;
    check(world: WorldView): string | boolean | undefined | void;
  }

  export interface ScenarioDefinition {
    title?: string;
    /** Base kernel (default `"linux-6.1"`); the CLI's `--kernel` overrides it. */
    kernel?: KernelId;
    /** Patch switches (default `"none"`); the CLI's `--patches`/`--patch` override them. */
    patches?: PatchSelection;
    /** Guest VMs (at most 63); dom0 always exists. Guests get domids 1, 2, ... in this order. */
    domains?: { [name: string]: DomainDefinition };
    /** Files that exist at the start, by absolute path. */
    files?: { [path: string]: FileDefinition };
    /** The processes, each an async function over `Sys` (in dom0), or an `ActorDefinition`. */
    actors: { [name: string]: ActorFunction | ActorDefinition };
    /** Built-in invariant names and the scenario's own checks; default: every built-in one. */
    invariants?: (BuiltinInvariant | WorldCheck)[];
    /** Each must hold in at least one explored execution, or a pass is reported as vacuous. */
    sometimes?: WorldCheck[];
  }

  /** Checks a scenario definition (throws a clear error when it is malformed) and returns it. */
  export function scenario(def: ScenarioDefinition): ScenarioDefinition;

  // ---------------------------------------------------------------------------
  // What a custom check sees

  /** A block device as `lsblk` would show it. */
  export interface DeviceView {
    /** `/dev/loop0`, `/dev/dm-1`. */
    path: string;
    name: string;
    major: number;
    minor: number;
    diskseq: number;
    driver: "loop" | "dm";
    /** Capacity in 512-byte sectors. */
    sectors: number;
    readOnly: boolean;
    /** Open file descriptions and in-kernel users (dm tables, blkback). */
    openers: number;
    /** loop: `unbound`, `bound`, `rundown`; dm: `active`, `suspended`, `no table`. */
    state: string;
    /** loop: the backing file's path (or `/dev/NAME` of a backing device). */
    backing?: string;
    /** dm: the device's name in dm's table. */
    dmName?: string;
  }

  /** A guest disk's blkif ring, as the world records it. */
  export interface RingView {
    /** Requests the frontend published (free-running; after a stored bogus `req_prod`, that value). */
    pushed: number;
    /** Responses blkback published (free-running). */
    answered: number;
    /** blkback's side: serving the ring, halted (the frontend's producer ran more than a ring ahead), or not connected. */
    backend: "connected" | "halted" | "disconnected";
  }

  /** A read-only view of the world for custom checks; reading it is not a step. */
  export interface WorldView {
    /** The text of an ordinary file of `domain`, or undefined (missing, or a disk image). */
    readFile(domain: string, path: string): string | undefined;
    /** Whether a file exists in `domain`. */
    exists(domain: string, path: string): boolean;
    /** The value of a xenstore node (absolute path), or undefined when it does not exist. */
    xenstore(path: string): string | undefined;
    /** The registered block devices of a domain's kernel, by name. */
    devices(domain: string): DeviceView[];
    /** The ring of guest `domain`'s disk `vdev` (`"xvda"`), or undefined when it has none. */
    ring(domain: string, vdev: string): RingView | undefined;
  }

  // ---------------------------------------------------------------------------
  // Sys: one process in one domain

  /** A failed call: `errno` is the kernel's name (`"ENOENT"`, `"EBUSY"`, ...). */
  export class SysError extends Error {
    constructor(errno: string, message: string, result?: unknown);
    readonly errno: string;
    /** What the kernel wrote back despite the error (a dm ioctl's header). */
    readonly result?: unknown;
  }

  export interface OpenFlags {
    write?: boolean;
    /** O_EXCL: on a block device, fails with EBUSY while someone else holds it exclusively. */
    excl?: boolean;
    /** O_CREAT: create a missing file, as an empty disk image (its bytes live in the data plane). */
    create?: boolean;
    /** O_DIRECTORY: ENOTDIR unless the path is a directory. */
    directory?: boolean;
    /**
     * O_DIRECT: a block device's reads and writes bypass its page cache (after
     * writing back the dirty pages of their range) and must be in whole logical
     * blocks (BLKSSZGET), offset and length, else EINVAL. EINVAL at open for a
     * directory or a control device, and for a file on linux-6.1 and 6.1.192
     * (tmpfs without direct I/O).
     */
    direct?: boolean;
  }

  /** lseek(2)'s whence: from the start, the current position, or the end. */
  export type Whence = "SEEK_SET" | "SEEK_CUR" | "SEEK_END";

  /** A device number. */
  export interface DevT {
    major: number;
    minor: number;
  }

  export interface Stat {
    type: "file" | "block" | "char" | "directory" | "symlink";
    /** The device number of a device node (0:0 otherwise). */
    rdev: DevT;
    /** Bytes of a regular file. */
    size: number;
  }

  /** mknod(2)'s node: a block or char device number. */
  export interface NodeSpec {
    type: "block" | "char";
    major: number;
    minor: number;
  }

  export type LoopFlagName = "LO_FLAGS_READ_ONLY" | "LO_FLAGS_AUTOCLEAR" | "LO_FLAGS_PARTSCAN" | "LO_FLAGS_DIRECT_IO";

  export type DmFlagName =
    | "DM_READONLY_FLAG"
    | "DM_SUSPEND_FLAG"
    | "DM_EXISTS_FLAG"
    | "DM_PERSISTENT_DEV_FLAG"
    | "DM_STATUS_TABLE_FLAG"
    | "DM_ACTIVE_PRESENT_FLAG"
    | "DM_INACTIVE_PRESENT_FLAG"
    | "DM_BUFFER_FULL_FLAG"
    | "DM_SKIP_BDGET_FLAG"
    | "DM_SKIP_LOCKFS_FLAG"
    | "DM_NOFLUSH_FLAG"
    | "DM_QUERY_INACTIVE_TABLE_FLAG"
    | "DM_UEVENT_GENERATED_FLAG"
    | "DM_UUID_FLAG"
    | "DM_SECURE_DATA_FLAG"
    | "DM_DATA_OUT_FLAG"
    | "DM_DEFERRED_REMOVE"
    | "DM_INTERNAL_SUSPEND_FLAG"
    | "DM_IMA_MEASUREMENT_FLAG"
    | "DM_FILE_DESCRIPTOR_FLAG";

  /** `struct loop_info64`. Flags in: a number or a list of names; out: both. */
  export interface LoopInfo64 {
    lo_device?: number;
    lo_inode?: number;
    lo_rdevice?: number;
    lo_offset?: number;
    lo_sizelimit?: number;
    lo_number?: number;
    lo_flags?: number | LoopFlagName[];
    /** In results: the names of the bits set in `lo_flags`. */
    lo_flag_names?: LoopFlagName[];
    lo_file_name?: string;
  }

  /** `struct loop_config` for LOOP_CONFIGURE. */
  export interface LoopConfig {
    fd: number;
    block_size?: number;
    info?: LoopInfo64;
  }

  /** A dm target line: `{ sector_start: 0, length: 16384, target_type: "linear", params: "/dev/loop0 0" }`. */
  export interface DmTarget {
    sector_start: number;
    length: number;
    target_type: string;
    params: string;
    /** DM_TABLE_STATUS results. */
    status?: string;
  }

  /**
   * `struct dm_ioctl` in: the header fields and a command's payload. Fields
   * left out are what libdevmapper sends: `version` [4, 0, 0], `data_size`
   * 16384 (the buffer after the header, which bounds what a reply can carry),
   * `data_start` 312, `target_count` the number of `targets`, the rest 0 or "".
   * Flags: a number or a list of names; bits the kernel does not know are kept
   * and come back in the reply, as on a real kernel.
   */
  export interface DmIoctlArg {
    version?: [number, number, number];
    name?: string;
    uuid?: string;
    dev?: DevT;
    flags?: number | DmFlagName[];
    event_nr?: number;
    /** The u32 at offset 36 (never read by mainline; the RFC's `file_descriptor`; strict-v5's `diskseq_low`). */
    padding?: number;
    /** The size of the caller's buffer, header included (at least 305). */
    data_size?: number;
    /** Where the payload starts in the buffer. */
    data_start?: number;
    /** DM_TABLE_LOAD: how many of `targets` the kernel reads. */
    target_count?: number;
    /** Read by strict-v5's checks only (must be 0). */
    open_count?: number;
    /** DM_TABLE_LOAD: the table, one line per target. */
    targets?: DmTarget[];
    /** DM_DEV_RENAME: the new name (or uuid, with DM_UUID_FLAG). */
    new_name?: string;
    /** DM_TARGET_MSG: the message, and the sector that picks the target. */
    message?: string;
    sector?: number;
    /** DM_DEV_SET_GEOMETRY: "cylinders heads sectors start". */
    geometry?: string;
    /** strict-v5, major 5: the diskseq the caller expects the device to have (0: any). */
    diskseq?: number;
  }

  /**
   * `struct dm_ioctl` out: the header the kernel wrote back, plus the
   * command's payload when `data_size` says it was copied. A failed call
   * copies back only the version: its `SysError.result` is the caller's own
   * header with the kernel's version in it.
   */
  export interface DmIoctlResult {
    version: [number, number, number];
    flags: number;
    flag_names: DmFlagName[];
    dev: DevT;
    open_count: number;
    event_nr: number;
    target_count: number;
    name: string;
    uuid: string;
    padding: number;
    data_start: number;
    /** How much the kernel copied back: 305 for a header alone, more with a payload. */
    data_size: number;
    /** strict-v5, major 5: the device's diskseq. */
    diskseq?: number;
    /** DM_LIST_DEVICES (uuid only with DM_UUID_FLAG). */
    names?: { name: string; dev: DevT; event_nr: number; uuid?: string }[];
    /** DM_TABLE_DEPS. */
    deps?: DevT[];
    /** DM_TABLE_STATUS, DM_DEV_WAIT: `params` with DM_STATUS_TABLE_FLAG, else `status`. */
    targets?: DmTarget[];
    /** DM_LIST_VERSIONS, DM_GET_TARGET_VERSION. */
    versions?: { name: string; version: [number, number, number] }[];
    /** DM_DEV_CREATE with DM_FILE_DESCRIPTOR_FLAG where patch 2 (`dm-fd`) is on (also in `padding`, its union). */
    fd?: number;
  }

  /** The ioctls the emulator knows, with the argument and result of each. */
  export interface IoctlMap {
    LOOP_CTL_GET_FREE: { arg: void; result: number };
    LOOP_CTL_ADD: { arg: number; result: number };
    LOOP_CTL_REMOVE: { arg: number; result: number };
    LOOP_CONFIGURE: { arg: LoopConfig; result: 0 };
    LOOP_SET_FD: { arg: number; result: 0 };
    LOOP_CHANGE_FD: { arg: number; result: 0 };
    LOOP_CLR_FD: { arg: void; result: 0 };
    LOOP_SET_STATUS64: { arg: LoopInfo64; result: 0 };
    LOOP_GET_STATUS64: { arg: void; result: LoopInfo64 };
    LOOP_SET_CAPACITY: { arg: void; result: 0 };
    BLKGETDISKSEQ: { arg: void; result: number };
    BLKGETSIZE64: { arg: void; result: number };
    /** The size in 512-byte sectors. */
    BLKGETSIZE: { arg: void; result: number };
    /** 1 while the device is read-only (a read-only binding or table, or BLKROSET), else 0. */
    BLKROGET: { arg: void; result: 0 | 1 };
    /** Sets the block device's read-only flag (nonzero: read-only); needs CAP_SYS_ADMIN (EACCES). Writes through fds then fail with EPERM. */
    BLKROSET: { arg: number; result: 0 };
    /** The logical block size (O_DIRECT's unit). */
    BLKSSZGET: { arg: void; result: number };
    /** The physical block size. */
    BLKPBSZGET: { arg: void; result: number };
    /** The block device's soft block size, set at its first open (4096 for most sizes). */
    BLKBSZGET: { arg: void; result: number };
    /** Writes the dirty pages of the device's page cache back and drops the cache; needs CAP_SYS_ADMIN (EACCES). */
    BLKFLSBUF: { arg: void; result: 0 };
    /** Discards `[start, length]` bytes (the fd opened for writing): loop punches a hole (reads as zeros), dm passes it down; EOPNOTSUPP where unsupported. */
    BLKDISCARD: { arg: [start: number, length: number]; result: 0 };
    DM_VERSION: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_REMOVE_ALL: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_LIST_DEVICES: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_CREATE: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_REMOVE: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_RENAME: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_SUSPEND: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_STATUS: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_WAIT: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_TABLE_LOAD: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_TABLE_CLEAR: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_TABLE_DEPS: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_TABLE_STATUS: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_LIST_VERSIONS: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_TARGET_MSG: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_SET_GEOMETRY: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_DEV_ARM_POLL: { arg: DmIoctlArg; result: DmIoctlResult };
    DM_GET_TARGET_VERSION: { arg: DmIoctlArg; result: DmIoctlResult };
  }

  export type IoctlName = keyof IoctlMap;

  /** `losetup -f --show`'s answer. */
  export interface LoopAttachment {
    path: string;
    index: number;
    major: number;
    minor: number;
    diskseq: number;
    /** The open fd on the device, with `keepFd`. */
    fd?: number;
  }

  export interface LoopListEntry {
    path: string;
    index: number;
    backingFile: string;
    autoclear: boolean;
    readOnly: boolean;
    diskseq: number;
  }

  /** `losetup`: several steps each, like the real program (each call below is its own step). */
  export interface Losetup {
    /** `losetup -f --show FILE`: find a free device, bind FILE to it. */
    attach(file: string, options?: { autoclear?: boolean; readOnly?: boolean; keepFd?: boolean }): Promise<LoopAttachment>;
    /** `losetup -d DEV`. */
    detach(path: string): Promise<void>;
    /** `losetup -l`. */
    list(): Promise<LoopListEntry[]>;
  }

  export interface DmInfo {
    name: string;
    uuid: string;
    major: number;
    minor: number;
    open_count: number;
    event_nr: number;
    state: "ACTIVE" | "SUSPENDED";
    deferredRemove: boolean;
  }

  /**
   * `dmsetup`, tables in its text form (`"0 16384 linear /dev/loop0 0"`, one
   * line per target). Several steps each, like the real program: create is
   * DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND (resume), so other actors
   * can run between them.
   */
  export interface Dmsetup {
    /** `dmsetup create NAME --table TABLE`; `fd` asks for patch 2's fd on the new device. */
    create(name: string, table: string, options?: { fd?: boolean; deferredRemove?: boolean; uuid?: string }): Promise<DmInfo & { fd?: number }>;
    /** `dmsetup remove [--deferred] NAME`. */
    remove(name: string, options?: { deferred?: boolean }): Promise<void>;
    info(name: string): Promise<DmInfo>;
    table(name: string): Promise<string>;
    ls(): Promise<{ name: string; major: number; minor: number }[]>;
    /** `dmsetup suspend NAME`: I/O to the device waits until it is resumed. */
    suspend(name: string): Promise<DmInfo>;
    /** `dmsetup resume NAME`: a loaded (inactive) table becomes the live one. */
    resume(name: string): Promise<DmInfo>;
    /** `dmsetup load NAME --table TABLE`: into the inactive slot; live at the next resume. */
    load(name: string, table: string): Promise<DmInfo>;
  }

  export interface XenstoreWatchEvent {
    /** The path that changed (or the watched path, for the first event); relative for a relative watch. */
    path: string;
    /** The watch's token (each `watch()` has its own). */
    token: string;
  }

  /** Requests inside a xenstore transaction: each is a step, and sees the transaction's own writes and nobody else's. */
  export interface XenstoreTransaction {
    read(path: string): Promise<string>;
    write(path: string, value: string): Promise<void>;
    rm(path: string): Promise<void>;
    ls(path: string): Promise<string[]>;
    /** SET_PERMS inside the transaction (libxl sets a device directory's permissions in the transaction that creates it). */
    setPerms(path: string, perms: string[]): Promise<void>;
  }

  /**
   * The xenstore client of this process (a connection of its domain), as
   * libxenstore's `xs_*` calls. Every request is one step. Paths are
   * absolute (`/local/domain/1/device/vbd/51712/state`) or relative to the
   * domain's home `/local/domain/<domid>`; characters `[A-Za-z0-9/_@-]`.
   *
   * Errors are xenstored's names: `ENOENT` (missing), `EACCES` (the node's
   * permissions forbid it; also for a missing node when the caller may not
   * read its nearest existing ancestor, so errors never reveal what exists),
   * `EINVAL` (bad path, bad permission list), `EPERM` (a guest changing a
   * node's owner), `E2BIG` (request over 4096 bytes), `EAGAIN` (a
   * transaction's commit lost a race). dom0 may do anything.
   * Only root may use xenstore: every request of a process that is not is
   * EACCES (the xenbus device and xenstored's socket are root's). A guest's
   * root acts as its domain.
   *
   * Permissions are lists like `["n0", "r1"]`: entry 0 is the owner (every
   * right) and its letter the default for domains not listed; `r` read,
   * `w` write, `b` both, `n` none. New nodes copy their parent's list, and a
   * guest that creates a node owns it.
   */
  export interface Xenstore {
    /** READ: the value at `path`; ENOENT when missing. */
    read(path: string): Promise<string>;
    /** WRITE: creates any missing parent with an empty value (so a late write re-creates a removed directory). */
    write(path: string, value: string): Promise<void>;
    /** RM: the node and everything below it; fine if missing while its parent exists. */
    rm(path: string): Promise<void>;
    /** DIRECTORY: the child names, in creation order. */
    ls(path: string): Promise<string[]>;
    /**
     * WATCH: events for `path` and below, each taken in its own step. The
     * first comes at once (the watched path itself), then one per create,
     * change, removal or permission change (a path may exist or not);
     * identical events may be merged when one is still pending, as
     * xenstored does (the explorer tries both). Leaving the loop unwatches.
     */
    watch(path: string): AsyncIterableIterator<XenstoreWatchEvent>;
    /** One step that waits until `predicate` holds for the value at `path` (undefined when missing or unreadable); returns that value. */
    waitFor(path: string, predicate: (value: string | undefined) => boolean): Promise<string | undefined>;
    /**
     * Runs `body` in a transaction (start, each request, commit: separate
     * steps), again from the start when the commit fails with EAGAIN
     * because a node the transaction read or wrote changed meanwhile. A body
     * that throws aborts it. Watches fire at the commit.
     */
    transaction<T>(body: (tx: XenstoreTransaction) => Promise<T>): Promise<T>;
    /** GET_PERMS (`xenstore-ls -p`): the list, e.g. `["n0", "r1"]`. */
    getPerms(path: string): Promise<string[]>;
    /** SET_PERMS (`xenstore-chmod`): the owner (or dom0) only; only dom0 may change the owner. */
    setPerms(path: string, perms: string[]): Promise<void>;
  }

  /**
   * A hotplug script written in the scenario, run as libxl runs
   * `/etc/xen/scripts/<script>`: in a process of its own in dom0 (its fds are
   * closed when it returns), with the backend's xenstore path
   * (`/local/domain/0/backend/vbd/<domid>/<devid>`), `action` `"add"` at
   * attach (it should write `physical-device`) and `"remove"` at detach. A
   * script that throws fails the attach. One script runs at a time.
   */
  export type HotplugScript = (sys: Sys, backendPath: string, action?: "add" | "remove") => Promise<void>;

  /**
   * The toolstack, as `xl` drives libxl (several steps each; other actors
   * run in between). EINVAL for a domain that is not a guest of the
   * scenario or a bad virtual device name. Only root in dom0 may use it: a
   * process that is not root gets EACCES (`/dev/xen/privcmd` is root's),
   * root in a guest or a driver domain EPERM (Xen answers the toolstack's
   * hypercalls only from the control domain); the refusal comes first.
   */
  export interface Xl {
    /** Every scenario domain starts running: EEXIST while it runs, ENOSYS after it was destroyed (re-creation is not modelled). */
    create(domain: string): Promise<void>;
    /** `control/shutdown` = "poweroff", wait until the guest's connected disks are closing, then `destroy`. */
    shutdown(domain: string): Promise<void>;
    /** The domain dies (xenstored removes what it owned, its grants and rings go), then each of its disks is detached as by `blockDetach`. */
    destroy(domain: string): Promise<void>;
    /**
     * `xl block-attach`: one transaction writes the frontend and backend
     * directories (state 1, `online` 1, `params` = `target`); wait for
     * blkback's InitWait; run `script` `add` (`"block"`, the stock script,
     * by default; `"qubes-block"`; or your own) and wait for it. EEXIST if
     * the device exists; EIO if the backend fails before InitWait or the
     * script fails (the directories are removed again). `backend` (xl's
     * `backend=`) names the domain that serves the disk: dom0 by default,
     * or a driver domain (`domains: { name: { backend: true } }`), whose
     * blkback, kernel and `xl devd` then do dom0's part; EINVAL for a
     * domain that is not one.
     */
    blockAttach(domain: string, disk: { target: string; vdev: string; mode?: "r" | "w"; script?: "block" | "qubes-block" | HotplugScript; backend?: string }): Promise<void>;
    /**
     * `xl block-detach`: one transaction sets `online` 0 and `state` 5; wait
     * for the backend's Closed (or the guest's death); run the script's
     * `remove`; remove the frontend, backend and libxl directories. ENOENT
     * if the device is not attached.
     */
    blockDetach(domain: string, vdev: string): Promise<void>;
  }

  /**
   * A guest's virtual disks (`"xvda"`, `"xvdb"`, ...; from a guest actor),
   * as its blkfront serves them: each call is two steps, the submit
   * (requests of up to 11 granted pages on the shared ring, push-and-check,
   * notify) and the completion (once blkback's event arrives: responses
   * consumed, grants ended, data copied out). Between them blkback's ring
   * thread serves the batch through dom0's loop or dm device and the image.
   * A call waits until the disk is connected; at most 4 × 11 × 8 = 352
   * sectors per call. EIO for a backend answer BLKIF_RSP_ERROR (a sector
   * beyond the end, a write to a read-only disk) or a disk that went away;
   * ENODEV for a disk the guest does not have; EINVAL for a bad name, range
   * or buffer.
   */
  export interface Disk {
    /** `count` 512-byte sectors from `sector`. */
    read(vdev: string, sector: number, count: number): Promise<Uint8Array>;
    /** Whole 512-byte sectors from `sector`. */
    write(vdev: string, sector: number, bytes: Uint8Array): Promise<void>;
  }

  /** One segment of a raw request: a data page of the disk (0..43; `push` grants it) or any grant ref, and the sectors used in that page (0..7, inclusive). */
  export interface RingSegment {
    page?: number;
    gref?: number;
    firstSect: number;
    lastSect: number;
  }

  /** A raw blkif request (`blkif_request_t`), any values a guest can put in a ring slot. */
  export interface RingRequest {
    /** `READ` 0, `WRITE` 1, `WRITE_BARRIER` 2, `FLUSH_DISKCACHE` 3, `DISCARD` 5, `INDIRECT` 6, or any number. */
    operation: "READ" | "WRITE" | "WRITE_BARRIER" | "FLUSH_DISKCACHE" | number;
    /** Echoed in the response (default: the request's index in the call). */
    id?: number;
    sector: number;
    /** Encoded as given (`nr_segments` is their count, even above 11; 11 are written to the slot). */
    segments: RingSegment[];
  }

  export interface RingResponse {
    id: number;
    operation: number;
    status: "OKAY" | "ERROR" | "EOPNOTSUPP";
  }

  /**
   * The adversary API: a guest kernel's raw access to the shared blkif ring
   * of one of its disks (from a guest actor), for lessons about a
   * malicious or hand-written frontend. Each call is one step. The ring is
   * the one blkfront set up (one page, 32 slots, x86_64 layout,
   * `xen/include/public/io/ring.h`); mixing these calls with `sys.disk`
   * on the same disk confuses blkfront's own bookkeeping, as it would a
   * real one. Whatever a guest writes here, blkback answers
   * BLKIF_RSP_ERROR, halts the ring (a producer index more than a ring
   * ahead), or serves the guest's own disk, never another domain's data.
   */
  export interface Ring {
    /** The four shared indices in the ring page. */
    indices(vdev: string): Promise<{ req_prod: number; req_event: number; rsp_prod: number; rsp_event: number }>;
    /**
     * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: writes the requests at the private
     * producer, publishes them, and notifies the backend's event channel only
     * if the backend asked for it (`req_event` within the new requests).
     * Waits until the disk is connected. Returns whether it notified.
     */
    push(vdev: string, requests: RingRequest[]): Promise<boolean>;
    /** Stores any value in the shared `req_prod` and notifies the backend (a bogus producer index). */
    setReqProd(vdev: string, value: number): Promise<void>;
    /**
     * Waits for the backend's event (or a halted or dead disk), then takes
     * the responses published since the last call and runs
     * RING_FINAL_CHECK_FOR_RESPONSES (re-arming `rsp_event`).
     */
    responses(vdev: string): Promise<RingResponse[]>;
    /**
     * Overwrites the flags of the grant of data page `page` (or of the ring
     * page) with 0, as a guest may write its own grant table: a revoke that
     * gnttab_end_foreign_access would refuse while the backend maps it. The
     * backend keeps a mapping it has; a later map fails. Returns whether the
     * backend had it mapped.
     */
    revokeGrant(vdev: string, page: number | "ring"): Promise<boolean>;
  }

  /**
   * One process in one domain. Every call is one atomic step: the scheduler
   * may run other actors between two calls, never inside one. Await every
   * call before the next. Failures throw a `SysError` with the kernel's errno.
   *
   * Emulated: files, fds, device nodes, sysfs, loop and device-mapper
   * devices and their ioctls, `losetup`, `dmsetup`, `xenstore`, `xl`, a
   * guest's `disk` and `ring`, and `log`.
   */
  export interface Sys {
    /** The domain this process runs in. */
    readonly domain: string;
    /** The actor's name in the scenario. */
    readonly actor: string;

    /** open(2): an fd. */
    open(path: string, flags?: OpenFlags): Promise<number>;
    /** close(2). */
    close(fd: number): Promise<void>;
    /** pread(2). */
    read(fd: number, offset: number, length: number): Promise<Uint8Array>;
    /** pwrite(2): bytes written. */
    write(fd: number, offset: number, bytes: Uint8Array): Promise<number>;
    /**
     * fsync(2): a block device's dirty pages are written to the device (EIO
     * if one could not be); a file or directory has nothing to sync; EINVAL
     * on a control device.
     */
    fsync(fd: number): Promise<void>;
    /** fdatasync(2): as fsync (a block device has no metadata to skip). */
    fdatasync(fd: number): Promise<void>;
    /**
     * lseek(2): sets the fd's position and returns it. `read` and `write`
     * are pread and pwrite: they neither use nor move it. On a block device
     * SEEK_END is its size, and no position may pass it (EINVAL); ESPIPE on
     * a control device.
     */
    lseek(fd: number, offset: number, whence: Whence): Promise<number>;
    /** ioctl(2) with the kernel's request names; arguments and results mirror the uapi structs (loop, block and `DM_*` on /dev/mapper/control). */
    ioctl<N extends IoctlName>(fd: number, name: N, arg?: IoctlMap[N]["arg"]): Promise<IoctlMap[N]["result"]>;
    /** stat(2): the type and, for a device node, its device number. */
    stat(path: string): Promise<Stat>;
    /** The whole text of a file. ENOENT when missing, EINVAL for a relative path. */
    readFile(path: string): Promise<string>;
    /** Creates or replaces a file with `text`. EINVAL for a relative path. */
    writeFile(path: string, text: string): Promise<void>;
    /** readlink(2). */
    readlink(path: string): Promise<string>;
    /** Whether `path` exists; never fails. */
    exists(path: string): Promise<boolean>;
    /** The names in a directory, sorted (`/dev`, `/sys/block`, ...). */
    readdir(path: string): Promise<string[]>;
    /** mknod(2): a device node; opening it finds whatever device has that number then. */
    mknod(path: string, node: NodeSpec): Promise<void>;

    readonly losetup: Losetup;
    readonly dmsetup: Dmsetup;
    readonly xenstore: Xenstore;
    readonly xl: Xl;
    /** Guest side (an actor in a guest domain). */
    readonly disk: Disk;
    /** Guest side: raw access to a disk's shared ring (the adversary API). */
    readonly ring: Ring;

    /** Adds a line to the trace (a step of its own that never fails). */
    log(...values: unknown[]): Promise<void>;
  }
}
