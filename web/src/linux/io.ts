// I/O through a block device: the stack under it (loop over an image, dm
// tables over loop devices, ...) is built from the store at every I/O step,
// so the step's footprint names every object the data depends on, and
// programmed into the data plane's device slots, which are only a cache
// (a restore that leaves them stale is harmless: the next I/O reprograms
// them). The transfer itself runs in WebAssembly. docs/linux-model.md §5.7.

import type { Target } from "../core/data-plane";
import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { readDisk, SECTOR } from "./block";
import { FILE, isTextFile, type ImageFile } from "./files";
import { fail, ModelBug, type Kernel } from "./kernel";
import { DISK, DM, LOOP } from "./objects";

/** How deep a stack may be (loop over dm over loop...): the kernel's own limit is a stack overflow. */
const MAX_DEPTH = 16;

interface Programmed {
  next: number;
  /** Image files the stack reaches: a write bumps their `gen`. */
  images: Set<string>;
}

/** Programs `key`'s mapping into a free slot (and its lower devices into others); returns its slot. EIO where the kernel fails the bio. */
function program(ctx: StepContext, k: Kernel, key: string, p: Programmed, depth: number): number {
  if (depth > MAX_DEPTH) fail("EIO", "the device stack is too deep");
  const dp = k.dp!;
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const slot = p.next++;
  if (slot >= 256) fail("EIO", "the device stack uses more than the data plane's 256 device slots");
  if (disk.driver === "loop") {
    const lo = LOOP.get(ctx.store, disk.driverKey)!;
    // loop_queue_rq: only a bound device does I/O (rundown gives EIO on 6.12).
    if (lo.state !== "bound" || lo.backing === null) fail("EIO", `${disk.name} is ${lo.state}`);
    const backing = lo.backing.file;
    if (DISK.is(backing)) {
      if (lo.offset % SECTOR !== 0) fail("EIO", "a loop device over a block device at an offset that is not a whole sector is not modelled");
      const lower = program(ctx, k, backing, p, depth + 1);
      dp.setTableDevice(slot, [{ start: 0, length: disk.sectors, type: "linear", device: lower, offset: lo.offset / SECTOR }], { readOnly: disk.readOnly });
    } else {
      const f = FILE.get(ctx.store, backing);
      if (!f) throw new ModelBug(`backing file ${backing} vanished`);
      if (isTextFile(f)) fail("EIO", "a loop device over a text file does no I/O in the model (text files have no data-plane image)");
      p.images.add(backing);
      dp.setImageDevice(slot, { image: f.image, offset: lo.offset, sectors: disk.sectors, readOnly: disk.readOnly });
    }
    return slot;
  }
  const md = DM.get(ctx.store, disk.driverKey)!;
  // dm with no live table fails every bio.
  if (md.live === null) fail("EIO", `${disk.name} has no active table`);
  const targets: Target[] = md.live.targets.map((t): Target => {
    switch (t.type) {
      case "linear":
        return { start: t.start, length: t.length, type: "linear", device: program(ctx, k, t.legs[0]!.disk, p, depth + 1), offset: t.legs[0]!.offset };
      case "striped":
        return { start: t.start, length: t.length, type: "striped", chunkSectors: t.chunkSectors!, legs: t.legs.map((l) => ({ device: program(ctx, k, l.disk, p, depth + 1), offset: l.offset })) };
      case "zero":
        return { start: t.start, length: t.length, type: "zero" };
      case "error":
        return { start: t.start, length: t.length, type: "error" };
    }
  });
  dp.setTableDevice(slot, targets, { readOnly: disk.readOnly });
  return slot;
}

/** Whether I/O on `key` would wait: some dm device in its stack is suspended (bios are queued until resume). */
export function stackSuspended(store: Store, key: string, depth = 0): boolean {
  const disk = DISK.get(store, key);
  if (!disk || !disk.live || depth > MAX_DEPTH) return false;
  if (disk.driver === "loop") {
    const lo = LOOP.get(store, disk.driverKey);
    const b = lo?.backing?.file;
    return b !== undefined && DISK.is(b) && stackSuspended(store, b, depth + 1);
  }
  const md = DM.get(store, disk.driverKey);
  if (!md) return false;
  if (md.suspended) return true;
  return (md.live?.targets ?? []).some((t) => t.legs.some((l) => stackSuspended(store, l.disk, depth + 1)));
}

function chunkSectors(k: Kernel): number {
  return Math.max(1, Math.floor(k.dp!.stagingBytes / SECTOR));
}

function readSectors(k: Kernel, slot: number, first: number, count: number, name: string): Uint8Array {
  const out = new Uint8Array(count * SECTOR);
  const step = chunkSectors(k);
  for (let s = 0; s < count; s += step) {
    const n = Math.min(step, count - s);
    const got = k.dp!.readDevice(slot, first + s, n);
    if (got === null) fail("EIO", `I/O error reading ${name}`);
    out.set(got, s * SECTOR);
  }
  return out;
}

/** Bios that read a block device: 0 bytes at or past the end (before anything else, as blkdev_read_iter answers), else the bytes. */
export function readDiskBytes(ctx: StepContext, k: Kernel, key: string, offset: number, length: number): Uint8Array {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const cap = disk.sectors * SECTOR;
  if (offset >= cap || length === 0) return new Uint8Array(0);
  const n = Math.min(length, cap - offset);
  const first = Math.floor(offset / SECTOR);
  const last = Math.ceil((offset + n) / SECTOR);
  const slot = program(ctx, k, key, { next: 0, images: new Set() }, 0);
  const buf = readSectors(k, slot, first, last - first, disk.name);
  return buf.slice(offset - first * SECTOR, offset - first * SECTOR + n);
}

/**
 * blkdev_write_iter's checks, in its order: EPERM while read-only
 * (bdev_read_only: the disk's own flag or BLKROSET's), 0 for nothing,
 * ENOSPC at or past the end. The bytes that fit, or 0.
 */
export function writableBytes(ctx: StepContext, key: string, offset: number, length: number): number {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  if (disk.readOnly || disk.bdevReadOnly) fail("EPERM", `${disk.name} is read-only`);
  const cap = disk.sectors * SECTOR;
  if (length === 0) return 0;
  if (offset >= cap) fail("ENOSPC", `${disk.name} ends at byte ${cap}`);
  return Math.min(length, cap - offset);
}

/**
 * Bios that write `bytes` at `offset` (inside the disk) through the stack:
 * partial sectors read, modified and written back. What pwrite with
 * O_DIRECT and the page cache's writeback submit; EIO where a bio fails.
 */
export function writeThrough(ctx: StepContext, k: Kernel, key: string, offset: number, bytes: Uint8Array): void {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const n = bytes.length;
  const first = Math.floor(offset / SECTOR);
  const last = Math.ceil((offset + n) / SECTOR);
  const p: Programmed = { next: 0, images: new Set() };
  const slot = program(ctx, k, key, p, 0);
  const buf = (offset % SECTOR !== 0 || (offset + n) % SECTOR !== 0) ? readSectors(k, slot, first, last - first, disk.name) : new Uint8Array((last - first) * SECTOR);
  buf.set(bytes, offset - first * SECTOR);
  const step = chunkSectors(k);
  for (let s = 0; s < last - first; s += step) {
    const m = Math.min(step, last - first - s);
    if (!k.dp!.writeDevice(slot, first + s, buf.subarray(s * SECTOR, (s + m) * SECTOR))) fail("EIO", `I/O error writing ${disk.name}`);
  }
  bumpImages(ctx, p);
}

/** Discard bios for `length` bytes at `offset` (whole sectors inside the disk): a loop image gets a hole, dm passes them down, zero drops them, error fails them (EIO). */
export function discardThrough(ctx: StepContext, k: Kernel, key: string, offset: number, length: number): void {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const p: Programmed = { next: 0, images: new Set() };
  const slot = program(ctx, k, key, p, 0);
  if (!k.dp!.discardDevice(slot, offset / SECTOR, length / SECTOR)) fail("EIO", `I/O error discarding on ${disk.name}`);
  bumpImages(ctx, p);
}

/** The bytes are outside the store: a write shows in footprints and fingerprints through the images' `gen`. */
function bumpImages(ctx: StepContext, p: Programmed): void {
  for (const fk of p.images) {
    const f = FILE.get(ctx.store, fk) as ImageFile;
    FILE.update(ctx.store, fk, f, { gen: f.gen + 1 });
  }
}

/**
 * Programs `key`'s whole stack into the data plane's device slots, the disk
 * itself into slot 0 (its lower devices into the next ones), for a kernel
 * user that moves the data itself (blkback's ring batch). Returns the slot
 * and the image files the stack reaches (a write must bump their `gen`).
 * EIO where the kernel would fail the bio.
 */
export function programStack(ctx: StepContext, k: Kernel, key: string): { slot: number; images: string[] } {
  const p: Programmed = { next: 0, images: new Set() };
  const slot = program(ctx, k, key, p, 0);
  return { slot, images: [...p.images].sort() };
}
