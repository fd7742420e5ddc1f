// Protocol constants and byte layouts shared with the WebAssembly data plane
// (assembly/blkif.ts, assembly/grant.ts): the same numbers as Xen's public
// headers, so that traces and views use the names people know.

export const PAGE_SIZE = 4096;
export const SECTOR_SIZE = 512;

export const BLKIF_OP = {
  READ: 0,
  WRITE: 1,
  WRITE_BARRIER: 2,
  FLUSH_DISKCACHE: 3,
  RESERVED_1: 4,
  DISCARD: 5,
  INDIRECT: 6,
} as const;
export type BlkifOpName = keyof typeof BLKIF_OP;

export const BLKIF_RSP = { OKAY: 0, ERROR: -1, EOPNOTSUPP: -2 } as const;
export type BlkifStatusName = keyof typeof BLKIF_RSP;

export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
export const MAX_INDIRECT_SEGMENTS = 256;
export const BLKIF_DISCARD_SECURE = 1;

/** The ABI a backend reads requests in: native x86_64, or x86_32 (protocol "x86_32-abi"). */
export type BlkifAbi = "x86_64-abi" | "x86_32-abi";
export const ABI_CODE: Record<BlkifAbi, number> = { "x86_64-abi": 0, "x86_32-abi": 1 };

interface Layout {
  entry: number;
  id: number;
  sector: number;
  seg: number;
  discardNr: number;
  indirectHandle: number;
  indirectGrefs: number;
}
/** Offsets per ABI (xen/include/public/io/blkif.h; x86_32 from the packed structs of blkback's common.h). */
export const LAYOUT: Record<BlkifAbi, Layout> = {
  "x86_64-abi": { entry: 112, id: 8, sector: 16, seg: 24, discardNr: 24, indirectHandle: 24, indirectGrefs: 28 },
  "x86_32-abi": { entry: 108, id: 4, sector: 12, seg: 20, discardNr: 20, indirectHandle: 20, indirectGrefs: 24 },
};
export const RING_HEADER_BYTES = 64;
export const RING_OFFSETS = { req_prod: 0, req_event: 4, rsp_prod: 8, rsp_event: 12 } as const;
export const RESPONSE_OFFSETS = { id: 0, operation: 8, status: 10 } as const;

/** nr_ents for a ring of 2^order pages: round_down_pow2((4096 << order - 64) / entry). */
export function ringEntries(order: number, abi: BlkifAbi = "x86_64-abi"): number {
  const raw = Math.floor(((PAGE_SIZE << order) - RING_HEADER_BYTES) / LAYOUT[abi].entry);
  return 2 ** Math.floor(Math.log2(raw));
}

export interface Segment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

export type BlkifRequest =
  | { operation: "READ" | "WRITE" | "WRITE_BARRIER" | "FLUSH_DISKCACHE"; id: bigint | number; sector: number; handle?: number; segments: Segment[] }
  | { operation: "DISCARD"; id: bigint | number; sector: number; nrSectors: number; secure?: boolean; handle?: number }
  | { operation: "INDIRECT"; indirectOp: "READ" | "WRITE" | number; id: bigint | number; sector: number; nrSegments: number; indirectGrefs: number[]; handle?: number }
  | { operation: number; id: bigint | number; raw?: Uint8Array };

/** Encodes a request into one ring entry's bytes, exactly as a frontend lays it out. */
export function encodeRequest(req: BlkifRequest, abi: BlkifAbi = "x86_64-abi"): Uint8Array {
  const L = LAYOUT[abi];
  const out = new Uint8Array(L.entry);
  const v = new DataView(out.buffer);
  if ("raw" in req && req.raw) out.set(req.raw.subarray(0, L.entry));
  const op = typeof req.operation === "number" ? req.operation : BLKIF_OP[req.operation];
  v.setUint8(0, op);
  v.setBigUint64(L.id, BigInt(req.id), true);
  if (typeof req.operation === "number") return out;
  switch (req.operation) {
    case "DISCARD":
      v.setUint8(1, req.secure ? BLKIF_DISCARD_SECURE : 0);
      v.setUint16(2, req.handle ?? 0, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      v.setBigUint64(L.discardNr, BigInt(req.nrSectors), true);
      break;
    case "INDIRECT": {
      const iop = typeof req.indirectOp === "number" ? req.indirectOp : BLKIF_OP[req.indirectOp];
      v.setUint8(1, iop);
      v.setUint16(2, req.nrSegments, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      v.setUint16(L.indirectHandle, req.handle ?? 0, true);
      req.indirectGrefs.slice(0, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST).forEach((g, i) => v.setUint32(L.indirectGrefs + 4 * i, g, true));
      break;
    }
    default:
      v.setUint8(1, req.segments.length);
      v.setUint16(2, req.handle ?? 0, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      req.segments.slice(0, BLKIF_MAX_SEGMENTS_PER_REQUEST).forEach((s, i) => encodeSegment(v, L.seg + 8 * i, s));
  }
  return out;
}

/** One 8-byte segment descriptor, as in a request or an indirect page. */
export function encodeSegment(v: DataView, offset: number, s: Segment): void {
  v.setUint32(offset, s.gref, true);
  v.setUint8(offset + 4, s.firstSect);
  v.setUint8(offset + 5, s.lastSect);
}

/** A ring entry read back as the backend reads it (for views and tests): numbers, not names. */
export interface DecodedRequest {
  operation: number;
  operationName: BlkifOpName | "unknown";
  id: bigint;
  sector: bigint;
  handle: number;
  /** READ/WRITE/BARRIER/FLUSH: the nr_segments byte and the segments it claims (at most 11 decoded). */
  nrSegments?: number;
  segments?: Segment[];
  /** DISCARD */
  flag?: number;
  nrSectors?: bigint;
  /** INDIRECT */
  indirectOp?: number;
  indirectGrefs?: number[];
}

export function opName(op: number): BlkifOpName | "unknown" {
  const hit = (Object.keys(BLKIF_OP) as BlkifOpName[]).find((k) => BLKIF_OP[k] === op);
  return hit ?? "unknown";
}

export function decodeRequest(entry: Uint8Array, abi: BlkifAbi = "x86_64-abi"): DecodedRequest {
  const L = LAYOUT[abi];
  if (entry.length < L.entry) throw new RangeError(`a ${abi} ring entry is ${L.entry} bytes, got ${entry.length}`);
  const v = new DataView(entry.buffer, entry.byteOffset, L.entry);
  const operation = v.getUint8(0);
  const base = { operation, operationName: opName(operation), id: v.getBigUint64(L.id, true), sector: v.getBigUint64(L.sector, true) };
  if (operation === BLKIF_OP.DISCARD) {
    return { ...base, handle: v.getUint16(2, true), flag: v.getUint8(1), nrSectors: v.getBigUint64(L.discardNr, true) };
  }
  if (operation === BLKIF_OP.INDIRECT) {
    const nrSegments = v.getUint16(2, true);
    const pages = Math.min(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, Math.ceil(nrSegments / 512));
    return {
      ...base, handle: v.getUint16(L.indirectHandle, true), indirectOp: v.getUint8(1), nrSegments,
      indirectGrefs: Array.from({ length: pages }, (_, i) => v.getUint32(L.indirectGrefs + 4 * i, true)),
    };
  }
  if (operation <= BLKIF_OP.FLUSH_DISKCACHE) {
    const nrSegments = v.getUint8(1);
    const segments = Array.from({ length: Math.min(nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST) }, (_, i) => ({
      gref: v.getUint32(L.seg + 8 * i, true), firstSect: v.getUint8(L.seg + 8 * i + 4), lastSect: v.getUint8(L.seg + 8 * i + 5),
    }));
    return { ...base, handle: v.getUint16(2, true), nrSegments, segments };
  }
  return { ...base, handle: v.getUint16(2, true) };
}

export interface BlkifResponse {
  id: bigint;
  operation: number;
  status: number;
  statusName: BlkifStatusName | "unknown";
}

export function statusName(status: number): BlkifStatusName | "unknown" {
  const hit = (Object.keys(BLKIF_RSP) as BlkifStatusName[]).find((k) => BLKIF_RSP[k] === status);
  return hit ?? "unknown";
}

// ---- grant tables ----

export const GTF = {
  permit_access: 1,
  accept_transfer: 2,
  transitive: 3,
  type_mask: 3,
  readonly: 1 << 2,
  reading: 1 << 3,
  writing: 1 << 4,
  sub_page: 1 << 8,
} as const;

export const GNTST = {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
  bad_page: -9,
  bad_copy_arg: -10,
  address_too_big: -11,
  eagain: -12,
  no_space: -13,
} as const;
export type GntstName = keyof typeof GNTST;

export function gntstName(status: number): GntstName | "unknown" {
  const hit = (Object.keys(GNTST) as GntstName[]).find((k) => GNTST[k] === status);
  return hit ?? "unknown";
}

export const DOMID_SELF = 0x7ff0;
