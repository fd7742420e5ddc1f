// `Sys` over the runtime's Channel: each method builds one Op (one atomic
// step) and waits for the scheduler to run it. Files, fds, device nodes,
// sysfs, loop, dm and their ioctls come from the kernel model (web/src/linux),
// xenstore, xl, guest disks and rings from the Xen model (web/src/xen); the
// tools (losetup, dmsetup, xl, hotplug scripts) are library code making
// several such calls, so the races between their steps show.

import type { Channel } from "../sim/actor";
import type { Op, Who } from "../sim/op";
import type { Machine } from "./machine";
import { syscalls } from "../linux/syscalls";
import { dmsetupCreate, dmsetupInfo, dmsetupLoad, dmsetupLs, dmsetupRemove, dmsetupResume, dmsetupSuspend, dmsetupTable } from "../userland/dmsetup";
import { losetupAttach, losetupDetach, losetupList } from "../userland/losetup";
import { xenstoreSyscalls } from "../xen/syscalls";
import { traceValue } from "../sim/format-value";
import { xenstoreClient } from "./xenstore-client";
import { diskFor, ringFor, xlFor } from "./sys-xen";
import type { Sys } from "./types";

/** What the scenario did that a result alone does not show; filled while it runs, read by the CLI and the UI. */
export class Diagnostics {
  /** The last error that ended an actor as a bug in the script, with its stack. */
  scriptError: { actor: string; error: unknown } | undefined;
}

/** A process: its Sys, and what the kernel does when it ends. */
export interface Process {
  sys: Sys;
  /**
   * exit(2): the kernel closes the fds the process still has open, lowest
   * first, and its xenstore connection (watches, open transactions), in one
   * step (a last close may detach an autoclear loop device). No step at all
   * for a process that never opened anything.
   */
  exit(): Promise<void>;
}

export function makeSys(ch: Channel, who: Who, machine: Machine): Sys {
  return makeProcess(ch, who, machine).sys;
}

export function makeProcess(ch: Channel, who: Who, machine: Machine): Process {
  // One step per call; the runtime refuses a second call made before the
  // first returned (a missing await) as a script error.
  const call = <R>(op: Op<R>): Promise<R> => ch.call(op);

  const d = who.domain;
  const k = syscalls(machine, d, who.name);
  // Whether the process may hold fds (or xenstore watches and transactions):
  // decided from its own calls only, so that a replay decides the same.
  let mayHoldFds = false;
  const holding = <R>(p: Promise<R>): Promise<R> => {
    mayHoldFds = true;
    return p;
  };
  const sys: Sys = {
    domain: d,
    actor: who.name,

    open: (path, flags) => holding(call(k.open(path, flags))),
    close: (fd) => call(k.close(fd)),
    read: (fd, offset, length) => call(k.read(fd, offset, length)),
    write: (fd, offset, bytes) => call(k.write(fd, offset, bytes)),
    fsync: (fd) => call(k.fsync(fd)),
    fdatasync: (fd) => call(k.fdatasync(fd)),
    lseek: (fd, offset, whence) => call(k.lseek(fd, offset, whence)),
    // DM_DEV_CREATE with patch 2/7 returns an fd too.
    ioctl: (fd, name, arg) => (name === "DM_DEV_CREATE" ? holding(call(k.ioctl(fd, name, arg))) : call(k.ioctl(fd, name, arg))) as never,
    stat: (path) => call(k.stat(path)),
    readFile: (path) => call(k.readFile(path)),
    writeFile: (path, text) => call(k.writeFile(path, text)),
    readlink: (path) => call(k.readlink(path)),
    exists: (path) => call(k.exists(path)),
    readdir: (path) => call(k.readdir(path)),
    mknod: (path, node) => call(k.mknod(path, node)),

    losetup: {
      attach: (file, options) => losetupAttach(sys, file, options),
      detach: (path) => losetupDetach(sys, path),
      list: () => losetupList(sys),
    },
    dmsetup: {
      create: (name, table, options) => dmsetupCreate(sys, { strictV5: machine.cfg.dmFlagPolicy === "strict-v5" }, name, table, options),
      remove: (name, options) => dmsetupRemove(sys, name, options),
      info: (name) => dmsetupInfo(sys, name),
      table: (name) => dmsetupTable(sys, name),
      ls: () => dmsetupLs(sys),
      suspend: (name) => dmsetupSuspend(sys, name),
      resume: (name) => dmsetupResume(sys, name),
      load: (name, table) => dmsetupLoad(sys, name, table),
    },
    // A xenstore connection holds watches and transactions until exit, like fds.
    xenstore: xenstoreClient((op) => (op.call === "xenstore.watch" || op.call === "xenstore.transaction.start" ? holding(call(op)) : call(op)), xenstoreSyscalls(Math.max(0, machine.domains.indexOf(d)), d, who.name)),
    xl: xlFor(call, who.name, d, machine),
    disk: diskFor(call, d, machine),
    ring: ringFor(call, d, machine),

    log: (...values) => call({ call: "log", args: values.map(traceValue), run: () => undefined }),
  };
  return { sys, exit: () => (mayHoldFds ? call(k.exit()) : Promise.resolve()) };
}
