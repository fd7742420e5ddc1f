// `Sys` over the runtime's Channel: each method builds one Op (one atomic
// step) and waits for the scheduler to run it. Only the ordinary files and
// `log` have a model today; every other method is a step that fails with
// ENOSYS, so a scenario written against the full API runs, shows the call in
// its trace, and says plainly what is missing instead of pretending.

import type { Channel } from "../sim/actor";
import { SysError, type Op, type Who } from "../sim/op";
import * as files from "../linux/files";
import type { Sys } from "./types";

/** Where each missing piece will come from. Fill in an issue number here when one is filed. */
const NOT_EMULATED = {
  syscalls: "fds, device nodes and ioctls come with the kernel's block layer model",
  loop: "it comes with the loop device model",
  dm: "it comes with the device-mapper model",
  xenstore: "it comes with the xenstore model",
  xl: "it comes with the Xen toolstack model",
  disk: "it comes with blkfront and blkback",
} as const;

/** What the scenario did that a result alone does not show; filled while it runs, read by the CLI and the UI. */
export class Diagnostics {
  /** Sys methods the scenario called that are not emulated yet (those calls failed with ENOSYS). */
  readonly notEmulated = new Set<string>();
  /** The last error that ended an actor as a bug in the script, with its stack. */
  scriptError: { actor: string; error: unknown } | undefined;
}

/** A value as the trace shows it: JSON-like, functions and errors named. */
export function traceArg(v: unknown, depth = 0): unknown {
  if (typeof v === "function") return `<function ${v.name || "anonymous"}>`;
  if (typeof v === "symbol") return v.toString();
  if (v instanceof Error) return v instanceof SysError ? v.message : `${v.name}: ${v.message}`;
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  if (depth > 8) return "<too deep>";
  if (Array.isArray(v)) return v.map((x) => traceArg(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, traceArg(x, depth + 1)]));
}

export function makeSys(ch: Channel, who: Who, diag: Diagnostics): Sys {
  // One step per call; the runtime refuses a second call made before the
  // first returned (a missing await) as a script error.
  const call = <R>(op: Op<R>): Promise<R> => ch.call(op);

  const missing = (area: keyof typeof NOT_EMULATED, name: string, args: unknown[]): Promise<never> => {
    diag.notEmulated.add(name);
    return call<never>({
      call: name,
      args: args.map((a) => traceArg(a)),
      run: () => { throw new SysError("ENOSYS", `${name} is not emulated yet: ${NOT_EMULATED[area]}`); },
    });
  };

  const d = who.domain;
  const sys: Sys = {
    domain: d,
    actor: who.name,

    open: (path, flags) => missing("syscalls", "open", flags === undefined ? [path] : [path, flags]),
    close: (fd) => missing("syscalls", "close", [fd]),
    read: (fd, offset, length) => missing("syscalls", "read", [fd, offset, length]),
    write: (fd, offset, bytes) => missing("syscalls", "write", [fd, offset, bytes]),
    ioctl: (fd, name, arg) => missing("syscalls", `ioctl ${String(name)}`, arg === undefined ? [fd] : [fd, arg]),
    stat: (path) => missing("syscalls", "stat", [path]),
    readFile: (path) => call(files.readFile(d, path)),
    writeFile: (path, text) => call(files.writeFile(d, path, text)),
    readlink: (path) => missing("syscalls", "readlink", [path]),
    exists: (path) => call(files.exists(d, path)),

    losetup: {
      attach: (file, options) => missing("loop", "losetup.attach", options === undefined ? [file] : [file, options]),
      detach: (path) => missing("loop", "losetup.detach", [path]),
      list: () => missing("loop", "losetup.list", []),
    },
    dmsetup: {
      create: (name, table, options) => missing("dm", "dmsetup.create", options === undefined ? [name, table] : [name, table, options]),
      remove: (name, options) => missing("dm", "dmsetup.remove", options === undefined ? [name] : [name, options]),
      info: (name) => missing("dm", "dmsetup.info", [name]),
      table: (name) => missing("dm", "dmsetup.table", [name]),
      ls: () => missing("dm", "dmsetup.ls", []),
    },
    xenstore: {
      read: (path) => missing("xenstore", "xenstore.read", [path]),
      write: (path, value) => missing("xenstore", "xenstore.write", [path, value]),
      rm: (path) => missing("xenstore", "xenstore.rm", [path]),
      ls: (path) => missing("xenstore", "xenstore.ls", [path]),
      watch: (path) => {
        const it: AsyncIterableIterator<never> = {
          next: () => missing("xenstore", "xenstore.watch", [path]),
          return: async () => ({ done: true, value: undefined }),
          [Symbol.asyncIterator]: () => it,
        };
        return it;
      },
      waitFor: (path, predicate) => missing("xenstore", "xenstore.waitFor", [path, predicate]),
      transaction: (body) => missing("xenstore", "xenstore.transaction", [body]),
      setPerms: (path, perms) => missing("xenstore", "xenstore.setPerms", [path, perms]),
    },
    xl: {
      create: (domain) => missing("xl", "xl.create", [domain]),
      shutdown: (domain) => missing("xl", "xl.shutdown", [domain]),
      destroy: (domain) => missing("xl", "xl.destroy", [domain]),
      blockAttach: (domain, disk) => missing("xl", "xl.blockAttach", [domain, disk]),
      blockDetach: (domain, vdev) => missing("xl", "xl.blockDetach", [domain, vdev]),
    },
    disk: {
      read: (vdev, sector, count) => missing("disk", "disk.read", [vdev, sector, count]),
      write: (vdev, sector, bytes) => missing("disk", "disk.write", [vdev, sector, bytes]),
    },

    log: (...values) => call({ call: "log", args: values.map((v) => traceArg(v)), run: () => undefined }),
  };
  return sys;
}
