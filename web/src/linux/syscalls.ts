// Each system call of the model as one Op (one atomic step): what `Sys`
// hands to the runtime. Arguments are checked here or in the handler, and a
// bad one is an errno, never an exception (a bad JavaScript value stands in
// for a bad user pointer: EINVAL where C would say EFAULT).

import type { Op } from "../sim/op";
import { processExit } from "./exit";
import { lookupFd } from "./fdtable";
import { vfsIoctl } from "./ioctl";
import { dmIoctlReady } from "./dm/ioctl";
import { stackSuspended } from "./io";
import type { Kernel } from "./kernel";
import { DISK, FDTABLE } from "./objects";
import { hasDirtyPages } from "./pagecache";
import { vfsClose, vfsExists, vfsFsync, vfsLseek, vfsMknod, vfsOpen, vfsRead, vfsReadFile, vfsReaddir, vfsReadlink, vfsStat, vfsWrite, vfsWriteFile, type OpenFlags, type StatResult } from "./vfs";

type Args = readonly unknown[];

function op<R>(call: string, args: Args, run: Op<R>["run"], extra: Partial<Op<R>> = {}): Op<R> {
  return { call, args, run, ...extra };
}

/** Whether an fd's I/O would wait on a suspended dm device: the guard of read and write. */
function ioReady(d: string, proc: string, fd: unknown): (store: import("../sim/store").Store) => boolean {
  return (store) => {
    const f = FDTABLE.get(store, FDTABLE.key(d, proc))?.fds[String(fd)];
    return f?.kind !== "disk" || !stackSuspended(store, f.disk);
  };
}

/**
 * Whether writing an fd's disk's dirty pages back would wait on a suspended
 * dm device: the guard of fsync, and of a close that is the disk's last
 * (blkdev_put syncs then). A disk with no dirty pages never waits, so the
 * guard reads nothing else for the many closes that write nothing back.
 */
function writebackReady(d: string, proc: string, fd: unknown, lastCloseOnly: boolean): (store: import("../sim/store").Store) => boolean {
  return (store) => {
    const f = FDTABLE.get(store, FDTABLE.key(d, proc))?.fds[String(fd)];
    if (f?.kind !== "disk" || !hasDirtyPages(store, f.disk)) return true;
    if (lastCloseOnly && (DISK.get(store, f.disk)?.openers ?? 0) > 1) return true;
    return !stackSuspended(store, f.disk);
  };
}

/** DM_DEV_WAIT blocks until the device's event number moves (dm/wait.ts). */
function dmIoctlWait(k: Kernel, d: string, proc: string, fd: unknown, name: unknown, arg: unknown): Partial<Op<unknown>> {
  const ready = dmIoctlReady(k, d, proc, fd, name, arg);
  return ready ? { ready, waitingFor: "a dm event (DM_DEV_WAIT)" } : {};
}

export function syscalls(k: Kernel, d: string, proc: string) {
  return {
    open: (path: unknown, flags?: OpenFlags): Op<number> =>
      op("open", flags === undefined ? [path] : [path, flags], (ctx) => vfsOpen(ctx, k, path, flags ?? {})),
    close: (fd: number): Op<void> => op("close", [fd], (ctx) => vfsClose(ctx, k, fd), { ready: writebackReady(d, proc, fd, true), waitingFor: "a suspended dm device to be resumed (writing back the page cache)" }),
    read: (fd: number, offset: number, length: number): Op<Uint8Array> =>
      op("read", [fd, offset, length], (ctx) => vfsRead(ctx, k, fd, offset, length), { ready: ioReady(d, proc, fd), waitingFor: "a suspended dm device to be resumed" }),
    write: (fd: number, offset: number, bytes: Uint8Array): Op<number> =>
      op("write", [fd, offset, bytes], (ctx) => vfsWrite(ctx, k, fd, offset, bytes), { ready: ioReady(d, proc, fd), waitingFor: "a suspended dm device to be resumed" }),
    fsync: (fd: number): Op<void> =>
      op("fsync", [fd], (ctx) => vfsFsync(ctx, k, fd), { ready: writebackReady(d, proc, fd, false), waitingFor: "a suspended dm device to be resumed" }),
    fdatasync: (fd: number): Op<void> =>
      op("fdatasync", [fd], (ctx) => vfsFsync(ctx, k, fd), { ready: writebackReady(d, proc, fd, false), waitingFor: "a suspended dm device to be resumed" }),
    lseek: (fd: number, offset: number, whence: unknown): Op<number> => op("lseek", [fd, offset, whence], (ctx) => vfsLseek(ctx, k, fd, offset, whence)),
    ioctl: (fd: number, name: string, arg?: unknown): Op<unknown> =>
      op(`ioctl ${String(name)}`, arg === undefined ? [fd] : [fd, arg], (ctx) => {
        lookupFd(ctx, fd);
        return vfsIoctl(ctx, k, fd, name, arg);
      }, dmIoctlWait(k, d, proc, fd, name, arg)),
    stat: (path: unknown): Op<StatResult> => op("stat", [path], (ctx) => vfsStat(ctx, k, path)),
    readFile: (path: unknown): Op<string> => op("readFile", [path], (ctx) => vfsReadFile(ctx, k, path)),
    writeFile: (path: unknown, text: unknown): Op<void> => op("writeFile", [path, text], (ctx) => vfsWriteFile(ctx, k, path, text)),
    readlink: (path: unknown): Op<string> => op("readlink", [path], (ctx) => vfsReadlink(ctx, k, path)),
    exists: (path: unknown): Op<boolean> => op("exists", [path], (ctx) => vfsExists(ctx, k, path)),
    readdir: (path: unknown): Op<string[]> => op("readdir", [path], (ctx) => vfsReaddir(ctx, k, path)),
    exit: (): Op<void> => op("exit", [], (ctx) => processExit(ctx, k)),
    mknod: (path: unknown, node: { type: unknown; major: unknown; minor: unknown }): Op<void> =>
      op("mknod", [path, node], (ctx) => vfsMknod(ctx, k, path, node ?? {})),
  };
}

export type Syscalls = ReturnType<typeof syscalls>;
