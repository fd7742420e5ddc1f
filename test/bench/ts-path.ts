// The same data path as the WebAssembly data plane, written the way a
// competent engineer would first write it in TypeScript: guest pages are
// Uint8Arrays, the grant table and the shared ring live in those pages with
// the Xen byte layouts, the image is a sparse Map of 4 KiB blocks.
// Kept only as the baseline of the benchmark (test/bench/run.ts); it must
// move the same bytes as assembly/ (checked by run.ts before measuring).
//
// Covered: grant tables v1 (map/unmap with pins, the type / grantee /
// read-only checks), the blkif ring (64-byte header, 112-byte native x86_64
// entries, free-running u32 indices, push-and-check, final check, overflow
// checks), blkback's READ / WRITE / WRITE_BARRIER / FLUSH_DISKCACHE with the
// same validation, dm-linear tables, loop devices, sparse images. Not
// covered (answered EOPNOTSUPP or not modelled): DISCARD, INDIRECT, the
// x86_32 ABI, striped targets, checkpoints.

export const PAGE_SIZE = 4096;
const SECTORS_PER_PAGE = 8;

// ---- grant tables (xen/include/public/grant_table.h, v1) ----

export const GTF_permit_access = 1;
const GTF_type_mask = 3;
export const GTF_readonly = 1 << 2;
const GTF_reading = 1 << 3;
const GTF_writing = 1 << 4;
const GTF_sub_page = 1 << 8;
const GNTST_okay = 0;
const GNTST_general_error = -1;
const GNTST_bad_domain = -2;
const GNTST_bad_gntref = -3;
const GNTST_bad_handle = -4;
const GNTST_no_device_space = -7;
const GRANT_ENTRIES_PER_FRAME = PAGE_SIZE / 8;
const MAPTRACK_ENTRIES = 4096;

export class Domain {
  /** Guest memory, one Uint8Array per page, populated on first use. */
  private readonly pages: (Uint8Array | undefined)[];
  /** The shared grant table: frames of 8-byte v1 entries the guest writes. */
  private readonly grantFrames: DataView[] = [];
  // Xen's private active entry per ref.
  private readonly pins: Uint32Array;
  private readonly writablePins: Uint32Array;
  private readonly activePage: (Uint8Array | undefined)[];
  private readonly activeMapper: Int32Array;
  // This domain's maptrack: its mappings of other domains' grants, by handle.
  private readonly mapGranter = new Int32Array(MAPTRACK_ENTRIES).fill(-1);
  private readonly mapRef = new Uint32Array(MAPTRACK_ENTRIES);
  private readonly mapReadonly = new Uint8Array(MAPTRACK_ENTRIES);
  private readonly mapPage: (Uint8Array | undefined)[] = new Array(MAPTRACK_ENTRIES).fill(undefined);
  private readonly freeHandles: number[] = [];

  constructor(readonly world: World, readonly domid: number, readonly nrPages: number, grantFrames: number) {
    this.pages = new Array(nrPages).fill(undefined);
    for (let i = 0; i < grantFrames; i++) this.grantFrames.push(new DataView(new ArrayBuffer(PAGE_SIZE)));
    const entries = grantFrames * GRANT_ENTRIES_PER_FRAME;
    this.pins = new Uint32Array(entries);
    this.writablePins = new Uint32Array(entries);
    this.activePage = new Array(entries).fill(undefined);
    this.activeMapper = new Int32Array(entries);
    for (let h = MAPTRACK_ENTRIES - 1; h >= 0; h--) this.freeHandles.push(h);
  }

  get grantEntries(): number { return this.grantFrames.length * GRANT_ENTRIES_PER_FRAME; }

  /** The page behind guest frame `gfn`, or undefined outside the domain's memory. */
  page(gfn: number): Uint8Array | undefined {
    if (gfn >= this.nrPages) return undefined;
    let p = this.pages[gfn];
    if (p === undefined) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages[gfn] = p;
    }
    return p;
  }

  /** gnttab_grant_foreign_access_ref: domid and frame first, flags last. */
  grantAccess(ref: number, grantee: number, gfn: number, readonly: boolean): void {
    const v = this.grantFrames[ref >>> 9];
    const o = (ref & 511) << 3;
    v.setUint16(o + 2, grantee, true);
    v.setUint32(o + 4, gfn, true);
    v.setUint16(o, GTF_permit_access | (readonly ? GTF_readonly : 0), true);
  }

  /** The shared entry as the guest sees it. */
  readGrantEntry(ref: number): { flags: number; domid: number; frame: number } {
    const v = this.grantFrames[ref >>> 9];
    const o = (ref & 511) << 3;
    return { flags: v.getUint16(o, true), domid: v.getUint16(o + 2, true), frame: v.getUint32(o + 4, true) };
  }

  /** GNTTABOP_map_grant_ref: maps `ref` of `granter` into this domain. A handle, or a GNTST code. */
  mapGrant(granterId: number, ref: number, readonly: boolean): number {
    const granter = this.world.domains.get(granterId);
    if (granter === undefined) return GNTST_bad_domain;
    if (ref >= granter.grantEntries) return GNTST_bad_gntref;
    if (this.freeHandles.length === 0) return GNTST_no_device_space;
    const v = granter.grantFrames[ref >>> 9];
    const o = (ref & 511) << 3;
    const flags = v.getUint16(o, true);
    let page: Uint8Array | undefined;
    if (granter.pins[ref] === 0) {
      if ((flags & (GTF_type_mask | GTF_sub_page)) !== GTF_permit_access) return GNTST_general_error;
      if (v.getUint16(o + 2, true) !== this.domid) return GNTST_general_error;
      if (!readonly && (flags & GTF_readonly) !== 0) return GNTST_general_error;
      page = granter.page(v.getUint32(o + 4, true));
      if (page === undefined) return GNTST_general_error;
      granter.activePage[ref] = page;
      granter.activeMapper[ref] = this.domid;
    } else {
      if (granter.activeMapper[ref] !== this.domid) return GNTST_general_error;
      if (!readonly && (flags & GTF_readonly) !== 0) return GNTST_general_error;
      page = granter.activePage[ref]!;
    }
    granter.pins[ref]++;
    if (!readonly) granter.writablePins[ref]++;
    v.setUint16(o, v.getUint16(o, true) | GTF_reading | (readonly ? 0 : GTF_writing), true);
    const handle = this.freeHandles.pop()!;
    this.mapGranter[handle] = granterId;
    this.mapRef[handle] = ref;
    this.mapReadonly[handle] = readonly ? 1 : 0;
    this.mapPage[handle] = page;
    return handle;
  }

  /** The page behind a live handle. */
  mappedPage(handle: number): Uint8Array | undefined {
    return this.mapPage[handle];
  }

  /** GNTTABOP_unmap_grant_ref. */
  unmapGrant(handle: number): number {
    if (handle < 0 || handle >= MAPTRACK_ENTRIES || this.mapGranter[handle] < 0) return GNTST_bad_handle;
    const granter = this.world.domains.get(this.mapGranter[handle])!;
    const ref = this.mapRef[handle];
    const pins = --granter.pins[ref];
    const wpins = this.mapReadonly[handle] ? granter.writablePins[ref] : --granter.writablePins[ref];
    let clear = 0;
    if (wpins === 0) clear |= GTF_writing;
    if (pins === 0) clear |= GTF_reading;
    if (clear !== 0) {
      const v = granter.grantFrames[ref >>> 9];
      const o = (ref & 511) << 3;
      v.setUint16(o, v.getUint16(o, true) & ~clear, true);
    }
    this.mapGranter[handle] = -1;
    this.mapPage[handle] = undefined;
    this.freeHandles.push(handle);
    return GNTST_okay;
  }
}

// ---- images, loop devices, dm-linear ----

export class SparseImage {
  /** 4 KiB block number -> its bytes; a missing block is a hole and reads as zeros. */
  readonly blocks = new Map<number, Uint8Array>();
  constructor(public size: number) {}

  read(offset: number, dst: Uint8Array, dstOffset: number, len: number): void {
    while (len > 0) {
      const block = Math.floor(offset / PAGE_SIZE);
      const inBlock = offset % PAGE_SIZE;
      const n = Math.min(len, PAGE_SIZE - inBlock);
      const b = this.blocks.get(block);
      if (b === undefined) dst.fill(0, dstOffset, dstOffset + n);
      else dst.set(b.subarray(inBlock, inBlock + n), dstOffset);
      offset += n; dstOffset += n; len -= n;
    }
  }

  write(offset: number, src: Uint8Array, srcOffset: number, len: number): void {
    while (len > 0) {
      const block = Math.floor(offset / PAGE_SIZE);
      const inBlock = offset % PAGE_SIZE;
      const n = Math.min(len, PAGE_SIZE - inBlock);
      let b = this.blocks.get(block);
      if (b === undefined) {
        b = new Uint8Array(PAGE_SIZE);
        this.blocks.set(block, b);
      }
      b.set(src.subarray(srcOffset, srcOffset + n), inBlock);
      offset += n; srcOffset += n; len -= n;
    }
  }
}

export const IO_READ = 0;
export const IO_WRITE = 1;
const IO_OK = 0;
const IO_ERROR = -5;
const IO_READ_ONLY = -30;
const MAX_STACK_DEPTH = 16;

export type LinearTarget = { start: number; length: number; type: "linear"; device: number; offset: number } | { start: number; length: number; type: "error" };

export type BlockDevice =
  | { kind: "loop"; image: SparseImage; offset: number; sectors: number; readOnly: boolean }
  | { kind: "table"; targets: LinearTarget[]; sectors: number; readOnly: boolean };

// ---- the blkif ring (xen/include/public/io/ring.h, blkif.h, native x86_64) ----

const RING_HEADER = 64;
const ENTRY = 112;
const REQ_PROD = 0;
const REQ_EVENT = 4;
const RSP_PROD = 8;
const RSP_EVENT = 12;
export const RESPONSE_OUT_BYTES = 16;

const OP_READ = 0;
const OP_WRITE = 1;
const OP_WRITE_BARRIER = 2;
const OP_FLUSH_DISKCACHE = 3;
const RSP_OKAY = 0;
const RSP_ERROR = -1;
const RSP_EOPNOTSUPP = -2;
const MAX_SEGMENTS = 11;

/** nr_ents for a one-page ring of 112-byte entries: round_down_pow2((4096 - 64) / 112) = 32. */
const RING_ENTRIES = 1 << Math.floor(Math.log2((PAGE_SIZE - RING_HEADER) / ENTRY));

/** RING_PUSH_*_AND_CHECK_NOTIFY on a shared page. */
function pushAndCheckNotify(ring: DataView, prodOff: number, eventOff: number, newProd: number): boolean {
  const old = ring.getUint32(prodOff, true);
  ring.setUint32(prodOff, newProd, true);
  return ((newProd - ring.getUint32(eventOff, true)) >>> 0) < ((newProd - old) >>> 0);
}

/** The guest's blkfront ring on one of its pages. */
export class Frontend {
  private reqProdPvt = 0;
  private rspCons = 0;
  private broken = false;
  private readonly ring: Uint8Array;
  private readonly view: DataView;
  private readonly rsp = new Uint8Array(RESPONSE_OUT_BYTES);
  private readonly rspView = new DataView(this.rsp.buffer);

  constructor(dom: Domain, gfn: number) {
    this.ring = dom.page(gfn)!;
    this.view = new DataView(this.ring.buffer, this.ring.byteOffset, PAGE_SIZE);
    this.ring.fill(0);
    this.view.setUint32(REQ_EVENT, 1, true);
    this.view.setUint32(RSP_EVENT, 1, true);
  }

  freeSlots(): number {
    return RING_ENTRIES - ((this.reqProdPvt - this.rspCons) >>> 0);
  }

  /** Copies `count` encoded requests from `src` into the ring; returns how many fitted. */
  queue(src: Uint8Array, count: number): number {
    const n = Math.min(count, this.freeSlots());
    for (let i = 0; i < n; i++) {
      const slot = this.reqProdPvt & (RING_ENTRIES - 1);
      this.ring.set(src.subarray(i * ENTRY, (i + 1) * ENTRY), RING_HEADER + slot * ENTRY);
      this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
    }
    return n;
  }

  push(): boolean {
    return pushAndCheckNotify(this.view, REQ_PROD, REQ_EVENT, this.reqProdPvt);
  }

  /** Consumes up to `max` responses into `out` (id u64, operation u8, status i16 at +10; 16 bytes each); -1 if the backend is bogus. */
  consume(out: DataView, max: number): number {
    if (this.broken) return -1;
    const rp = this.view.getUint32(RSP_PROD, true);
    if (((rp - this.rspCons) >>> 0) > RING_ENTRIES) {
      this.broken = true;
      return -1;
    }
    let n = 0;
    while (this.rspCons !== rp && n < max) {
      const off = RING_HEADER + (this.rspCons & (RING_ENTRIES - 1)) * ENTRY;
      this.rsp.set(this.ring.subarray(off, off + RESPONSE_OUT_BYTES)); // private copy first
      const o = n * RESPONSE_OUT_BYTES;
      out.setUint32(o, this.rspView.getUint32(0, true), true);
      out.setUint32(o + 4, this.rspView.getUint32(4, true), true);
      out.setUint8(o + 8, this.rspView.getUint8(8));
      out.setUint8(o + 9, 0);
      out.setInt16(o + 10, this.rspView.getInt16(10, true), true);
      out.setUint32(o + 12, 0, true);
      this.rspCons = (this.rspCons + 1) >>> 0;
      n++;
    }
    return n;
  }

  finalCheck(): boolean {
    if (this.view.getUint32(RSP_PROD, true) !== this.rspCons) return true;
    this.view.setUint32(RSP_EVENT, (this.rspCons + 1) >>> 0, true);
    return this.view.getUint32(RSP_PROD, true) !== this.rspCons;
  }
}

export interface ProcessResult { answered: number; notify: boolean; more: boolean; bogus: boolean }

/** blkback's half: maps the ring grant at connect, then serves `device` through it. */
export class Backend {
  private reqCons: number;
  private rspProdPvt: number;
  private bogus = false;
  private readonly ringHandle: number;
  private readonly ring: Uint8Array;
  private readonly view: DataView;
  private readonly req = new Uint8Array(ENTRY); // private copy of the request in hand
  private readonly reqView = new DataView(this.req.buffer);
  private readonly handles = new Int32Array(MAX_SEGMENTS);
  readonly stats = { okay: 0, error: 0, eopnotsupp: 0 };

  constructor(
    private readonly world: World,
    private readonly back: Domain,
    private readonly frontDom: number,
    ringRef: number,
    private readonly device: number,
    private readonly sectors: number,
    private readonly readOnly = false,
    private readonly logicalBlockSize = 512,
  ) {
    const h = back.mapGrant(frontDom, ringRef, false);
    if (h < 0) throw new Error(`cannot map the ring grant: ${h}`);
    this.ringHandle = h;
    this.ring = back.mappedPage(h)!;
    this.view = new DataView(this.ring.buffer, this.ring.byteOffset, PAGE_SIZE);
    const rspProd = this.view.getUint32(RSP_PROD, true);
    if (((this.view.getUint32(REQ_PROD, true) - rspProd) >>> 0) > RING_ENTRIES) throw new Error("bogus ring at connect");
    this.reqCons = rspProd;
    this.rspProdPvt = rspProd;
  }

  disconnect(): void {
    this.back.unmapGrant(this.ringHandle);
  }

  /** do_block_io_op over at most `budget` requests. */
  process(budget: number): ProcessResult {
    const result: ProcessResult = { answered: 0, notify: false, more: false, bogus: false };
    if (this.bogus) {
      result.bogus = true;
      return result;
    }
    for (;;) {
      const rp = this.view.getUint32(REQ_PROD, true);
      if (((rp - this.rspProdPvt) >>> 0) > RING_ENTRIES) {
        this.bogus = true;
        result.bogus = true;
        break;
      }
      while (this.reqCons !== rp) {
        if (((this.reqCons - this.rspProdPvt) >>> 0) >= RING_ENTRIES) break;
        if (result.answered === budget) {
          result.more = true;
          break;
        }
        const off = RING_HEADER + (this.reqCons & (RING_ENTRIES - 1)) * ENTRY;
        this.req.set(this.ring.subarray(off, off + ENTRY)); // copy the slot before looking at it
        this.reqCons = (this.reqCons + 1) >>> 0;
        this.handleRequest(this.rspProdPvt);
        this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
        result.answered++;
      }
      if (result.more) break;
      if (!this.finalCheck()) break;
    }
    if (result.answered > 0) result.notify = pushAndCheckNotify(this.view, RSP_PROD, RSP_EVENT, this.rspProdPvt);
    return result;
  }

  private unconsumed(): number {
    const req = (this.view.getUint32(REQ_PROD, true) - this.reqCons) >>> 0;
    const rsp = RING_ENTRIES - ((this.reqCons - this.rspProdPvt) >>> 0);
    return Math.min(req, rsp);
  }

  private finalCheck(): boolean {
    if (this.unconsumed() !== 0) return true;
    this.view.setUint32(REQ_EVENT, (this.reqCons + 1) >>> 0, true);
    return this.unconsumed() !== 0;
  }

  private handleRequest(slot: number): void {
    const op = this.req[0];
    const status = op <= OP_FLUSH_DISKCACHE ? this.readWrite(op) : RSP_EOPNOTSUPP;
    // Response: id u64 @0 (echoed), operation u8 @8, status i16 @10.
    const idLo = this.reqView.getUint32(8, true);
    const idHi = this.reqView.getUint32(12, true);
    const off = RING_HEADER + (slot & (RING_ENTRIES - 1)) * ENTRY;
    this.view.setUint32(off, idLo, true);
    this.view.setUint32(off + 4, idHi, true);
    this.view.setUint8(off + 8, op);
    this.view.setInt16(off + 10, status, true);
    if (status === RSP_OKAY) this.stats.okay++;
    else if (status === RSP_ERROR) this.stats.error++;
    else this.stats.eopnotsupp++;
  }

  /** dispatch_rw_block_io: validate, map every segment, move the data, unmap. */
  private readWrite(op: number): number {
    const r = this.reqView;
    const isRead = op === OP_READ;
    const flush = op === OP_WRITE_BARRIER || op === OP_FLUSH_DISKCACHE;
    const nseg = r.getUint8(1);
    if ((nseg === 0 && !flush) || nseg > MAX_SEGMENTS) return RSP_ERROR;
    let nrSects = 0;
    for (let i = 0; i < nseg; i++) {
      const first = r.getUint8(24 + i * 8 + 4);
      const last = r.getUint8(24 + i * 8 + 5);
      if (last >= SECTORS_PER_PAGE || last < first) return RSP_ERROR;
      nrSects += last - first + 1;
    }
    const sector = r.getUint32(16, true) + r.getUint32(20, true) * 2 ** 32;
    if (!isRead && this.readOnly) return RSP_ERROR;
    if (nrSects !== 0 && sector + nrSects > this.sectors) return RSP_ERROR;
    const lbsMask = this.logicalBlockSize / 512 - 1;
    for (let i = 0; i < nseg; i++) {
      const nsec = r.getUint8(24 + i * 8 + 5) - r.getUint8(24 + i * 8 + 4) + 1;
      if (((sector | nsec) & lbsMask) !== 0) return RSP_ERROR;
    }
    for (let i = 0; i < nseg; i++) {
      const h = this.back.mapGrant(this.frontDom, r.getUint32(24 + i * 8, true), !isRead);
      if (h < 0) {
        for (let j = 0; j < i; j++) this.back.unmapGrant(this.handles[j]);
        return RSP_ERROR;
      }
      this.handles[i] = h;
    }
    let status = RSP_OKAY;
    let at = sector;
    for (let i = 0; i < nseg; i++) {
      const first = r.getUint8(24 + i * 8 + 4);
      const nsec = r.getUint8(24 + i * 8 + 5) - first + 1;
      const page = this.back.mappedPage(this.handles[i])!;
      if (this.world.deviceIO(this.device, at, nsec, isRead ? IO_READ : IO_WRITE, page, first * 512) !== IO_OK) {
        status = RSP_ERROR;
        break;
      }
      at += nsec;
    }
    for (let i = 0; i < nseg; i++) this.back.unmapGrant(this.handles[i]);
    return status;
  }
}

/** Domains, images and block devices of one emulated host. */
export class World {
  readonly domains = new Map<number, Domain>();
  readonly images = new Map<number, SparseImage>();
  readonly devices = new Map<number, BlockDevice>();

  createDomain(domid: number, nrPages = 1024, grantFrames = 4): Domain {
    const d = new Domain(this, domid, nrPages, grantFrames);
    this.domains.set(domid, d);
    return d;
  }
  createImage(id: number, size: number): SparseImage {
    const img = new SparseImage(size);
    this.images.set(id, img);
    return img;
  }
  setLoopDevice(dev: number, image: number, offset: number, sectors: number, readOnly = false): void {
    this.devices.set(dev, { kind: "loop", image: this.images.get(image)!, offset, sectors, readOnly });
  }
  setTableDevice(dev: number, targets: LinearTarget[], readOnly = false): void {
    const last = targets[targets.length - 1];
    this.devices.set(dev, { kind: "table", targets, sectors: last.start + last.length, readOnly });
  }

  /** Moves `nsect` sectors between device `dev` at `sector` and `buf` at `bufOffset`. */
  deviceIO(dev: number, sector: number, nsect: number, op: number, buf: Uint8Array, bufOffset: number, depth = 0): number {
    const d = this.devices.get(dev);
    if (d === undefined || depth >= MAX_STACK_DEPTH) return IO_ERROR;
    if (sector + nsect > d.sectors) return IO_ERROR;
    if (op !== IO_READ && d.readOnly) return IO_READ_ONLY;
    if (d.kind === "loop") {
      const offset = d.offset + sector * 512;
      const bytes = nsect * 512;
      const img = d.image;
      if (op === IO_READ) {
        const avail = offset >= img.size ? 0 : Math.min(bytes, img.size - offset);
        if (avail > 0) img.read(offset, buf, bufOffset, avail);
        if (avail < bytes) buf.fill(0, bufOffset + avail, bufOffset + bytes);
      } else {
        if (offset + bytes > img.size) img.size = offset + bytes;
        img.write(offset, buf, bufOffset, bytes);
      }
      return IO_OK;
    }
    const targets = d.targets;
    let i = findTarget(targets, sector);
    while (nsect > 0) {
      const t = targets[i];
      const o = sector - t.start;
      const piece = Math.min(nsect, t.length - o);
      if (t.type !== "linear") return IO_ERROR;
      const rc = this.deviceIO(t.device, t.offset + o, piece, op, buf, bufOffset, depth + 1);
      if (rc !== IO_OK) return rc;
      sector += piece; nsect -= piece; i++;
      bufOffset += piece * 512;
    }
    return IO_OK;
  }
}

/** Binary search for the target holding `sector`. */
function findTarget(targets: LinearTarget[], sector: number): number {
  let lo = 0;
  let hi = targets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (targets[mid].start <= sector) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
