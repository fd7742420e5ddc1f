// The typed facade over the WebAssembly data plane. Every id, size and
// offset is checked here, before the call, and misuse throws a
// CoreUsageError that names the argument. Outcomes that belong to the
// protocols (a grant map refused, a bogus ring) are returned as values with
// Xen's names, because the models above report them, not crash on them.

import {
  ABI_CODE, PAGE_SIZE, SECTOR_SIZE, RING_OFFSETS, gntstName, statusName,
  type BlkifAbi, type BlkifResponse, type GntstName,
} from "./abi";
import { CoreOutOfMemoryError, CoreUsageError } from "./errors";
import { instantiateCore, type CoreExports } from "./load";
// The numbers of the WebAssembly interface, from assembly/abi.ts by way of the build.
import {
  MAX_DOMAINS, MAX_GUEST_PAGES, MAX_GRANT_FRAMES, MAPTRACK_ENTRIES, MAX_IMAGES, MAX_IMAGE_BYTES, MAX_DEVICES,
  MAX_TABLE_BYTES, MAX_FRONT_RINGS, MAX_BACK_RINGS, MAX_RING_PAGE_ORDER, MAX_CHECKPOINTS, MIN_FRAMES, MAX_FRAMES,
  STAGING_BYTES, RING_RSP_EVENT, RESPONSE_ID, RESPONSE_OPERATION, RESPONSE_STATUS, RESPONSE_OUT_BYTES,
  GRANT_ENTRY_BYTES, GRANT_ENTRY_FLAGS, GRANT_ENTRY_DOMID, GRANT_ENTRY_FRAME,
  DOM_FREE, DOM_LIVE, DOM_DYING, DOM_ERR_NO_FRAMES, END_ACCESS_REVOKED, MAPPED_ERR_UNMAPPED, MAPPED_ERR_READ_ONLY,
  DEV_READ_ONLY, TARGET_LINEAR, TARGET_STRIPED, TARGET_ZERO, TARGET_ERROR, TARGET_BYTES, LEG_BYTES,
  TARGET_START, TARGET_LENGTH, TARGET_TYPE, TARGET_STRIPES, TARGET_DEVICE, TARGET_FIRST_LEG, TARGET_OFFSET,
  TARGET_CHUNK_SECTORS, LEG_DEVICE, LEG_START, IO_READ, IO_WRITE, IO_DISCARD, IO_OK,
  FRONT_FREE, FRONT_BROKEN, FRONT_ERR_FULL, BACK_FREE, BACK_BOGUS, BACK_ERR_MAP, BACK_ERR_BOGUS, BACK_ERR_FULL,
  VBD_READ_ONLY, VBD_DISCARD, MIN_LOGICAL_BLOCK_SIZE, MAX_LOGICAL_BLOCK_SIZE,
  PROCESS_NOTIFY, PROCESS_MORE, PROCESS_BOGUS, PROCESS_ANSWERED_SHIFT, STAT_OKAY, STAT_ERROR, STAT_EOPNOTSUPP,
} from "../../wasm/core-abi";

/** Capacities compiled into the data plane (assembly/abi.ts). */
export const LIMITS = {
  domains: MAX_DOMAINS,
  guestPages: MAX_GUEST_PAGES,
  grantFrames: MAX_GRANT_FRAMES,
  maptrackHandles: MAPTRACK_ENTRIES,
  images: MAX_IMAGES,
  imageBytes: MAX_IMAGE_BYTES,
  devices: MAX_DEVICES,
  tableBytes: MAX_TABLE_BYTES,
  frontendRings: MAX_FRONT_RINGS,
  backendRings: MAX_BACK_RINGS,
  ringPageOrder: MAX_RING_PAGE_ORDER,
  checkpoints: MAX_CHECKPOINTS,
  maxFrames: MAX_FRAMES,
} as const;

const TARGET_CODE = { linear: TARGET_LINEAR, striped: TARGET_STRIPED, zero: TARGET_ZERO, error: TARGET_ERROR } as const;

/** The page counts a ring may have, for messages: "1, 2, 4, 8 or 16". */
const RING_PAGE_COUNTS = Array.from({ length: MAX_RING_PAGE_ORDER + 1 }, (_, order) => 2 ** order).join(", ").replace(/, (\d+)$/, " or $1");

/** backendProcess packs the answered count above the flag bits, so a budget must fit what is left of a u32. */
const MAX_BUDGET = 2 ** (32 - PROCESS_ANSWERED_SHIFT) - 1;

export type DomainState = "free" | "live" | "dying";
const DOMAIN_STATES: Record<number, DomainState> = { [DOM_FREE]: "free", [DOM_LIVE]: "live", [DOM_DYING]: "dying" };

/** A device-mapper target, in 512-byte sectors, as in a `dmsetup table` line. */
export type Target =
  | { start: number; length: number; type: "linear"; device: number; offset: number }
  | { start: number; length: number; type: "striped"; chunkSectors: number; legs: { device: number; offset: number }[] }
  | { start: number; length: number; type: "zero" }
  | { start: number; length: number; type: "error" };

export type MapResult = { ok: true; handle: number } | { ok: false; status: number; name: GntstName | "unknown" };

export type ConnectResult =
  | { ok: true; ring: number }
  | { ok: false; reason: "grant-map"; status: number; name: GntstName | "unknown" }
  | { ok: false; reason: "bogus-ring" };

export interface ProcessResult {
  answered: number;
  notify: boolean;
  more: boolean;
  bogus: boolean;
}

export interface RingHeader {
  req_prod: number;
  req_event: number;
  rsp_prod: number;
  rsp_event: number;
}

export interface BackendOptions {
  grefs: number[];
  abi?: BlkifAbi;
  device: number;
  sectors: number;
  readOnly?: boolean;
  discard?: boolean;
  logicalBlockSize?: number;
}

export interface GrantEntry {
  flags: number;
  domid: number;
  frame: number;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new CoreUsageError(message);
}
function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}
function isSafeCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}
/** An id or index: checked here in full, since WebAssembly would take it modulo 2^32. */
function index(what: string, v: number, limit: number): void {
  check(Number.isInteger(v) && v >= 0 && v < limit, `${what} must be an integer in 0..${limit - 1}, got ${v}`);
}
function count(what: string, v: number): void {
  check(isSafeCount(v), `${what} must be a non-negative integer, got ${v}`);
}

export class DataPlane {
  /** Creates a fresh, independent data plane with room for `maxFrames` 4 KiB frames. */
  static async create(options: { maxFrames?: number; module?: WebAssembly.Module } = {}): Promise<DataPlane> {
    const maxFrames = options.maxFrames ?? 1 << 18; // 1 GiB of arena by default; memory is taken as used
    check(Number.isInteger(maxFrames) && maxFrames >= MIN_FRAMES && maxFrames <= LIMITS.maxFrames, `maxFrames must be an integer in ${MIN_FRAMES}..${LIMITS.maxFrames}, got ${maxFrames}`);
    const x = await instantiateCore(options.module);
    if (!x.init(maxFrames)) throw new CoreOutOfMemoryError(`cannot set up a data plane of ${maxFrames} frames`);
    return new DataPlane(x);
  }

  readonly stagingBytes: number;
  private readonly staging: number;

  private constructor(readonly raw: CoreExports) {
    this.staging = raw.stagingPtr();
    this.stagingBytes = STAGING_BYTES;
  }

  /** A view of linear memory (re-made per call: growing memory detaches old views). */
  memory(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.raw.memory.buffer, ptr, length);
  }

  private put(bytes: Uint8Array): number {
    check(bytes.length <= this.stagingBytes, `at most ${this.stagingBytes} bytes per call, got ${bytes.length}`);
    this.memory(this.staging, bytes.length).set(bytes);
    return this.staging;
  }
  private take(length: number): Uint8Array {
    return this.memory(this.staging, length).slice();
  }

  // ---- arena and checkpoints ----

  get framesInUse(): number { return this.raw.framesInUse(); }
  get framesLimit(): number { return this.raw.framesLimit(); }
  get linearMemoryBytes(): number { return this.raw.memory.buffer.byteLength; }

  /** Opens a checkpoint; restore(id) rolls back to it in time proportional to what changed since. */
  checkpoint(): number {
    const id = this.raw.checkpoint();
    if (id === 0) throw new CoreUsageError(`at most ${LIMITS.checkpoints} checkpoints may be open`);
    return id;
  }
  restore(id: number): void {
    this.openCheckpoint(id);
    this.raw.restore(id);
  }
  /** Closes checkpoint `id` (and later ones) keeping the current state. */
  release(id: number): void {
    this.openCheckpoint(id);
    this.raw.release(id);
  }
  get checkpointDepth(): number { return this.raw.checkpointDepth(); }
  dirtyFramesSince(id: number): number {
    this.openCheckpoint(id);
    return this.raw.dirtyFramesSince(id);
  }
  private openCheckpoint(id: number): void {
    const depth = this.raw.checkpointDepth();
    check(Number.isInteger(id) && id >= 1 && id <= depth, `no open checkpoint ${id} (open: ${depth === 0 ? "none" : `1..${depth}`})`);
  }
  /** crc32c over every allocated frame: equal for equal states. Costs a pass over the arena. */
  digest(): number { return this.raw.arenaDigest(); }

  // ---- domains and guest memory ----

  createDomain(domid: number, options: { pages?: number; grantFrames?: number } = {}): void {
    const pages = options.pages ?? 1024;
    const grantFrames = options.grantFrames ?? 4;
    index("domid", domid, LIMITS.domains);
    check(Number.isInteger(pages) && pages >= 1 && pages <= LIMITS.guestPages, `pages must be in 1..${LIMITS.guestPages}, got ${pages}`);
    check(Number.isInteger(grantFrames) && grantFrames >= 1 && grantFrames <= LIMITS.grantFrames, `grantFrames must be in 1..${LIMITS.grantFrames}, got ${grantFrames}`);
    check(this.raw.domainState(domid) === DOM_FREE, `domain ${domid} already exists`);
    const rc = this.raw.domainCreate(domid, pages, grantFrames);
    if (rc === DOM_ERR_NO_FRAMES) throw new CoreOutOfMemoryError(`no arena frames left for domain ${domid}`);
    check(rc === 0, `cannot create domain ${domid}`);
  }

  /** Destroys a domain: "freed", or "dying" while other domains still map its grants. */
  destroyDomain(domid: number): "freed" | "dying" {
    this.liveDomain(domid);
    return this.raw.domainDestroy(domid) === 0 ? "freed" : "dying";
  }

  domainState(domid: number): DomainState {
    index("domid", domid, LIMITS.domains);
    return DOMAIN_STATES[this.raw.domainState(domid)] ?? "free";
  }

  private liveDomain(domid: number, what = "domid"): void {
    index(what, domid, LIMITS.domains);
    check(this.raw.domainState(domid) === DOM_LIVE, `domain ${domid} does not exist`);
  }
  private pageRange(domid: number, gfn: number, offset: number, length: number): void {
    this.liveDomain(domid);
    const pages = this.raw.domainNrPages(domid);
    check(Number.isInteger(gfn) && gfn >= 0 && gfn < pages, `gfn ${gfn} is outside domain ${domid}'s ${pages} pages`);
    check(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= PAGE_SIZE,
      `offset ${offset} + length ${length} must stay within one ${PAGE_SIZE}-byte page`);
  }

  /** The guest's own CPU writing its memory. */
  guestWrite(domid: number, gfn: number, offset: number, bytes: Uint8Array): void {
    this.pageRange(domid, gfn, offset, bytes.length);
    if (this.raw.guestWrite(domid, gfn, offset, this.put(bytes), bytes.length) !== 0) throw new CoreOutOfMemoryError("no arena frames left");
  }
  guestRead(domid: number, gfn: number, offset: number, length: number): Uint8Array {
    this.pageRange(domid, gfn, offset, length);
    if (this.raw.guestRead(domid, gfn, offset, this.staging, length) !== 0) throw new CoreOutOfMemoryError("no arena frames left");
    return this.take(length);
  }

  // ---- grant tables ----

  private grantRef(dom: number, ref: number): void {
    index("domid", dom, LIMITS.domains);
    check(this.raw.domainState(dom) !== DOM_FREE, `domain ${dom} does not exist`);
    const n = this.raw.domainGrantEntries(dom);
    check(Number.isInteger(ref) && ref >= 0 && ref < n, `grant ref ${ref} is outside domain ${dom}'s table of ${n} entries`);
  }

  /** gnttab_grant_foreign_access_ref: let `grantee` map page `gfn`. */
  grantAccess(dom: number, ref: number, grantee: number, gfn: number, options: { readonly?: boolean } = {}): void {
    this.grantRef(dom, ref);
    index("grantee", grantee, 0x10000);
    check(isU32(gfn), `gfn must be a u32, got ${gfn}`);
    this.raw.grantAccess(dom, ref, grantee, gfn, options.readonly ?? false);
  }
  /** Any bytes a guest may put in its own grant entry. */
  writeGrantEntry(dom: number, ref: number, entry: GrantEntry): void {
    this.grantRef(dom, ref);
    check(isU32(entry.flags) && entry.flags <= 0xffff && isU32(entry.domid) && entry.domid <= 0xffff && isU32(entry.frame), "flags and domid are u16, frame u32");
    this.raw.writeGrantEntry(dom, ref, entry.flags, entry.domid, entry.frame);
  }
  readGrantEntry(dom: number, ref: number): GrantEntry {
    this.grantRef(dom, ref);
    this.raw.readGrantEntry(dom, ref, this.staging);
    const v = new DataView(this.raw.memory.buffer, this.staging, GRANT_ENTRY_BYTES);
    return { flags: v.getUint16(GRANT_ENTRY_FLAGS, true), domid: v.getUint16(GRANT_ENTRY_DOMID, true), frame: v.getUint32(GRANT_ENTRY_FRAME, true) };
  }
  /** gnttab_end_foreign_access_ref: false (and no change) while the grantee has it mapped. */
  endForeignAccess(dom: number, ref: number): boolean {
    this.grantRef(dom, ref);
    return this.raw.endForeignAccess(dom, ref) === END_ACCESS_REVOKED;
  }
  grantPins(dom: number, ref: number): number {
    this.grantRef(dom, ref);
    return this.raw.grantPins(dom, ref);
  }
  /** GNTTABOP_map_grant_ref, with GNTMAP_host_map and optionally GNTMAP_readonly. */
  mapGrant(mapper: number, granter: number, ref: number, options: { readonly?: boolean } = {}): MapResult {
    this.liveDomain(mapper, "mapper domid");
    check(isU32(granter) && isU32(ref), `granter and ref must be u32, got ${granter} and ${ref}`);
    const h = this.raw.mapGrant(mapper, granter, ref, options.readonly ?? false);
    return h >= 0 ? { ok: true, handle: h } : { ok: false, status: h, name: gntstName(h) };
  }
  /** GNTTABOP_unmap_grant_ref: the GNTST status. */
  unmapGrant(mapper: number, handle: number): { status: number; name: GntstName | "unknown" } {
    check(isU32(mapper) && isU32(handle), `mapper and handle must be u32, got ${mapper} and ${handle}`);
    const s = this.raw.unmapGrant(mapper, handle);
    return { status: s, name: gntstName(s) };
  }
  mappedRead(mapper: number, handle: number, offset: number, length: number): Uint8Array {
    this.liveDomain(mapper, "mapper domid");
    index("handle", handle, LIMITS.maptrackHandles);
    check(isU32(offset) && isU32(length) && offset + length <= PAGE_SIZE, "offset + length must stay within the page");
    check(this.raw.mappedRead(mapper, handle, offset, this.staging, length) === 0, `handle ${handle} of domain ${mapper} is not mapped`);
    return this.take(length);
  }
  mappedWrite(mapper: number, handle: number, offset: number, bytes: Uint8Array): void {
    this.liveDomain(mapper, "mapper domid");
    index("handle", handle, LIMITS.maptrackHandles);
    check(isU32(offset) && offset + bytes.length <= PAGE_SIZE, "offset + length must stay within the page");
    const rc = this.raw.mappedWrite(mapper, handle, offset, this.put(bytes), bytes.length);
    check(rc !== MAPPED_ERR_UNMAPPED, `handle ${handle} of domain ${mapper} is not mapped`);
    check(rc !== MAPPED_ERR_READ_ONLY, `handle ${handle} of domain ${mapper} is mapped read-only`);
  }
  /** GNTTABOP_copy of one segment. Each side is a grant ref of `dom` or a frame of the caller's own memory. */
  grantCopy(
    caller: number,
    src: { ref: number; dom: number; offset: number } | { gfn: number; offset: number },
    dst: { ref: number; dom: number; offset: number } | { gfn: number; offset: number },
    length: number,
  ): { status: number; name: GntstName | "unknown" } {
    this.liveDomain(caller, "caller domid");
    const side = (s: typeof src) => ("ref" in s ? [true, s.dom, s.ref, s.offset] as const : [false, caller, s.gfn, s.offset] as const);
    const [sr, sd, sx, so] = side(src);
    const [dr, dd, dx, doff] = side(dst);
    check([sd, sx, so, dd, dx, doff, length].every(isU32), "grant copy arguments must be u32");
    const s = this.raw.grantCopy(caller, sr, sd, sx, so, dr, dd, dx, doff, length);
    return { status: s, name: gntstName(s) };
  }

  // ---- images (backing files) ----

  private image(id: number): void {
    index("image id", id, LIMITS.images);
    check(this.raw.imageExists(id), `image ${id} does not exist`);
  }
  createImage(id: number, sizeBytes: number): void {
    index("image id", id, LIMITS.images);
    check(!this.raw.imageExists(id), `image ${id} already exists`);
    check(isSafeCount(sizeBytes) && sizeBytes <= LIMITS.imageBytes, `image size must be 0..${LIMITS.imageBytes} bytes, got ${sizeBytes}`);
    if (this.raw.imageCreate(id, sizeBytes) !== 0) throw new CoreOutOfMemoryError("no arena frames left");
  }
  destroyImage(id: number): void {
    this.image(id);
    this.raw.imageDestroy(id);
  }
  resizeImage(id: number, sizeBytes: number): void {
    this.image(id);
    check(isSafeCount(sizeBytes) && sizeBytes <= LIMITS.imageBytes, `bad image size ${sizeBytes}`);
    this.raw.imageResize(id, sizeBytes);
  }
  imageSize(id: number): number {
    this.image(id);
    return this.raw.imageSize(id);
  }
  /** 4 KiB blocks that hold data (holes cost nothing). */
  imageBlocks(id: number): number {
    this.image(id);
    return this.raw.imageBlocks(id);
  }
  readImage(id: number, offset: number, length: number): Uint8Array {
    this.image(id);
    check(isSafeCount(offset) && isSafeCount(length) && offset + length <= this.raw.imageSize(id), `read of ${length} bytes at ${offset} is beyond image ${id}'s ${this.raw.imageSize(id)} bytes`);
    const out = new Uint8Array(length);
    for (let done = 0; done < length; done += this.stagingBytes) {
      const n = Math.min(this.stagingBytes, length - done);
      this.raw.imageRead(id, offset + done, this.staging, n);
      out.set(this.memory(this.staging, n), done);
    }
    return out;
  }
  /** Writes file bytes; writing past the end grows the file. */
  writeImage(id: number, offset: number, bytes: Uint8Array): void {
    this.image(id);
    check(isSafeCount(offset) && offset + bytes.length <= LIMITS.imageBytes, `write at ${offset} is beyond the largest image`);
    for (let done = 0; done < bytes.length; done += this.stagingBytes) {
      const chunk = bytes.subarray(done, done + this.stagingBytes);
      if (this.raw.imageWrite(id, offset + done, this.put(chunk), chunk.length) !== 0) throw new CoreOutOfMemoryError("no arena frames left");
    }
  }
  /** Punches a hole (FALLOC_FL_PUNCH_HOLE): the range reads as zeros and whole blocks are freed. */
  discardImage(id: number, offset: number, length: number): void {
    this.image(id);
    check(isSafeCount(offset) && isSafeCount(length) && offset + length <= this.raw.imageSize(id), `discard beyond image ${id}`);
    this.raw.imageDiscard(id, offset, length);
  }

  // ---- block devices ----

  private deviceId(dev: number): void {
    index("device id", dev, LIMITS.devices);
  }

  /** A loop device's mapping: `sectors` of image `image` starting at byte `offset` (lo_offset). */
  setImageDevice(dev: number, options: { image: number; offset?: number; sectors: number; readOnly?: boolean }): void {
    this.deviceId(dev);
    this.image(options.image);
    const offset = options.offset ?? 0;
    check(isSafeCount(offset) && isSafeCount(options.sectors), "offset and sectors must be non-negative integers");
    this.raw.deviceSetImage(dev, options.image, offset, options.sectors, options.readOnly ? DEV_READ_ONLY : 0);
  }

  /** A device-mapper table. Targets must be sorted, contiguous from sector 0, and non-empty. */
  setTableDevice(dev: number, targets: Target[], options: { readOnly?: boolean } = {}): void {
    this.deviceId(dev);
    check(targets.length > 0, "a table needs at least one target");
    const legs = targets.flatMap((t) => (t.type === "striped" ? t.legs : []));
    const bytes = targets.length * TARGET_BYTES + legs.length * LEG_BYTES;
    check(bytes <= LIMITS.tableBytes, `table too large: ${targets.length} targets and ${legs.length} stripe legs need ${bytes} bytes, the limit is ${LIMITS.tableBytes}`);
    const buf = new Uint8Array(bytes);
    const v = new DataView(buf.buffer);
    let next = 0;
    let leg = 0;
    targets.forEach((t, i) => {
      count(`target ${i} start`, t.start);
      check(t.start === next, `target ${i} starts at ${t.start}, expected ${next}: targets must be contiguous from sector 0`);
      check(Number.isSafeInteger(t.length) && t.length > 0, `target ${i} has length ${t.length}`);
      next += t.length;
      const o = i * TARGET_BYTES;
      v.setBigUint64(o + TARGET_START, BigInt(t.start), true);
      v.setBigUint64(o + TARGET_LENGTH, BigInt(t.length), true);
      v.setUint16(o + TARGET_TYPE, TARGET_CODE[t.type], true);
      if (t.type === "linear") {
        this.deviceId(t.device);
        check(isSafeCount(t.offset), `target ${i}: bad offset ${t.offset}`);
        v.setUint32(o + TARGET_DEVICE, t.device, true);
        v.setBigUint64(o + TARGET_OFFSET, BigInt(t.offset), true);
      } else if (t.type === "striped") {
        check(t.legs.length > 0 && t.legs.length <= 0xffff, `target ${i}: a striped target needs 1..65535 stripes`);
        t.legs.forEach((l, j) => count(`target ${i} leg ${j} offset`, l.offset));
        check(Number.isSafeInteger(t.chunkSectors) && t.chunkSectors > 0, `target ${i}: chunk size must be positive`);
        v.setUint16(o + TARGET_STRIPES, t.legs.length, true);
        v.setUint32(o + TARGET_FIRST_LEG, leg, true);
        v.setBigUint64(o + TARGET_CHUNK_SECTORS, BigInt(t.chunkSectors), true);
        leg += t.legs.length;
      }
    });
    legs.forEach((l, j) => {
      this.deviceId(l.device);
      const o = targets.length * TARGET_BYTES + j * LEG_BYTES;
      v.setUint32(o + LEG_DEVICE, l.device, true);
      v.setBigUint64(o + LEG_START, BigInt(l.offset), true);
    });
    check(this.raw.deviceSetTable(dev, this.put(buf), targets.length, legs.length, options.readOnly ? DEV_READ_ONLY : 0) === 0, "the data plane refused the table");
  }

  clearDevice(dev: number): void {
    this.deviceId(dev);
    this.raw.deviceClear(dev);
  }
  deviceSectors(dev: number): number {
    this.deviceId(dev);
    return this.raw.deviceSectors(dev);
  }

  /** Reads whole sectors through the device's mapping. Throws EIO-like errors as values: null on an I/O error. */
  readDevice(dev: number, sector: number, count: number): Uint8Array | null {
    this.deviceId(dev);
    check(isSafeCount(sector) && isSafeCount(count) && count * SECTOR_SIZE <= this.stagingBytes, `read of ${count} sectors at ${sector}: bad range (at most ${this.stagingBytes / SECTOR_SIZE} sectors per call)`);
    return this.raw.deviceIO(dev, sector, count, IO_READ, this.staging) === IO_OK ? this.take(count * SECTOR_SIZE) : null;
  }
  /** Writes whole sectors; false on an I/O error (error target, beyond the end, read-only). */
  writeDevice(dev: number, sector: number, bytes: Uint8Array): boolean {
    this.deviceId(dev);
    check(bytes.length % SECTOR_SIZE === 0, `writes are whole ${SECTOR_SIZE}-byte sectors, got ${bytes.length} bytes`);
    check(isSafeCount(sector), `bad sector ${sector}`);
    return this.raw.deviceIO(dev, sector, bytes.length / SECTOR_SIZE, IO_WRITE, this.put(bytes)) === IO_OK;
  }
  discardDevice(dev: number, sector: number, count: number): boolean {
    this.deviceId(dev);
    check(isSafeCount(sector) && isU32(count), `bad discard range ${sector}+${count}`);
    return this.raw.deviceIO(dev, sector, count, IO_DISCARD, this.staging) === IO_OK;
  }

  // ---- blkif rings: the frontend ----

  /** Initialises the shared ring on the guest's pages `gfns` (1, 2, 4, 8 or 16 of them). */
  frontendInit(dom: number, gfns: number[], options: { abi?: BlkifAbi } = {}): number {
    this.liveDomain(dom);
    const order = Math.log2(gfns.length);
    check(Number.isInteger(order) && order <= LIMITS.ringPageOrder, `a ring has ${RING_PAGE_COUNTS} pages, got ${gfns.length}`);
    const pages = this.raw.domainNrPages(dom);
    gfns.forEach((g) => check(Number.isInteger(g) && g >= 0 && g < pages, `gfn ${g} is outside domain ${dom}'s memory`));
    const r = this.raw.frontendInit(dom, this.put(new Uint8Array(new Uint32Array(gfns).buffer)), order, ABI_CODE[options.abi ?? "x86_64-abi"]);
    check(r !== FRONT_ERR_FULL, `at most ${LIMITS.frontendRings} frontend rings`);
    if (r < 0) throw new CoreOutOfMemoryError("no arena frames left for the ring");
    return r;
  }
  private frontRing(r: number): void {
    index("frontend ring", r, LIMITS.frontendRings);
    check(this.raw.frontendState(r) !== FRONT_FREE, `frontend ring ${r} does not exist`);
  }
  frontendFree(r: number): void {
    this.frontRing(r);
    this.raw.frontendFree(r);
  }
  frontendFreeSlots(r: number): number {
    this.frontRing(r);
    return this.raw.frontendFreeSlots(r);
  }
  /** Queues encoded requests (one ring entry each) at req_prod_pvt; returns how many fitted. */
  frontendQueue(r: number, entries: Uint8Array[] | Uint8Array): number {
    this.frontRing(r);
    const buf = Array.isArray(entries) ? concat(entries) : entries;
    return this.raw.frontendQueue(r, this.put(buf), this.countEntries(r, buf.length));
  }
  private countEntries(r: number, bytes: number): number {
    const entry = this.raw.frontendEntryBytes(r);
    check(bytes % entry === 0, `requests must be whole ${entry}-byte entries, got ${bytes} bytes`);
    return bytes / entry;
  }
  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: true when the backend must be notified. */
  frontendPush(r: number): boolean {
    this.frontRing(r);
    return this.raw.frontendPush(r);
  }
  /** Responses since the last call, or "broken" once the backend overran the ring. */
  frontendConsume(r: number, max = 1 << 16): BlkifResponse[] | "broken" {
    this.frontRing(r);
    check(Number.isInteger(max) && max >= 1, `max must be a positive integer, got ${max}`);
    const n = this.raw.frontendConsume(r, this.staging, Math.min(max, this.stagingBytes / RESPONSE_OUT_BYTES));
    if (n < 0) return "broken";
    const bytes = this.memory(this.staging, n * RESPONSE_OUT_BYTES);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: BlkifResponse[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * RESPONSE_OUT_BYTES;
      const status = v.getInt16(o + RESPONSE_STATUS, true);
      out.push({ id: v.getBigUint64(o + RESPONSE_ID, true), operation: v.getUint8(o + RESPONSE_OPERATION), status, statusName: statusName(status) });
    }
    return out;
  }
  /** RING_FINAL_CHECK_FOR_RESPONSES: true when more arrived meanwhile. */
  frontendFinalCheck(r: number): boolean {
    this.frontRing(r);
    return this.raw.frontendFinalCheck(r);
  }
  frontendIndices(r: number): { req_prod_pvt: number; rsp_cons: number; entries: number; state: "live" | "broken" } {
    this.frontRing(r);
    return {
      req_prod_pvt: this.raw.frontendReqProdPvt(r),
      rsp_cons: this.raw.frontendRspCons(r),
      entries: this.raw.frontendEntries(r),
      state: this.raw.frontendState(r) === FRONT_BROKEN ? "broken" : "live",
    };
  }
  /** The four shared indices, read from the guest's first ring page. */
  ringHeader(dom: number, gfn: number): RingHeader {
    const b = this.guestRead(dom, gfn, 0, RING_RSP_EVENT + 4);
    const v = new DataView(b.buffer);
    return {
      req_prod: v.getUint32(RING_OFFSETS.req_prod, true),
      req_event: v.getUint32(RING_OFFSETS.req_event, true),
      rsp_prod: v.getUint32(RING_OFFSETS.rsp_prod, true),
      rsp_event: v.getUint32(RING_OFFSETS.rsp_event, true),
    };
  }

  // ---- blkif rings: the backend ----

  /** connect_ring: map the ring grants and serve `device` (the vbd) through them. */
  backendConnect(backDom: number, frontDom: number, options: BackendOptions): ConnectResult {
    this.liveDomain(backDom);
    const order = Math.log2(options.grefs.length);
    check(Number.isInteger(order) && order <= LIMITS.ringPageOrder, `a ring has ${RING_PAGE_COUNTS} pages, got ${options.grefs.length} grefs`);
    options.grefs.forEach((g) => check(isU32(g), `bad gref ${g}`));
    this.deviceId(options.device);
    check(isSafeCount(options.sectors), `bad vbd size ${options.sectors}`);
    const lbs = options.logicalBlockSize ?? SECTOR_SIZE;
    check(Number.isInteger(lbs) && lbs >= MIN_LOGICAL_BLOCK_SIZE && lbs <= MAX_LOGICAL_BLOCK_SIZE && (lbs & (lbs - 1)) === 0,
      `logical block size must be ${MIN_LOGICAL_BLOCK_SIZE}..${MAX_LOGICAL_BLOCK_SIZE} and a power of two, got ${lbs}`);
    check(isU32(frontDom), `bad frontend domid ${frontDom}`);
    const flags = (options.readOnly ? VBD_READ_ONLY : 0) | (options.discard ? VBD_DISCARD : 0);
    const r = this.raw.backendConnect(backDom, frontDom, this.put(new Uint8Array(new Uint32Array(options.grefs).buffer)), order,
      ABI_CODE[options.abi ?? "x86_64-abi"], options.device, flags, options.sectors, lbs);
    if (r >= 0) return { ok: true, ring: r };
    if (r === BACK_ERR_MAP) {
      const s = this.raw.backendLastMapStatus();
      return { ok: false, reason: "grant-map", status: s, name: gntstName(s) };
    }
    if (r === BACK_ERR_BOGUS) return { ok: false, reason: "bogus-ring" };
    check(r !== BACK_ERR_FULL, `at most ${LIMITS.backendRings} backend rings`);
    throw new CoreUsageError("backendConnect: bad arguments");
  }
  private backRing(r: number): void {
    index("backend ring", r, LIMITS.backendRings);
    check(this.raw.backendState(r) !== BACK_FREE, `backend ring ${r} is not connected`);
  }
  backendDisconnect(r: number): void {
    this.backRing(r);
    this.raw.backendDisconnect(r);
  }
  /** do_block_io_op over at most `budget` requests, in one call into WebAssembly. */
  backendProcess(r: number, budget = 1 << 20): ProcessResult {
    this.backRing(r);
    check(Number.isInteger(budget) && budget > 0 && budget <= MAX_BUDGET, `budget must be in 1..${MAX_BUDGET}, got ${budget}`);
    const v = this.raw.backendProcess(r, budget);
    return { answered: v >>> PROCESS_ANSWERED_SHIFT, notify: (v & PROCESS_NOTIFY) !== 0, more: (v & PROCESS_MORE) !== 0, bogus: (v & PROCESS_BOGUS) !== 0 };
  }
  backendIndices(r: number): { req_cons: number; rsp_prod_pvt: number; entries: number; state: "connected" | "bogus" } {
    this.backRing(r);
    return {
      req_cons: this.raw.backendReqCons(r),
      rsp_prod_pvt: this.raw.backendRspProdPvt(r),
      entries: this.raw.backendEntries(r),
      state: this.raw.backendState(r) === BACK_BOGUS ? "bogus" : "connected",
    };
  }
  backendStats(r: number): { okay: number; error: number; eopnotsupp: number } {
    this.backRing(r);
    return { okay: this.raw.backendStat(r, STAT_OKAY), error: this.raw.backendStat(r, STAT_ERROR), eopnotsupp: this.raw.backendStat(r, STAT_EOPNOTSUPP) };
  }

  // ---- checksums ----

  /** CRC-32C (Castagnoli) of `bytes`, continuing from `seed`. */
  crc32c(bytes: Uint8Array, seed = 0): number {
    let c = seed >>> 0;
    for (let done = 0; done < bytes.length || (done === 0 && bytes.length === 0); done += this.stagingBytes) {
      const chunk = bytes.subarray(done, done + this.stagingBytes);
      c = this.raw.crc32c(this.put(chunk), chunk.length, c);
      if (bytes.length === 0) break;
    }
    return c;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
