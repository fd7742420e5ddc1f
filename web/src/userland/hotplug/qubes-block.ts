// Qubes' hotplug script `qubes-block` (qubes-linux-utils not-script.c,
// installed as /etc/xen/scripts/qubes-block), as library code on Sys.
// The protocol: docs/xen-protocol.md, "Qubes' `qubes-block`".
//
// add: if blkback wrote `opened` (patch 7/7) the loop device is made with
// autoclear and handed over; open the image once and work on that fd;
// LOOP_CTL_GET_FREE, open /dev/loopN with O_EXCL and LOOP_CONFIGURE it from
// the fd (R1 closed: the device it configures is the one it holds), retried
// on EBUSY/ENXIO/EAGAIN/ENOENT up to 5 times; BLKGETDISKSEQ on its own fd;
// physical-device, physical-device-path and diskseq in one transaction
// (R2 closed on a kernel that checks diskseq); with autoclear, wait until
// blkback says `opened` = "1" before exiting (R4: the script's close is no
// longer the last one), so the device goes when blkback closes it.
// Without `opened` (an unpatched kernel) the loop device stays bound after
// the script exits, and blkback opens whatever 7:N is by then (R2).
//
// remove: delete physical-device first, then diskseq; if the script made
// the loop device, check its diskseq before LOOP_CLR_FD (R3 closed).
//
// Simplifications: the flock on /run/lock/qubes-script.lock is not taken
// (dom0's hotplug runner runs one script at a time); the dm name check is
// left out; the QUBES_EXPERIMENTAL_XENSTORE_UAPI gate is taken as set.

import type { Sys } from "blocklab";
import { SysError } from "../../sim/op";

const hex = (n: number): string => n.toString(16);
const RETRY = new Set(["EBUSY", "ENXIO", "EAGAIN", "ENOENT"]);

async function readOr(sys: Sys, path: string): Promise<string | undefined> {
  try {
    return await sys.xenstore.read(path);
  } catch (e) {
    if ((e as SysError).errno === "ENOENT") return undefined;
    throw e;
  }
}

export async function qubesBlockScript(sys: Sys, be: string, action: "add" | "remove" = "add"): Promise<void> {
  if (action === "remove") return remove(sys, be);
  const opened = await readOr(sys, `${be}/opened`);
  if (opened !== undefined && opened !== "0") throw new SysError("EINVAL", `unexpected opened = ${JSON.stringify(opened)}`);
  const autoclear = opened === "0";
  const params = await sys.xenstore.read(`${be}/params`);
  if (!params.startsWith("/")) throw new SysError("EINVAL", "params must be an absolute path");
  const readOnly = (await sys.xenstore.read(`${be}/mode`)) === "r";
  const fd = await sys.open(params, { write: !readOnly });
  const st = await sys.stat(params);
  let rdev = st.rdev;
  let path = params;
  let diskseq: number;
  if (st.type === "block") {
    diskseq = await sys.ioctl(fd, "BLKGETDISKSEQ");
  } else {
    let loopFd = -1;
    for (let attempt = 0; ; attempt++) {
      const ctl = await sys.open("/dev/loop-control");
      const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
      await sys.close(ctl);
      path = `/dev/loop${n}`;
      try {
        loopFd = await sys.open(path, { write: !readOnly, excl: true });
        const flags = [...(readOnly ? ["LO_FLAGS_READ_ONLY" as const] : []), ...(autoclear ? ["LO_FLAGS_AUTOCLEAR" as const] : [])];
        await sys.ioctl(loopFd, "LOOP_CONFIGURE", { fd, block_size: 512, info: { lo_flags: flags } });
        rdev = { major: 7, minor: n };
        break;
      } catch (e) {
        if (loopFd >= 0) await sys.close(loopFd);
        loopFd = -1;
        if (!RETRY.has((e as SysError).errno) || attempt >= 4) throw e;
      }
    }
    diskseq = await sys.ioctl(loopFd, "BLKGETDISKSEQ");
  }
  await sys.xenstore.transaction(async (tx) => {
    await tx.write(`${be}/physical-device`, `${hex(rdev.major)}:${hex(rdev.minor)}`);
    await tx.write(`${be}/physical-device-path`, path);
    await tx.write(`${be}/diskseq`, hex(diskseq));
  });
  if (autoclear) {
    const v = await sys.xenstore.waitFor(`${be}/opened`, (x) => x !== "0");
    if (v !== "1") throw new SysError("EINVAL", `unexpected opened = ${JSON.stringify(v)}`);
  }
  // Exit closes the fds: with autoclear, blkback is now the device's only opener.
}

async function remove(sys: Sys, be: string): Promise<void> {
  const pd = await readOr(sys, `${be}/physical-device`);
  if (pd === undefined) return;
  await sys.xenstore.rm(`${be}/physical-device`);
  const seq = await readOr(sys, `${be}/diskseq`);
  await sys.xenstore.rm(`${be}/diskseq`).catch(() => undefined);
  const path = await readOr(sys, `${be}/physical-device-path`);
  const params = await readOr(sys, `${be}/params`);
  const [major, minor] = pd.split(":").map((x) => parseInt(x, 16));
  if (major !== 7 || path === undefined || path === params) return;
  let fd: number;
  try {
    fd = await sys.open(path, { excl: true });
  } catch {
    return; // already gone (autoclear)
  }
  try {
    const st = await sys.stat(path);
    if (st.rdev.major !== major || st.rdev.minor !== minor) throw new SysError("EINVAL", "Loop device number mismatch!");
    if (seq !== undefined && (await sys.ioctl(fd, "BLKGETDISKSEQ")) !== parseInt(seq, 16)) throw new SysError("EINVAL", "Loop device diskseq mismatch!");
    try {
      await sys.ioctl(fd, "LOOP_CLR_FD");
    } catch (e) {
      if ((e as SysError).errno !== "EBUSY" && (e as SysError).errno !== "ENXIO") throw e;
    }
  } finally {
    await sys.close(fd);
  }
}
