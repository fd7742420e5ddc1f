// Shared helpers for the property tests: the blkif byte layouts and the
// other numbers of Xen's and Linux's headers, written out again from the
// specification (docs/xen-protocol.md, "The x86_64 layout";
// reference-checks.md §7, §8), independent of assembly/abi.ts and
// web/src/core/abi.ts so that both can be checked against them; u32/u64
// arithmetic; and a guest's raw view of its own ring.

import type { DataPlane } from "../../web/src/core/data-plane";
import type { BlkifAbi } from "../../web/src/core/abi";

export const PAGE = 4096;
export const SECTOR = 512;
export const U64 = 1n << 64n;

/** Field offsets from the spec: native x86_64 (docs/xen-protocol.md) and packed x86_32 (reference-checks.md §7). */
export const SPEC: Record<BlkifAbi, {
  entry: number; id: number; sector: number; seg: number;
  discardNr: number; indirectHandle: number; indirectGrefs: number;
}> = {
  "x86_64-abi": { entry: 112, id: 8, sector: 16, seg: 24, discardNr: 24, indirectHandle: 24, indirectGrefs: 28 },
  "x86_32-abi": { entry: 108, id: 4, sector: 12, seg: 20, discardNr: 20, indirectHandle: 20, indirectGrefs: 24 },
};
export const ABIS: BlkifAbi[] = ["x86_64-abi", "x86_32-abi"];

export const OP = { READ: 0, WRITE: 1, WRITE_BARRIER: 2, FLUSH_DISKCACHE: 3, RESERVED_1: 4, DISCARD: 5, INDIRECT: 6 } as const;
export const RSP = { OKAY: 0, ERROR: -1, EOPNOTSUPP: -2 } as const;
export const GTF = { permit_access: 1, type_mask: 3, readonly: 4, reading: 8, writing: 16, sub_page: 256 } as const;
/** enum grant_status (grant_table.h; reference-checks.md §8). */
export const GNTST = {
  okay: 0, general_error: -1, bad_domain: -2, bad_gntref: -3, bad_handle: -4, bad_virt_addr: -5, bad_dev_addr: -6,
  no_device_space: -7, permission_denied: -8, bad_page: -9, bad_copy_arg: -10, address_too_big: -11, eagain: -12, no_space: -13,
} as const;

/**
 * The other numbers of the headers that the data plane's interface carries,
 * under the names assembly/abi.ts gives them (the header's name beside each
 * where it differs). abi.test.ts checks the build's copy of assembly/abi.ts
 * against this table, and the tables above.
 */
export const HEADERS = {
  PAGE_SIZE: 4096, // XEN_PAGE_SIZE
  SECTOR_SIZE: 512,
  SECTORS_PER_PAGE: 8, // XEN_PAGE_SIZE >> 9: last_sect's bound
  // io/ring.h, struct blkif_sring
  RING_HEADER_BYTES: 64, // offsetof(ring): four u32 indices and a 48-byte pvt union
  RING_REQ_PROD: 0,
  RING_REQ_EVENT: 4,
  RING_RSP_PROD: 8,
  RING_RSP_EVENT: 12,
  MAX_RING_PAGE_ORDER: 4, // XENBUS_MAX_RING_GRANT_ORDER (Linux xenbus.h)
  // io/blkif.h
  BLKIF_MAX_SEGMENTS_PER_REQUEST: 11,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: 8,
  SEGMENTS_PER_INDIRECT_FRAME: 512, // XEN_PAGE_SIZE / sizeof(struct blkif_request_segment)
  MAX_INDIRECT_SEGMENTS: 256, // Linux blkback common.h
  BLKIF_DISCARD_SECURE: 1, // (1<<0)
  BLKIF_REQ_OPERATION: 0,
  BLKIF_REQ_NR_SEGMENTS: 1,
  BLKIF_REQ_HANDLE: 2,
  BLKIF_DISCARD_FLAG: 1,
  BLKIF_INDIRECT_OP: 1,
  BLKIF_INDIRECT_NR_SEGMENTS: 2,
  SEGMENT_BYTES: 8, // struct blkif_request_segment: gref, first_sect, last_sect, padding
  SEGMENT_GREF: 0,
  SEGMENT_FIRST_SECT: 4,
  SEGMENT_LAST_SECT: 5,
  RESPONSE_ID: 0, // struct blkif_response
  RESPONSE_OPERATION: 8,
  RESPONSE_STATUS: 10,
  // grant_table.h
  GTF_invalid: 0,
  GTF_accept_transfer: 2,
  GTF_transitive: 3,
  DOMID_SELF: 0x7ff0,
  GRANT_ENTRY_BYTES: 8, // grant_entry_v1_t: flags u16, domid u16, frame u32
  GRANT_ENTRY_FLAGS: 0,
  GRANT_ENTRY_DOMID: 2,
  GRANT_ENTRY_FRAME: 4,
  MAX_GRANT_FRAMES: 64, // Xen's default gnttab_max_frames
  // Linux errno, negated as the block layer returns them
  IO_ERROR: -5, // EIO
  IO_NO_SPACE: -28, // ENOSPC
  IO_READ_ONLY: -30, // EROFS
} as const;

export const u32 = (x: number): number => x >>> 0;

/** nr_ents = round_down_pow2((4096 << order - 64) / entry), computed without abi.ts. */
export function specEntries(order: number, abi: BlkifAbi): number {
  const raw = Math.floor(((PAGE << order) - 64) / SPEC[abi].entry);
  let p = 1;
  while (p * 2 <= raw) p *= 2;
  return p;
}

/** RING_PUSH_*_AND_CHECK_NOTIFY: notify iff (u32)(new - event) < (u32)(new - old). */
export function pushNotify(oldProd: number, newProd: number, event: number): boolean {
  return u32(newProd - event) < u32(newProd - oldProd);
}

/** A guest's own view of a ring living in its pages: raw reads and writes, as its CPU does them. */
export class GuestRing {
  readonly entryBytes: number;
  readonly entries: number;
  constructor(readonly dp: DataPlane, readonly dom: number, readonly gfns: number[], readonly abi: BlkifAbi) {
    this.entryBytes = SPEC[abi].entry;
    this.entries = specEntries(Math.log2(gfns.length), abi);
  }
  slotOffset(i: number): number {
    return 64 + (u32(i) & (this.entries - 1)) * this.entryBytes;
  }
  write(off: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = off + done;
      const inPage = at % PAGE;
      const n = Math.min(bytes.length - done, PAGE - inPage);
      this.dp.guestWrite(this.dom, this.gfns[Math.floor(at / PAGE)], inPage, bytes.subarray(done, done + n));
      done += n;
    }
  }
  read(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const at = off + done;
      const inPage = at % PAGE;
      const n = Math.min(len - done, PAGE - inPage);
      out.set(this.dp.guestRead(this.dom, this.gfns[Math.floor(at / PAGE)], inPage, n), done);
      done += n;
    }
    return out;
  }
  readU32(off: number): number {
    return new DataView(this.read(off, 4).buffer).getUint32(0, true);
  }
  writeU32(off: number, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, u32(v), true);
    this.write(off, b);
  }
  header(): { req_prod: number; req_event: number; rsp_prod: number; rsp_event: number } {
    const v = new DataView(this.read(0, 16).buffer);
    return { req_prod: v.getUint32(0, true), req_event: v.getUint32(4, true), rsp_prod: v.getUint32(8, true), rsp_event: v.getUint32(12, true) };
  }
  /** SHARED_RING_INIT done by hand: zero the pages, then the four indices. */
  init(prod = 0): void {
    for (let i = 0; i < this.gfns.length; i++) this.dp.guestWrite(this.dom, this.gfns[i], 0, new Uint8Array(PAGE));
    this.writeU32(0, prod);
    this.writeU32(4, prod + 1);
    this.writeU32(8, prod);
    this.writeU32(12, prod + 1);
  }
  writeSlot(i: number, bytes: Uint8Array): void {
    this.write(this.slotOffset(i), bytes.subarray(0, this.entryBytes));
  }
  readSlot(i: number): Uint8Array {
    return this.read(this.slotOffset(i), this.entryBytes);
  }
  response(i: number): { id: bigint; op: number; status: number } {
    const v = new DataView(this.read(this.slotOffset(i), 12).buffer);
    return { id: v.getBigUint64(0, true), op: v.getUint8(8), status: v.getInt16(10, true) };
  }
}

const patterns = new Map<string, Uint8Array>();

/** A deterministic byte pattern (xorshift32), so that setups need no stored data. Returns a fresh copy. */
export function pattern(len: number, seed: number): Uint8Array {
  const key = `${len}:${seed}`;
  let p = patterns.get(key);
  if (!p) {
    p = makePattern(len, seed);
    patterns.set(key, p);
  }
  return p.slice();
}

function makePattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** First differing offset, for readable failures. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
