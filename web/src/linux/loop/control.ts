// /dev/loop-control (loop_control_ioctl): add, remove and find a free loop
// device. docs/linux-model.md §5.1.

import type { StepContext } from "../../sim/op";
import { readDisk } from "../block";
import { fail, type Kernel } from "../kernel";
import { LOOP } from "../objects";
import { MAX_LOOP_INDEX, loopAdd, loopRemove } from "./device";

export const LOOP_CTL_IOCTLS = {
  LOOP_CTL_ADD: 0x4c80,
  LOOP_CTL_REMOVE: 0x4c81,
  LOOP_CTL_GET_FREE: 0x4c82,
} as const;

function indexArg(arg: unknown, name: string): number {
  if (typeof arg !== "number" || !Number.isInteger(arg)) fail("EINVAL", `${name} takes a device index, got ${JSON.stringify(arg)}`);
  return arg;
}

/** The indices in use, ascending (the idr). */
function loopIndices(ctx: StepContext, d: string): number[] {
  return LOOP.list(ctx.store, d).map((k) => Number(LOOP.tail(k, d))).sort((a, b) => a - b);
}

function lowestFree(used: number[]): number {
  let i = 0;
  for (const u of used) {
    if (u !== i) break;
    i++;
  }
  return i;
}

/** loop_add(i): EEXIST when taken (before any disk is allocated: no diskseq is used, G:L53); i < 0: the lowest free. */
function add(ctx: StepContext, _k: Kernel, arg: unknown): number {
  const d = ctx.who.domain;
  let i = indexArg(arg, "LOOP_CTL_ADD");
  // An index whose minor does not fit 20 bits: EINVAL. Unverified where: the
  // model refuses it before anything is allocated, while device_add_disk's
  // minor-range check (block/genhd.c, newer kernels) refuses it after
  // blk_mq_alloc_disk, which would use up a diskseq.
  if (i > MAX_LOOP_INDEX) fail("EINVAL", `loop index ${i} does not fit a minor number`);
  if (i >= 0) {
    if (LOOP.has(ctx.store, LOOP.key(d, i))) fail("EEXIST", `loop${i} exists`);
  } else {
    i = lowestFree(loopIndices(ctx, d));
  }
  loopAdd(ctx, d, i);
  return i;
}

/** loop_control_remove: EINVAL, ENODEV, then EBUSY while bound or open (G:L24, G61:L182). */
function remove(ctx: StepContext, _k: Kernel, arg: unknown): number {
  const d = ctx.who.domain;
  const i = indexArg(arg, "LOOP_CTL_REMOVE");
  if (i < 0) fail("EINVAL", `negative loop index ${i}`);
  const key = LOOP.key(d, i);
  const lo = LOOP.get(ctx.store, key);
  if (!lo) fail("ENODEV", `loop${i} does not exist`);
  const disk = readDisk(ctx.store, lo.disk);
  if (lo.state !== "unbound" || disk.openers > 0) fail("EBUSY", `loop${i} is ${lo.state === "unbound" ? "open" : lo.state}`);
  loopRemove(ctx, d, key);
  return 0;
}

/** loop_control_get_free: the lowest unbound device, open or not (nothing is reserved: G:L84-85); else a new one. */
function getFree(ctx: StepContext, _k: Kernel): number {
  const d = ctx.who.domain;
  for (const i of loopIndices(ctx, d)) {
    if (LOOP.get(ctx.store, LOOP.key(d, i))!.state === "unbound") return i;
  }
  const i = lowestFree(loopIndices(ctx, d));
  loopAdd(ctx, d, i);
  return i;
}

type ControlHandler = (ctx: StepContext, k: Kernel, arg: unknown) => number;

const CONTROL_TABLE: Record<keyof typeof LOOP_CTL_IOCTLS, ControlHandler> = {
  LOOP_CTL_ADD: add,
  LOOP_CTL_REMOVE: remove,
  LOOP_CTL_GET_FREE: (ctx, k) => getFree(ctx, k),
};

export function loopControlIoctl(ctx: StepContext, k: Kernel, name: string, arg: unknown): number {
  const h = (CONTROL_TABLE as Record<string, ControlHandler | undefined>)[name];
  if (!h) fail("ENOSYS", `${name} is not a loop-control command`);
  return h(ctx, k, arg);
}
