// The block-device page cache: the bdev inode's mapping (mm/filemap.c
// under block/fops.c), as a program using a disk fd sees it. A buffered
// write lands here, not on the device: a buffered read sees it, an O_DIRECT
// read does not (after writing the dirty pages of its range back), and the
// device gets it at fsync/fdatasync, BLKFLSBUF, an O_DIRECT access to its
// range, or the last close (blkdev_put → blkdev_flush_mapping: sync, then
// kill_bdev drops every page, 6.1 and 6.12). So a write through a dm `zero`
// target reads back as written until the cache goes, as on Linux.
//
// The pages are a store object per disk (objects.ts PAGECACHE), absent
// while nothing is cached: a disk nobody wrote to through an fd costs one
// read of an absent key, which conflicts with nothing.
//
// Simplifications [A] (docs/linux-model.md §4.7):
// - Pages enter only by a buffered write, whole (the rest of a page read
//   from the device first, as block_write_begin reads a block a write
//   covers in part). A buffered read of a page not cached reads the device
//   and keeps nothing; Linux keeps it, and could then return stale data if
//   the device changed under it by another path (blkback's bios, a lower
//   device). Keeping read pages would make every read a store write, and
//   any two reads of one disk conflict, for every scenario.
// - No writeback of its own: no flusher thread, no memory pressure, no
//   dirty expiry. Only the calls above write back.
// - A page whose writeback fails is dropped (its buffers are no longer
//   uptodate: Linux reads it again from the device), and the errno goes to
//   the call that wrote it back, not to every open file (errseq).
// - A page wholly past the end of the disk is cleaned without I/O, as
//   block_write_full_page skips pages outside i_size.

import { errnoOf, type StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { PAGE_SIZE, readDisk, SECTOR } from "./block";
import type { Errno } from "./errno";
import { fail, type Kernel } from "./kernel";
import { readDiskBytes, writableBytes, writeThrough } from "./io";
import { DISK, PAGECACHE, type CachedPage, type Gendisk } from "./objects";

/** The cache object of a disk (same tail as the disk's key). */
function cacheKey(disk: string): string {
  return PAGECACHE.withTail(DISK.tail(disk));
}

function encode(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

function decode(data: string): Uint8Array {
  const s = atob(data);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The pages a byte range [offset, offset + length) touches (length > 0). */
function pagesOf(offset: number, length: number): number[] {
  const out: number[] = [];
  for (let i = Math.floor(offset / PAGE_SIZE); i <= Math.floor((offset + length - 1) / PAGE_SIZE); i++) out.push(i);
  return out;
}

function capacity(disk: Gendisk): number {
  return disk.sectors * SECTOR;
}

/** A buffered read (filemap_read): 0 bytes at or past the end, else the cached pages over what the device holds. */
export function bufferedRead(ctx: StepContext, k: Kernel, key: string, offset: number, length: number): Uint8Array {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const cap = capacity(disk);
  if (offset >= cap || length === 0) return new Uint8Array(0);
  const n = Math.min(length, cap - offset);
  const pages = PAGECACHE.get(ctx.store, cacheKey(key))?.pages ?? {};
  const touched = pagesOf(offset, n);
  // Only a page that is not cached needs the device (which may fail).
  const out = touched.every((i) => pages[i] !== undefined) ? new Uint8Array(n) : readDiskBytes(ctx, k, key, offset, n);
  for (const i of touched) {
    const page = pages[i];
    if (!page) continue;
    const data = decode(page.data);
    const from = Math.max(offset, i * PAGE_SIZE);
    const to = Math.min(offset + n, (i + 1) * PAGE_SIZE);
    out.set(data.subarray(from - i * PAGE_SIZE, to - i * PAGE_SIZE), from - offset);
  }
  return out;
}

/** A buffered write (blkdev_write_iter's checks, then the pages): the bytes that fit, now dirty in the cache. */
export function bufferedWrite(ctx: StepContext, k: Kernel, key: string, offset: number, bytes: Uint8Array): number {
  const n = writableBytes(ctx, key, offset, bytes.length);
  if (n === 0) return 0;
  const cap = capacity(readDisk(ctx.store, key));
  const ck = cacheKey(key);
  const pages: Record<string, CachedPage> = { ...PAGECACHE.get(ctx.store, ck)?.pages };
  for (const i of pagesOf(offset, n)) {
    const start = i * PAGE_SIZE;
    const end = Math.min(start + PAGE_SIZE, cap);
    const from = Math.max(offset, start);
    const to = Math.min(offset + n, end);
    const cached = pages[i];
    const data = cached ? decode(cached.data) : new Uint8Array(PAGE_SIZE);
    // A page written in part is read first (block_write_begin); one written whole is not.
    if (!cached && (from > start || to < end)) data.set(readDiskBytes(ctx, k, key, start, end - start));
    data.set(bytes.subarray(from - offset, to - offset), from - start);
    pages[i] = { data: encode(data), dirty: true };
  }
  PAGECACHE.set(ctx.store, ck, { pages });
  return n;
}

/**
 * Writes the dirty pages in [first, last] (page indexes) back to the device
 * (filemap_write_and_wait_range), in page order. Written pages stay, clean;
 * a page that fails is dropped. The first errno, or undefined.
 */
export function writeBack(ctx: StepContext, k: Kernel, key: string, first = 0, last = Infinity): Errno | undefined {
  const ck = cacheKey(key);
  const cache = PAGECACHE.get(ctx.store, ck);
  if (!cache) return undefined;
  const dirty = Object.keys(cache.pages).map(Number).filter((i) => i >= first && i <= last && cache.pages[i]!.dirty).sort((a, b) => a - b);
  if (dirty.length === 0) return undefined;
  const cap = capacity(readDisk(ctx.store, key));
  const pages = { ...cache.pages };
  let error: Errno | undefined;
  for (const i of dirty) {
    const page = pages[i]!;
    const start = i * PAGE_SIZE;
    const end = Math.min(start + PAGE_SIZE, cap);
    if (end > start) {
      try {
        writeThrough(ctx, k, key, start, decode(page.data).subarray(0, end - start));
      } catch (e) {
        const errno = errnoOf(e);
        if (errno === undefined) throw e;
        error ??= errno as Errno;
        delete pages[i];
        continue;
      }
    }
    pages[i] = { data: page.data, dirty: false };
  }
  setPages(ctx, ck, pages);
  return error;
}

function setPages(ctx: StepContext, ck: string, pages: Record<string, CachedPage>): void {
  if (Object.keys(pages).length === 0) PAGECACHE.delete(ctx.store, ck);
  else PAGECACHE.set(ctx.store, ck, { pages });
}

/** Drops the clean pages in [first, last] (invalidate_mapping_pages, invalidate_bdev); dirty ones stay. */
export function dropClean(ctx: StepContext, key: string, first = 0, last = Infinity): void {
  const ck = cacheKey(key);
  const cache = PAGECACHE.get(ctx.store, ck);
  if (!cache) return;
  const keep = Object.entries(cache.pages).filter(([i, p]) => p.dirty || Number(i) < first || Number(i) > last);
  if (keep.length !== Object.keys(cache.pages).length) setPages(ctx, ck, Object.fromEntries(keep));
}

/**
 * truncate_bdev_range for [start, end] (bytes, inclusive): without a claim
 * of someone else's, every page there goes, dirty or not (the data is lost,
 * as BLKDISCARD means); while another holder has the disk, only clean
 * pages go (invalidate_inode_pages2_range) and a dirty one is EBUSY.
 */
export function truncateRange(ctx: StepContext, key: string, start: number, end: number, othersClaim: boolean): void {
  const first = Math.floor(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  const ck = cacheKey(key);
  const cache = PAGECACHE.get(ctx.store, ck);
  if (!cache) return;
  const inRange = (i: string) => Number(i) >= first && Number(i) <= last;
  if (!othersClaim) {
    setPages(ctx, ck, Object.fromEntries(Object.entries(cache.pages).filter(([i]) => !inRange(i))));
    return;
  }
  dropClean(ctx, key, first, last);
  if (Object.entries(cache.pages).some(([i, p]) => inRange(i) && p.dirty)) fail("EBUSY", "dirty pages in the range while another holder has the device");
}

/** blkdev_flushbuf and the last close: every dirty page written back (errors not reported), then the whole cache dropped. */
export function flushBuffers(ctx: StepContext, k: Kernel, key: string): void {
  writeBack(ctx, k, key);
  PAGECACHE.delete(ctx.store, cacheKey(key));
}

/** Whether the disk has dirty pages (a last close must write them, and waits for a suspended device). */
export function hasDirtyPages(store: Store, key: string): boolean {
  const cache = PAGECACHE.get(store, cacheKey(key));
  return cache !== undefined && Object.values(cache.pages).some((p) => p.dirty);
}

/** blkdev_direct_IO's check: offset and length in whole logical blocks (the model has no buffer addresses to align). */
function checkAligned(disk: Gendisk, offset: number, length: number): void {
  const mask = disk.logicalBlockSize - 1;
  if ((offset & mask) !== 0 || (length & mask) !== 0) fail("EINVAL", `O_DIRECT I/O must be aligned to ${disk.name}'s logical block size (${disk.logicalBlockSize})`);
}

/** blkdev_read_iter with IOCB_DIRECT: 0 past the end, the range's dirty pages written back, then the alignment, then the device. */
export function directRead(ctx: StepContext, k: Kernel, key: string, offset: number, length: number): Uint8Array {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("EIO", `${disk.name} has been deleted`);
  const cap = capacity(disk);
  if (offset >= cap || length === 0) return new Uint8Array(0);
  const n = Math.min(length, cap - offset);
  const err = writeBack(ctx, k, key, Math.floor(offset / PAGE_SIZE), Math.floor((offset + n - 1) / PAGE_SIZE));
  if (err) fail(err, `writing back the cached pages before an O_DIRECT read of ${disk.name}`);
  checkAligned(disk, offset, n);
  return readDiskBytes(ctx, k, key, offset, n);
}

/**
 * blkdev_write_iter with IOCB_DIRECT: its checks, then the range's dirty
 * pages written back and the range's pages dropped (kiocb_invalidate_pages),
 * then the alignment, then the device.
 */
export function directWrite(ctx: StepContext, k: Kernel, key: string, offset: number, bytes: Uint8Array): number {
  const n = writableBytes(ctx, key, offset, bytes.length);
  if (n === 0) return 0;
  const first = Math.floor(offset / PAGE_SIZE);
  const last = Math.floor((offset + n - 1) / PAGE_SIZE);
  const err = writeBack(ctx, k, key, first, last);
  if (err) fail(err, "writing back the cached pages before an O_DIRECT write");
  dropClean(ctx, key, first, last);
  checkAligned(readDisk(ctx.store, key), offset, n);
  writeThrough(ctx, k, key, offset, bytes.subarray(0, n));
  return n;
}
