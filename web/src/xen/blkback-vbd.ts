// blkback's virtual block device (drivers/block/xen-blkback/xenbus.c
// backend_changed and xen_vbd_create): what `physical-device` (and, with
// patch 3/7, `diskseq`) say, the open of the disk by its number, and the
// diskseq check. The protocol: docs/xen-protocol.md, "Attaching a disk"
// (step 5) and "blkback's diskseq check and `opened`".
//
//   physical-device   "<hex major>:<hex minor>"       mainline, v2 (`diskseqFormat: node`)
//                     "<hex diskseq>@<hex maj>:<hex min>"   RFC v1 (`diskseqFormat: inline`)
//   diskseq           "<hex, no leading 0, ≤ 16 digits>"   v2 and Qubes (node format only)
//
// Errors are what blkback hands to xenbus_dev_fatal: a positive errno here,
// written as "<errno> <message>" in the error node (xenbus_va_dev_error
// prints -err, so xenbus_scanf's positive item count shows negative).

import { errnoOf, type StepContext } from "../sim/op";
import { diskByDevt, readDisk } from "../linux/block";
import { ERRNO } from "../linux/errno";
import { blkdevClose, blkdevOpen } from "../linux/bdev";
import { observePair } from "../linux/pairs";
import { programStack } from "../linux/io";
import { LOOP_MAJOR } from "../linux/kconfig";
import type { Kernel } from "../linux/kernel";
import { loopAdd } from "../linux/loop/device";
import { DISK, LOOP } from "../linux/objects";
import { formatValue } from "../sim/format-value";
import { vsscanf } from "./xenbus-scanf";

/** What backend_changed makes of the keys: nothing yet (the watch fired early), a device, or a fatal error. */
export type PhysicalDevice =
  | { kind: "absent" }
  | { kind: "device"; major: number; minor: number; diskseq: number }
  | { kind: "fatal"; err: number; message: string };

/** How the running blkback reads the keys: mainline, or patch 3/7 in one of its two wire forms. */
export type DiskseqMode = "none" | "node" | "inline";

/** Mainline's reading of physical-device: a missing node or nothing convertible is "not yet" (XENBUS_EXIST_ERR). */
function parseMainline(value: string | undefined): PhysicalDevice {
  if (value === undefined) return { kind: "absent" };
  const items = vsscanf(value, "%x:%x");
  // xenbus_scanf turns 0 items into -ERANGE, which XENBUS_EXIST_ERR takes for "not written yet".
  if (items.length === 0) return { kind: "absent" };
  if (items.length !== 2) return { kind: "fatal", err: -items.length, message: "reading physical-device" };
  return { kind: "device", major: Number(items[0]), minor: Number(items[1]), diskseq: 0 };
}

const HEX = /^[0-9a-f]+$/i;

/**
 * RFC v1 (3/7): "<diskseq>@<major>:<minor>" with at most 16/8/8 hex digits,
 * every byte printable (0x21..0x7e), diskseq not 0, nothing after the
 * minor; plain "<major>:<minor>" still means "no check". Any rejection is
 * fatal with EINVAL.
 */
function parseInline(value: string | undefined): PhysicalDevice {
  if (value === undefined) return { kind: "absent" };
  const bad = (why: string): PhysicalDevice => ({ kind: "fatal", err: ERRNO.EINVAL, message: `invalid physical-device ${formatValue(value)}: ${why}` });
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return bad("a byte outside 0x21..0x7e");
  }
  let seq = 0;
  let rest = value;
  const at = value.indexOf("@");
  if (at >= 0) {
    const s = value.slice(0, at);
    if (s.length === 0 || s.length > 16 || !HEX.test(s)) return bad("bad diskseq");
    seq = Number(BigInt(`0x${s}`));
    if (seq === 0) return bad("diskseq 0");
    rest = value.slice(at + 1);
  }
  const colon = rest.indexOf(":");
  if (colon < 0) return bad("no ':'");
  const maj = rest.slice(0, colon);
  const min = rest.slice(colon + 1);
  if (maj.length === 0 || maj.length > 8 || !HEX.test(maj)) return bad("bad major");
  if (min.length === 0 || min.length > 8 || !HEX.test(min)) return bad("bad minor");
  return { kind: "device", major: parseInt(maj, 16), minor: parseInt(min, 16), diskseq: seq };
}

/**
 * v2 (and the 1 Jun 2023 re-post): the separate `diskseq` node. Absent: 0
 * (legacy userspace, no check). Empty: EFAULT. More than 16 characters or a
 * leading '0': ERANGE. Anything not hex: EINVAL.
 */
export function parseDiskseqNode(value: string | undefined): { ok: true; diskseq: number } | { ok: false; err: number; message: string } {
  if (value === undefined) return { ok: true, diskseq: 0 };
  if (value.length === 0) return { ok: false, err: ERRNO.EFAULT, message: "diskseq is empty" };
  if (value.length > 16) return { ok: false, err: ERRNO.ERANGE, message: `diskseq ${formatValue(value)} is too long` };
  if (value[0] === "0") return { ok: false, err: ERRNO.ERANGE, message: `diskseq ${formatValue(value)} has a leading 0` };
  if (!HEX.test(value)) return { ok: false, err: ERRNO.EINVAL, message: `diskseq ${formatValue(value)} is not hexadecimal` };
  return { ok: true, diskseq: Number(BigInt(`0x${value}`)) };
}

/** backend_changed's reading of the keys under the running blkback. `diskseqNode` is read only in node mode. */
export function parsePhysicalDevice(mode: DiskseqMode, physicalDevice: string | undefined, diskseqNode: string | undefined): PhysicalDevice {
  if (mode === "inline") return parseInline(physicalDevice);
  const pd = parseMainline(physicalDevice);
  if (mode === "none" || pd.kind !== "device") return pd;
  const seq = parseDiskseqNode(diskseqNode);
  if (!seq.ok) return { kind: "fatal", err: seq.err, message: `reading diskseq: ${seq.message}` };
  return { ...pd, diskseq: seq.diskseq };
}

/** The device blkback holds for a vbd (struct xen_vbd). */
export interface Vbd {
  major: number;
  minor: number;
  /** The diskseq userspace published (0: none, no check). */
  diskseq: number;
  /** The gendisk opened (an object, not a number: the incarnation blkback holds). */
  disk: string;
  /** Its diskseq when opened. */
  openedDiskseq: number;
  readOnly: boolean;
  sectors: number;
  /** Image files the disk's stack reached when it was opened (`file:<d>:<path>`). */
  images: string[];
}

export type VbdResult = { ok: true; vbd: Vbd } | { ok: false; err: number; message: string };

/**
 * xen_vbd_create: blkdev_get_by_dev (read-only for mode "r"; not exclusive),
 * which autoloads loopN below max_loop (loop_probe) like any open by
 * number; any failure is ENOENT. With patch 3/7, a published diskseq that
 * differs from the opened disk's closes it again: ENODEV.
 */
export function vbdCreate(ctx: StepContext, k: Kernel, d: string, dev: { major: number; minor: number; diskseq: number }, readOnly: boolean, checkDiskseq: boolean): VbdResult {
  let key = diskByDevt(ctx.store, d, dev.major, dev.minor);
  if (key === undefined && dev.major === LOOP_MAJOR && dev.minor < k.cfg.maxLoop && !LOOP.has(ctx.store, LOOP.key(d, dev.minor))) {
    loopAdd(ctx, d, dev.minor);
    key = diskByDevt(ctx.store, d, dev.major, dev.minor);
  }
  const devName = `${dev.major.toString(16)}:${dev.minor.toString(16)}`;
  if (key === undefined) return { ok: false, err: ERRNO.ENOENT, message: "creating vbd structure" };
  try {
    blkdevOpen(ctx, k, d, key, { write: !readOnly });
  } catch (e) {
    if (errnoOf(e) === undefined) throw e;
    return { ok: false, err: ERRNO.ENOENT, message: "creating vbd structure" };
  }
  const disk = readDisk(ctx.store, key);
  // Patch 3/7's check reads the opened disk's diskseq: a reading of the pair (see linux/pairs.ts).
  if (checkDiskseq && dev.diskseq !== 0) observePair(ctx, d, key, "blkback");
  if (checkDiskseq && dev.diskseq !== 0 && disk.diskseq !== dev.diskseq) {
    ctx.emit({ kind: "blkback", domain: d, message: `device ${devName} has incorrect sequence number 0x${disk.diskseq.toString(16)} (expected 0x${dev.diskseq.toString(16)})` });
    blkdevClose(ctx, k, d, key);
    return { ok: false, err: ERRNO.ENODEV, message: "creating vbd structure" };
  }
  return { ok: true, vbd: { major: dev.major, minor: dev.minor, diskseq: dev.diskseq, disk: key, openedDiskseq: disk.diskseq, readOnly, sectors: disk.sectors, images: stackImages(ctx, k, key) } };
}

/** The images a disk's stack reaches now (none when it does no I/O: an unbound loop device, a dm device without a table). */
export function stackImages(ctx: StepContext, k: Kernel, key: string): string[] {
  if (!k.dp) return [];
  try {
    return programStack(ctx, k, key).images;
  } catch (e) {
    if (errnoOf(e) === undefined) throw e;
    return [];
  }
}

/** xen_vbd_free: blkdev_put, the moment an autoclear loop device detaches. */
export function vbdFree(ctx: StepContext, k: Kernel, d: string, vbd: Vbd): void {
  if (DISK.get(ctx.store, vbd.disk) === undefined) return;
  blkdevClose(ctx, k, d, vbd.disk);
}
