// The VFS calls of the model: path resolution (udev's symlinks, device
// nodes, files, implicit directories, sysfs), open and close with the block
// layer's checks, read and write through the data plane, stat, readdir,
// mknod, readlink. docs/linux-model.md §4.2-4.4.

import { LIMITS } from "../core/data-plane";
import { CoreOutOfMemoryError } from "../core/errors";
import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { diskByDevt } from "./block";
import { blkdevClose, blkdevOpen } from "./bdev";
import { isRoot } from "./creds";
import { fdHolder, freeFd, installFd, lookupFd, removeFd } from "./fdtable";
import { IMAGE_IDS_KEY, fileKey, isTextFile, normalizePath, type FileObject, type ImageIds, type ImageFile } from "./files";
import { LOOP_CTRL_MINOR, LOOP_MAJOR, MAPPER_CTRL_MINOR, MISC_MAJOR } from "./kconfig";
import { fail, ModelBug, type Kernel } from "./kernel";
import { readDiskBytes, writeDiskBytes } from "./io";
import { loopAdd } from "./loop/device";
import { keys, type DeviceNode, type OpenFile, type Symlink } from "./objects";
import { isSysfsPath, readSysfs, sysBlockDisk, sysfsEntries } from "./sysfs";
import { observePair } from "./pairs";

export interface OpenFlags {
  write?: boolean;
  excl?: boolean;
  /** O_CREAT: create a missing regular file (an empty disk image). */
  create?: boolean;
  /** O_DIRECTORY: ENOTDIR unless the path is a directory. */
  directory?: boolean;
}

export interface StatResult {
  type: "file" | "block" | "char" | "directory" | "symlink";
  rdev: { major: number; minor: number };
  size: number;
}

/** Directories that exist whatever is in them. */
const FIXED_DIRS = new Set(["/", "/dev", "/dev/mapper", "/dev/disk", "/dev/disk/by-diskseq", "/tmp", "/run"]);

const MAX_SYMLINK_HOPS = 8;

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
  if (isSysfsPath(path)) {
    const e = sysfsEntries(store, k, d, path);
    return e !== undefined && e !== "attr";
  }
  const prefix = `${path}/`;
  for (const kind of ["file", "node", "link"]) {
    const head = `${kind}:${d}:${prefix}`;
    if (store.list(kind, d).some((key) => key.startsWith(head))) return true;
  }
  return false;
}

/** Resolves a path, following a final symlink (ELOOP after 8 hops); ENOENT when nothing is there. */
function resolve(store: Store, k: Kernel, d: string, rawPath: unknown, follow = true): Resolved | { kind: "link"; path: string; target: string } {
  let path = normalizePath(rawPath);
  for (let hop = 0; ; hop++) {
    const link = store.get<Symlink>(keys.link(d, path));
    if (link === undefined) break;
    if (!follow) return { kind: "link", path, target: link.target };
    if (hop >= MAX_SYMLINK_HOPS) fail("ELOOP", `${String(rawPath)}: too many levels of symbolic links`);
    path = linkTarget(path, link.target);
  }
  if (isSysfsPath(path)) {
    if (sysfsEntries(store, k, d, path) === undefined) fail("ENOENT", `${path}: no such file or directory`);
    return { kind: "sysfs", path };
  }
  const node = store.get<DeviceNode>(keys.node(d, path));
  if (node) return { kind: "node", path, node };
  const key = fileKey(d, path);
  const file = store.get<FileObject>(key);
  if (file) return { kind: "file", path, key, file };
  if (isDir(store, k, d, path)) return { kind: "dir", path };
  return fail("ENOENT", `${path}: no such file or directory`);
}

/** A new empty disk image at `path` (O_CREAT), in the data plane. */
function createImage(ctx: StepContext, k: Kernel, d: string, path: string): { key: string; file: ImageFile } {
  if (!k.dp) throw new ModelBug("no data plane for a new image");
  const ids = ctx.store.get<ImageIds>(IMAGE_IDS_KEY) ?? { next: 0 };
  if (ids.next >= 256) fail("ENOSPC", "the data plane has no room for another image (256)");
  // Directories are implicit (there is no mkdir): any absolute path can be created, as with writeFile.
  if (isSysfsPath(path)) fail("EACCES", `${path}: sysfs has no regular files to create`);
  k.dp.createImage(ids.next, 0);
  ctx.store.set(IMAGE_IDS_KEY, { next: ids.next + 1 } satisfies ImageIds);
  const file: ImageFile = { size: 0, image: ids.next, gen: 0 };
  const key = fileKey(d, path);
  ctx.store.set(key, file);
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
    if (!(flags.create && (e as { errno?: string }).errno === "ENOENT")) throw e;
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
  installFd(ctx, fd, f);
  return fd;
}

function openNode(ctx: StepContext, k: Kernel, d: string, path: string, node: DeviceNode, fd: number, write: boolean, excl: boolean): OpenFile {
  if (node.type === "char") {
    if (node.major === MISC_MAJOR && node.minor === LOOP_CTRL_MINOR) return { kind: "misc", dev: "loop-control" };
    if (node.major === MISC_MAJOR && node.minor === MAPPER_CTRL_MINOR) return { kind: "misc", dev: "mapper-control" };
    return fail("ENXIO", `${path}: no driver for char device ${node.major}:${node.minor}`);
  }
  let disk = diskByDevt(ctx.store, d, node.major, node.minor);
  if (disk === undefined && node.major === LOOP_MAJOR && node.minor < k.cfg.maxLoop && !ctx.store.has(keys.loop(d, node.minor))) {
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
      const file = ctx.store.get<FileObject>(f.file);
      if (!file) throw new ModelBug(`open file ${f.file} vanished`);
      if (isTextFile(file)) return new TextEncoder().encode(file.content).slice(offset, offset + length);
      const n = Math.max(0, Math.min(length, file.size - offset));
      return n === 0 ? new Uint8Array(0) : k.dp!.readImage(file.image, offset, n);
    }
    case "disk":
      return readDiskBytes(ctx, k, f.disk, offset, length);
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
      const file = ctx.store.get<FileObject>(f.file);
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
        ctx.store.set(f.file, { ...file, gen: file.gen + 1 } satisfies ImageFile);
        fail("ENOSPC", "no space left: the data plane's arena holds 256 MiB of data written by a run");
      }
      ctx.store.set(f.file, { ...file, size: Math.max(file.size, offset + n), gen: file.gen + 1 } satisfies ImageFile);
      return n;
    }
    case "disk":
      if (!f.write) fail("EBADF", "the fd is not open for writing");
      return writeDiskBytes(ctx, k, f.disk, offset, bytes);
  }
}

export function vfsStat(ctx: StepContext, k: Kernel, path: unknown): StatResult {
  const r = resolve(ctx.store, k, ctx.who.domain, path);
  const none = { major: 0, minor: 0 };
  switch (r.kind) {
    case "link": return { type: "symlink", rdev: none, size: r.target.length };
    case "node": return { type: r.node.type, rdev: { major: r.node.major, minor: r.node.minor }, size: 0 };
    case "file": return { type: "file", rdev: none, size: isTextFile(r.file) ? new TextEncoder().encode(r.file.content).length : r.file.size };
    case "dir": return { type: "directory", rdev: none, size: 0 };
    case "sysfs": return { type: sysfsEntries(ctx.store, k, ctx.who.domain, r.path) === "attr" ? "file" : "directory", rdev: none, size: 4096 };
  }
}

/** The names in a directory, sorted. */
export function vfsReaddir(ctx: StepContext, k: Kernel, path: unknown): string[] {
  const d = ctx.who.domain;
  const r = resolve(ctx.store, k, d, path);
  if (r.kind === "sysfs") {
    const e = sysfsEntries(ctx.store, k, d, r.path);
    if (e === "attr" || e === undefined) fail("ENOTDIR", `${r.path} is not a directory`);
    return e;
  }
  if (r.kind !== "dir") fail("ENOTDIR", `${r.path} is not a directory`);
  const dir = r.path === "/" ? "" : r.path;
  const names = new Set<string>();
  for (const fixed of FIXED_DIRS) if (fixed.startsWith(`${dir}/`) && fixed !== "/") names.add(fixed.slice(dir.length + 1).split("/")[0]!);
  if (dir === "") names.add("sys");
  for (const kind of ["file", "node", "link"]) {
    const head = `${kind}:${d}:${dir}/`;
    for (const key of ctx.store.list(kind, d)) if (key.startsWith(head)) names.add(key.slice(head.length).split("/")[0]!);
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
  ctx.store.set(keys.node(d, p), { type: node.type, major: node.major as number, minor: node.minor as number } satisfies DeviceNode);
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
  const node = ctx.store.get<DeviceNode>(keys.node(d, p));
  if (node) fail("EINVAL", `${p} is a device node`);
  const existing = ctx.store.get<FileObject>(fileKey(d, p));
  if (existing && !isTextFile(existing)) fail("EINVAL", `${p} is a disk image: write it through an fd`);
  ctx.store.set(fileKey(d, p), { content: text });
}

export function vfsExists(ctx: StepContext, k: Kernel, path: unknown): boolean {
  try {
    resolve(ctx.store, k, ctx.who.domain, path);
    return true;
  } catch (e) {
    if ((e as { errno?: string }).errno !== undefined) return false;
    throw e;
  }
}

