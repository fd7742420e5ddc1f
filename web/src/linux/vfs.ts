// The VFS calls of the model: path resolution (udev's symlinks, device
// nodes, files, implicit directories, sysfs), open and close with the block
// layer's checks, read and write through the data plane, stat, readdir,
// mknod, readlink. docs/linux-model.md §4.2-4.4.

import { LIMITS } from "../core/data-plane";
import { CoreOutOfMemoryError } from "../core/errors";
import { errnoOf, type StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { diskByDevt, readDisk, SECTOR } from "./block";
import { blkdevClose, blkdevOpen } from "./bdev";
import { isRoot } from "./creds";
import { fdHolder, freeFd, installFd, lookupFd, removeFd } from "./fdtable";
import { FILE, IMAGE_IDS, isTextFile, normalizePath, type FileObject, type ImageFile } from "./files";
import { LOOP_CTRL_MINOR, LOOP_MAJOR, MAPPER_CTRL_MINOR, MISC_MAJOR } from "./kconfig";
import { fail, ModelBug, type Kernel } from "./kernel";
import { bufferedRead, bufferedWrite, directRead, directWrite, writeBack } from "./pagecache";
import { loopAdd } from "./loop/device";
import { DEV_NODE, LOOP, SYMLINK, type DeviceNode, type OpenFile } from "./objects";
import { isSysfsPath, readSysfs, sysBlockDisk, sysfsEntry } from "./sysfs";
import { observePair } from "./pairs";

export interface OpenFlags {
  write?: boolean;
  excl?: boolean;
  /** O_CREAT: create a missing regular file (an empty disk image). */
  create?: boolean;
  /** O_DIRECTORY: ENOTDIR unless the path is a directory. */
  directory?: boolean;
  /** O_DIRECT: a disk's reads and writes bypass its page cache, in whole logical blocks. */
  direct?: boolean;
}

export interface StatResult {
  type: "file" | "block" | "char" | "directory" | "symlink";
  rdev: { major: number; minor: number };
  size: number;
}

/** Directories that exist whatever is in them. */
const FIXED_DIRS = new Set(["/", "/dev", "/dev/mapper", "/dev/disk", "/dev/disk/by-diskseq", "/tmp", "/run"]);

const MAX_SYMLINK_HOPS = 8;

/** The kinds of objects that have a path: what makes their parent directories exist. */
const PATH_KINDS = [FILE, DEV_NODE, SYMLINK] as const;

type Resolved =
  | { kind: "node"; path: string; node: DeviceNode }
  | { kind: "file"; path: string; key: string; file: FileObject }
  | { kind: "dir"; path: string }
  | { kind: "sysfs"; path: string };

/** Where a symlink's target points, relative to the link's directory. */
function linkTarget(linkPath: string, target: string): string {
  if (target.startsWith("/")) return normalizePath(target);
  return normalizePath(`${linkPath.slice(0, linkPath.lastIndexOf("/"))}/${target}`);
}

/** Whether a path is a directory: fixed, a sysfs directory, or a prefix of something that exists. */
function isDir(store: Store, k: Kernel, d: string, path: string): boolean {
  if (FIXED_DIRS.has(path)) return true;
  if (isSysfsPath(path)) return sysfsEntry(store, k, d, path)?.kind === "dir";
  const prefix = `${path}/`;
  for (const kind of PATH_KINDS) {
    const head = kind.key(d, prefix);
    if (kind.list(store, d).some((key) => key.startsWith(head))) return true;
  }
  return false;
}

/** The target of the symlink at `path`: udev's (stored) or sysfs's (holders/, slaves/), or undefined. */
function linkAt(store: Store, k: Kernel, d: string, path: string): string | undefined {
  if (isSysfsPath(path)) {
    const e = sysfsEntry(store, k, d, path);
    return e?.kind === "link" ? e.target : undefined;
  }
  return SYMLINK.get(store, SYMLINK.key(d, path))?.target;
}

/** Resolves a path, following a final symlink (ELOOP after 8 hops); ENOENT when nothing is there. */
function resolve(store: Store, k: Kernel, d: string, rawPath: unknown, follow = true): Resolved | { kind: "link"; path: string; target: string } {
  let path = normalizePath(rawPath);
  for (let hop = 0; ; hop++) {
    const target = linkAt(store, k, d, path);
    if (target === undefined) break;
    if (!follow) return { kind: "link", path, target };
    if (hop >= MAX_SYMLINK_HOPS) fail("ELOOP", `${String(rawPath)}: too many levels of symbolic links`);
    path = linkTarget(path, target);
  }
  if (isSysfsPath(path)) {
    if (sysfsEntry(store, k, d, path) === undefined) fail("ENOENT", `${path}: no such file or directory`);
    return { kind: "sysfs", path };
  }
  const node = DEV_NODE.get(store, DEV_NODE.key(d, path));
  if (node) return { kind: "node", path, node };
  const key = FILE.key(d, path);
  const file = FILE.get(store, key);
  if (file) return { kind: "file", path, key, file };
  if (isDir(store, k, d, path)) return { kind: "dir", path };
  return fail("ENOENT", `${path}: no such file or directory`);
}

/** A new empty disk image at `path` (O_CREAT), in the data plane. */
function createImage(ctx: StepContext, k: Kernel, d: string, path: string): { key: string; file: ImageFile } {
  if (!k.dp) throw new ModelBug("no data plane for a new image");
  const idsKey = IMAGE_IDS.key();
  const ids = IMAGE_IDS.get(ctx.store, idsKey) ?? { next: 0 };
  if (ids.next >= 256) fail("ENOSPC", "the data plane has no room for another image (256)");
  // Directories are implicit (there is no mkdir): any absolute path can be created, as with writeFile.
  if (isSysfsPath(path)) fail("EACCES", `${path}: sysfs has no regular files to create`);
  k.dp.createImage(ids.next, 0);
  IMAGE_IDS.set(ctx.store, idsKey, { next: ids.next + 1 });
  const file: ImageFile = { size: 0, image: ids.next, gen: 0 };
  const key = FILE.key(d, path);
  FILE.set(ctx.store, key, file);
  return { key, file };
}

export function vfsOpen(ctx: StepContext, k: Kernel, rawPath: unknown, flags: OpenFlags = {}): number {
  const d = ctx.who.domain;
  const write = flags.write ?? false;
  let r: Resolved;
  try {
    const got = resolve(ctx.store, k, d, rawPath);
    if (got.kind === "link") throw new ModelBug("resolve returned a link while following");
    r = got;
  } catch (e) {
    if (!(flags.create && errnoOf(e) === "ENOENT")) throw e;
    const path = normalizePath(rawPath);
    const made = createImage(ctx, k, d, path);
    r = { kind: "file", path, key: made.key, file: made.file };
  }
  if (flags.directory && r.kind !== "dir") fail("ENOTDIR", `${r.path} is not a directory`);
  const fd = freeFd(ctx);
  let f: OpenFile;
  switch (r.kind) {
    case "sysfs":
      fail("EACCES", `${r.path}: sysfs attributes are read with readFile in the model`);
    // falls through (fail never returns)
    case "dir":
      if (write) fail("EISDIR", `${r.path} is a directory`);
      f = { kind: "dir", path: r.path };
      break;
    case "file":
      f = { kind: "file", file: r.key, write };
      break;
    case "node":
      if (!isRoot(ctx)) fail("EACCES", `${r.path}: device nodes are root's (0600/0660 root:disk)`);
      f = openNode(ctx, k, d, r.path, r.node, fd, write, flags.excl ?? false);
      break;
  }
  if (flags.direct) f = withDirect(k, f, r.path);
  installFd(ctx, fd, f);
  return fd;
}

/**
 * do_dentry_open's O_DIRECT check, after the file's own open: a block
 * device takes it (def_blk_aops has direct_IO); a regular file where tmpfs
 * does (`tmpfsDirectIO`); a directory or a char device does not (EINVAL,
 * the device's open undone as the failed open releases it).
 */
function withDirect(k: Kernel, f: OpenFile, path: string): OpenFile {
  if (f.kind === "disk") return { ...f, direct: true };
  if (f.kind === "file" && k.cfg.tmpfsDirectIO) return f;
  return fail("EINVAL", `${path}: O_DIRECT is not supported here`);
}

function openNode(ctx: StepContext, k: Kernel, d: string, path: string, node: DeviceNode, fd: number, write: boolean, excl: boolean): OpenFile {
  if (node.type === "char") {
    if (node.major === MISC_MAJOR && node.minor === LOOP_CTRL_MINOR) return { kind: "misc", dev: "loop-control" };
    if (node.major === MISC_MAJOR && node.minor === MAPPER_CTRL_MINOR) return { kind: "misc", dev: "mapper-control" };
    return fail("ENXIO", `${path}: no driver for char device ${node.major}:${node.minor}`);
  }
  let disk = diskByDevt(ctx.store, d, node.major, node.minor);
  if (disk === undefined && node.major === LOOP_MAJOR && node.minor < k.cfg.maxLoop && !LOOP.has(ctx.store, LOOP.key(d, node.minor))) {
    // loop_probe: opening a missing loopN below max_loop creates it (G:L68-69).
    loopAdd(ctx, d, node.minor);
    disk = diskByDevt(ctx.store, d, node.major, node.minor);
  }
  if (disk === undefined) fail("ENXIO", `${path}: no device ${node.major}:${node.minor}`);
  blkdevOpen(ctx, k, d, disk, { write, holder: excl ? fdHolder(ctx, fd) : undefined });
  return { kind: "disk", disk, write, excl };
}

/** close(2), and what exit does per fd: the last close of a block device runs its driver's release. */
export function vfsClose(ctx: StepContext, k: Kernel, fd: number): void {
  const f = lookupFd(ctx, fd);
  removeFd(ctx, fd);
  if (f.kind === "disk") blkdevClose(ctx, k, ctx.who.domain, f.disk, f.excl ? fdHolder(ctx, fd) : undefined);
}

function checkRange(offset: unknown, length: unknown): void {
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) fail("EINVAL", `bad offset ${JSON.stringify(offset)}`);
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) fail("EINVAL", `bad length ${JSON.stringify(length)}`);
}

/** s_maxbytes of ext4 with 4 KiB blocks (ext4_max_size for extent files: 2^32 - 1 blocks), the largest file Linux would write. */
export const EXT4_MAX_FILE_BYTES = (2 ** 32 - 1) * 4096;
/** The largest file of the model: the data plane's images end at 4 TiB, below ext4's limit. */
export const MAX_FILE_BYTES = Math.min(EXT4_MAX_FILE_BYTES, LIMITS.imageBytes);

/** The most one read or write may move in the model (a bound on memory, not a kernel limit). */
export const MAX_IO_BYTES = 16 << 20;

export function vfsRead(ctx: StepContext, k: Kernel, fd: number, offset: number, length: number): Uint8Array {
  const f = lookupFd(ctx, fd);
  checkRange(offset, length);
  if (length > MAX_IO_BYTES) fail("EINVAL", `reads are limited to ${MAX_IO_BYTES} bytes in the model`);
  switch (f.kind) {
    case "dir":
      return fail("EISDIR", "read on a directory");
    case "misc":
      return fail("EINVAL", `read on /dev/${f.dev === "loop-control" ? "loop-control" : "mapper/control"}`);
    case "file": {
      const file = FILE.get(ctx.store, f.file);
      if (!file) throw new ModelBug(`open file ${f.file} vanished`);
      if (isTextFile(file)) return new TextEncoder().encode(file.content).slice(offset, offset + length);
      const n = Math.max(0, Math.min(length, file.size - offset));
      return n === 0 ? new Uint8Array(0) : k.dp!.readImage(file.image, offset, n);
    }
    case "disk":
      return f.direct ? directRead(ctx, k, f.disk, offset, length) : bufferedRead(ctx, k, f.disk, offset, length);
  }
}

export function vfsWrite(ctx: StepContext, k: Kernel, fd: number, offset: number, bytes: unknown): number {
  const f = lookupFd(ctx, fd);
  if (!(bytes instanceof Uint8Array)) fail("EINVAL", "write takes a Uint8Array");
  checkRange(offset, bytes.length);
  if (bytes.length > MAX_IO_BYTES) fail("EINVAL", `writes are limited to ${MAX_IO_BYTES} bytes in the model`);
  switch (f.kind) {
    case "dir":
      return fail("EISDIR", "write on a directory");
    case "misc":
      return fail("EINVAL", "write on a control device");
    case "file": {
      if (!f.write) fail("EBADF", "the fd is not open for writing");
      const file = FILE.get(ctx.store, f.file);
      if (!file) throw new ModelBug(`open file ${f.file} vanished`);
      if (isTextFile(file)) fail("EINVAL", "text files are written whole with writeFile in the model");
      if (bytes.length === 0) return 0;
      // generic_write_check_limits: EFBIG at or past s_maxbytes, and a write across it is cut short there.
      if (offset >= MAX_FILE_BYTES) fail("EFBIG", `offset ${offset} is at or past the largest file, ${MAX_FILE_BYTES} bytes (the data plane's images end at 4 TiB)`);
      const n = Math.min(bytes.length, MAX_FILE_BYTES - offset);
      try {
        k.dp!.writeImage(file.image, offset, bytes.subarray(0, n));
      } catch (e) {
        if (!(e instanceof CoreOutOfMemoryError)) throw e;
        // The filesystem is full: the arena has no frame left for the run's written data. Part of it may be on the image.
        FILE.update(ctx.store, f.file, file, { gen: file.gen + 1 });
        fail("ENOSPC", "no space left: the data plane's arena holds 256 MiB of data written by a run");
      }
      FILE.update(ctx.store, f.file, file, { size: Math.max(file.size, offset + n), gen: file.gen + 1 });
      return n;
    }
    case "disk":
      if (!f.write) fail("EBADF", "the fd is not open for writing");
      return f.direct ? directWrite(ctx, k, f.disk, offset, bytes) : bufferedWrite(ctx, k, f.disk, offset, bytes);
  }
}

/**
 * fsync(2) and fdatasync(2) (the same for a block device: blkdev_fsync
 * ignores datasync): a disk's dirty pages written back, EIO if one failed;
 * then blkdev_issue_flush, which succeeds in the model (nothing below
 * caches). A file or directory (tmpfs: noop_fsync) has nothing to sync; a
 * control device has no fsync (EINVAL, vfs_fsync_range).
 */
export function vfsFsync(ctx: StepContext, k: Kernel, fd: number): void {
  const f = lookupFd(ctx, fd);
  if (f.kind === "misc") fail("EINVAL", "a control device has no fsync");
  if (f.kind !== "disk") return;
  const err = writeBack(ctx, k, f.disk);
  if (err) fail(err, "writing back the page cache failed");
}

export type Whence = "SEEK_SET" | "SEEK_CUR" | "SEEK_END";

/** include/uapi/linux/fs.h; SEEK_DATA and SEEK_HOLE are not modelled (EINVAL). */
const WHENCE: Record<Whence, number> = { SEEK_SET: 0, SEEK_CUR: 1, SEEK_END: 2 };

/**
 * lseek(2): the new position, from the start, the current position or the
 * end. A block device's end is its size and no position may pass it
 * (fixed_size_llseek); a file's may (tmpfs: generic_file_llseek_size up to
 * MAX_LFS_FILESIZE); a directory has no SEEK_END (dcache_dir_lseek); a
 * control device is not seekable (nonseekable_open: ESPIPE). A negative
 * result is EINVAL. Only lseek uses the position: read and write are pread
 * and pwrite.
 */
export function vfsLseek(ctx: StepContext, k: Kernel, fd: number, offset: unknown, whence: unknown): number {
  const f = lookupFd(ctx, fd);
  const w = typeof whence === "number" ? whence : WHENCE[whence as Whence];
  // ksys_lseek: a whence past SEEK_MAX is EINVAL before the file is asked.
  if (w === undefined || !Number.isInteger(w) || w < 0 || w > 4) fail("EINVAL", `bad whence ${JSON.stringify(whence)}`);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset)) fail("EINVAL", `bad offset ${JSON.stringify(offset)}`);
  if (f.kind === "misc") fail("ESPIPE", "a control device is not seekable");
  if (w > 2) fail("EINVAL", "SEEK_DATA and SEEK_HOLE are not modelled");
  const pos = f.pos ?? 0;
  let end: number;
  let max = Number.MAX_SAFE_INTEGER;
  if (f.kind === "disk") {
    end = readDisk(ctx.store, f.disk).sectors * SECTOR;
    max = end;
  } else if (f.kind === "file") {
    const file = FILE.get(ctx.store, f.file);
    if (!file) throw new ModelBug(`open file ${f.file} vanished`);
    end = isTextFile(file) ? new TextEncoder().encode(file.content).length : file.size;
  } else {
    if (w === 2) fail("EINVAL", "a directory has no SEEK_END");
    end = 0;
  }
  const next = w === 0 ? offset : w === 1 ? pos + offset : end + offset;
  if (next < 0 || next > max) fail("EINVAL", `position ${next} is outside 0..${max}`);
  if (next !== pos) installFd(ctx, fd, { ...f, pos: next });
  return next;
}

export function vfsStat(ctx: StepContext, k: Kernel, path: unknown): StatResult {
  const r = resolve(ctx.store, k, ctx.who.domain, path);
  const none = { major: 0, minor: 0 };
  switch (r.kind) {
    case "link": return { type: "symlink", rdev: none, size: r.target.length };
    case "node": return { type: r.node.type, rdev: { major: r.node.major, minor: r.node.minor }, size: 0 };
    case "file": return { type: "file", rdev: none, size: isTextFile(r.file) ? new TextEncoder().encode(r.file.content).length : r.file.size };
    case "dir": return { type: "directory", rdev: none, size: 0 };
    case "sysfs": return { type: sysfsEntry(ctx.store, k, ctx.who.domain, r.path)?.kind === "attr" ? "file" : "directory", rdev: none, size: 4096 };
  }
}

/** The names in a directory, sorted. */
export function vfsReaddir(ctx: StepContext, k: Kernel, path: unknown): string[] {
  const d = ctx.who.domain;
  const r = resolve(ctx.store, k, d, path);
  if (r.kind === "sysfs") {
    const e = sysfsEntry(ctx.store, k, d, r.path);
    if (e?.kind !== "dir") fail("ENOTDIR", `${r.path} is not a directory`);
    return e.entries;
  }
  if (r.kind !== "dir") fail("ENOTDIR", `${r.path} is not a directory`);
  const dir = r.path === "/" ? "" : r.path;
  const names = new Set<string>();
  for (const fixed of FIXED_DIRS) if (fixed.startsWith(`${dir}/`) && fixed !== "/") names.add(fixed.slice(dir.length + 1).split("/")[0]!);
  if (dir === "") names.add("sys");
  for (const kind of PATH_KINDS) {
    const head = kind.key(d, `${dir}/`);
    for (const key of kind.list(ctx.store, d)) if (key.startsWith(head)) names.add(key.slice(head.length).split("/")[0]!);
  }
  return [...names].sort();
}

export function vfsMknod(ctx: StepContext, k: Kernel, path: unknown, node: { type: unknown; major: unknown; minor: unknown }): void {
  const d = ctx.who.domain;
  const p = normalizePath(path);
  if (node.type !== "block" && node.type !== "char") fail("EINVAL", `mknod type must be "block" or "char", got ${JSON.stringify(node.type)}`);
  for (const [what, v, max] of [["major", node.major, 4095], ["minor", node.minor, (1 << 20) - 1]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) fail("EINVAL", `${what} must be an integer in 0..${max}`);
  }
  if (isSysfsPath(p)) fail("EPERM", "sysfs has no device nodes");
  let exists = true;
  try { resolve(ctx.store, k, d, p, false); } catch { exists = false; }
  if (exists) fail("EEXIST", `${p} exists`);
  const parent = p.slice(0, p.lastIndexOf("/")) || "/";
  if (!isDir(ctx.store, k, d, parent)) fail("ENOENT", `${parent}: no such directory`);
  // do_mknodat: the name is looked up (EEXIST, ENOENT) before vfs_mknod checks CAP_MKNOD.
  if (!isRoot(ctx)) fail("EPERM", "mknod needs CAP_MKNOD");
  DEV_NODE.set(ctx.store, DEV_NODE.key(d, p), { type: node.type, major: node.major as number, minor: node.minor as number });
}

export function vfsReadlink(ctx: StepContext, k: Kernel, path: unknown): string {
  const r = resolve(ctx.store, k, ctx.who.domain, path, false);
  if (r.kind !== "link") fail("EINVAL", `${r.path} is not a symbolic link`);
  return r.target;
}

/** The whole text of a file or a sysfs attribute. */
export function vfsReadFile(ctx: StepContext, k: Kernel, path: unknown): string {
  const r = resolve(ctx.store, k, ctx.who.domain, path);
  if (r.kind === "sysfs") {
    const text = readSysfs(ctx.store, k, ctx.who.domain, r.path);
    const m = /^\/sys\/block\/([^/]+)\/diskseq$/.exec(r.path);
    const found = m ? sysBlockDisk(ctx.store, ctx.who.domain, m[1]!) : undefined;
    if (found) observePair(ctx, ctx.who.domain, found.key, ctx.who.name);
    return text;
  }
  if (r.kind === "dir") fail("EISDIR", `${r.path} is a directory`);
  if (r.kind === "node") fail("EINVAL", `${r.path} is a device node: open it and read`);
  if (r.kind !== "file") throw new ModelBug("unexpected link");
  if (!isTextFile(r.file)) fail("EINVAL", `${r.path} is a disk image: read it through an fd`);
  return r.file.content;
}

export function vfsWriteFile(ctx: StepContext, k: Kernel, path: unknown, text: unknown): void {
  const d = ctx.who.domain;
  const p = normalizePath(path);
  if (typeof text !== "string") fail("EINVAL", `writeFile takes text, got ${typeof text}`);
  if (isSysfsPath(p)) fail("EACCES", `${p}: sysfs is not writable in the model`);
  const node = DEV_NODE.get(ctx.store, DEV_NODE.key(d, p));
  if (node) fail("EINVAL", `${p} is a device node`);
  const existing = FILE.get(ctx.store, FILE.key(d, p));
  if (existing && !isTextFile(existing)) fail("EINVAL", `${p} is a disk image: write it through an fd`);
  FILE.set(ctx.store, FILE.key(d, p), { content: text });
}

export function vfsExists(ctx: StepContext, k: Kernel, path: unknown): boolean {
  try {
    resolve(ctx.store, k, ctx.who.domain, path);
    return true;
  } catch (e) {
    if (errnoOf(e) !== undefined) return false;
    throw e;
  }
}

