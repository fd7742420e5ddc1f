// Xen's stock hotplug script `block` (tools/hotplug/Linux/block), as
// library code on Sys: every call is a step, as every command of the shell
// script is a process of its own. The protocol: docs/xen-protocol.md, "The
// stock `block` hotplug script".
//
// add, for a file: check the backend is still in InitWait, `losetup -f`,
// then `losetup [-r] DEV FILE` (R1: another process can take DEV in
// between), write node, physical-device (hex major:minor, R2: a bare number
// blkback opens later) and hotplug-status. The loop device stays bound
// until `remove` runs `losetup -d` by the name kept in `node` (R3: whatever
// that name is by then). It never writes `diskseq`, so patch 3/7 cannot
// check what blkback opens.
//
// Simplifications: the global "block" lock is not taken (dom0's hotplug
// runner runs one script at a time); the sharing check is left out.

import type { Sys } from "blocklab";
import { SysError } from "../../sim/op";

const hex = (n: number): string => n.toString(16);

async function fail(sys: Sys, be: string, message: string): Promise<never> {
  await sys.xenstore.write(`${be}/hotplug-error`, message).catch(() => undefined);
  await sys.xenstore.write(`${be}/hotplug-status`, "error").catch(() => undefined);
  throw new SysError("EIO", message);
}

/** `losetup -f`: the first free loop device, found and not reserved. */
async function findFree(sys: Sys): Promise<string> {
  const ctl = await sys.open("/dev/loop-control");
  try {
    return `/dev/loop${await sys.ioctl(ctl, "LOOP_CTL_GET_FREE")}`;
  } finally {
    await sys.close(ctl);
  }
}

/** `losetup [-r] DEV FILE`. */
async function bind(sys: Sys, dev: string, file: string, readOnly: boolean): Promise<void> {
  const ffd = await sys.open(file, { write: !readOnly });
  try {
    const lfd = await sys.open(dev, { write: true });
    try {
      await sys.ioctl(lfd, "LOOP_CONFIGURE", { fd: ffd, info: { lo_flags: readOnly ? ["LO_FLAGS_READ_ONLY"] : [] } });
    } finally {
      await sys.close(lfd);
    }
  } finally {
    await sys.close(ffd);
  }
}

export async function blockScript(sys: Sys, be: string, action: "add" | "remove" = "add"): Promise<void> {
  if (action === "remove") {
    const node = await sys.xenstore.read(`${be}/node`).catch(() => undefined);
    if (node !== undefined) await sys.losetup.detach(node);
    return;
  }
  const params = await sys.xenstore.read(`${be}/params`);
  const mode = await sys.xenstore.read(`${be}/mode`).catch(() => "w");
  const st = await sys.stat(params).catch(() => undefined);
  if (st === undefined) return fail(sys, be, `${params} does not exist`);
  let dev: string;
  let rdev: { major: number; minor: number };
  if (st.type === "block") {
    dev = params;
    rdev = st.rdev;
  } else {
    const state = await sys.xenstore.read(`${be}/state`).catch(() => undefined);
    if (state !== "2") return fail(sys, be, "Path closed or removed during hotplug add");
    dev = await findFree(sys);
    try {
      await bind(sys, dev, params, !mode.includes("w"));
    } catch (e) {
      return fail(sys, be, `losetup ${dev} ${params}: ${(e as Error).message}`);
    }
    await sys.xenstore.write(`${be}/node`, dev);
    rdev = (await sys.stat(dev)).rdev;
  }
  await sys.xenstore.write(`${be}/physical-device`, `${hex(rdev.major)}:${hex(rdev.minor)}`);
  await sys.xenstore.write(`${be}/physical-device-path`, dev);
  await sys.xenstore.write(`${be}/hotplug-status`, "connected");
}
