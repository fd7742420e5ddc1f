// Protocol constants and byte layouts shared with the WebAssembly data
// plane, with Xen's names, so that traces and views use the names people
// know. The numbers are not typed here: they are assembly/abi.ts's, copied by
// the build into web/wasm/core-abi.ts (scripts/gen-abi.mjs). This file
// groups them as the TypeScript side uses them and holds the logic: the
// codec, the ring size, the names of codes.

import {
  PAGE_SIZE, SECTOR_SIZE, SEGMENTS_PER_INDIRECT_FRAME,
  BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_RESERVED_1, BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT,
  BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP,
  BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, MAX_INDIRECT_SEGMENTS, BLKIF_DISCARD_SECURE,
  ABI_NATIVE, ABI_X86_32,
  BLKIF_REQ_OPERATION, BLKIF_REQ_NR_SEGMENTS, BLKIF_REQ_HANDLE, BLKIF_DISCARD_FLAG, BLKIF_INDIRECT_OP, BLKIF_INDIRECT_NR_SEGMENTS,
  BLKIF_X86_64_ENTRY_BYTES, BLKIF_X86_64_ID, BLKIF_X86_64_SECTOR, BLKIF_X86_64_SEG,
  BLKIF_X86_64_DISCARD_NR_SECTORS, BLKIF_X86_64_INDIRECT_HANDLE, BLKIF_X86_64_INDIRECT_GREFS,
  BLKIF_X86_32_ENTRY_BYTES, BLKIF_X86_32_ID, BLKIF_X86_32_SECTOR, BLKIF_X86_32_SEG,
  BLKIF_X86_32_DISCARD_NR_SECTORS, BLKIF_X86_32_INDIRECT_HANDLE, BLKIF_X86_32_INDIRECT_GREFS,
  SEGMENT_BYTES, SEGMENT_GREF, SEGMENT_FIRST_SECT, SEGMENT_LAST_SECT,
  RING_HEADER_BYTES, RING_REQ_PROD, RING_REQ_EVENT, RING_RSP_PROD, RING_RSP_EVENT,
  RESPONSE_ID, RESPONSE_OPERATION, RESPONSE_STATUS,
  GTF_invalid, GTF_permit_access, GTF_accept_transfer, GTF_transitive, GTF_type_mask,
  GTF_readonly, GTF_reading, GTF_writing, GTF_sub_page,
  GNTST_okay, GNTST_general_error, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle,
  GNTST_bad_virt_addr, GNTST_bad_dev_addr, GNTST_no_device_space, GNTST_permission_denied,
  GNTST_bad_page, GNTST_bad_copy_arg, GNTST_address_too_big, GNTST_eagain, GNTST_no_space,
  DOMID_SELF,
} from "../../wasm/core-abi";

export {
  PAGE_SIZE, SECTOR_SIZE, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  MAX_INDIRECT_SEGMENTS, BLKIF_DISCARD_SECURE, RING_HEADER_BYTES, DOMID_SELF,
};

export const BLKIF_OP = {
  READ: BLKIF_OP_READ,
  WRITE: BLKIF_OP_WRITE,
  WRITE_BARRIER: BLKIF_OP_WRITE_BARRIER,
  FLUSH_DISKCACHE: BLKIF_OP_FLUSH_DISKCACHE,
  RESERVED_1: BLKIF_OP_RESERVED_1,
  DISCARD: BLKIF_OP_DISCARD,
  INDIRECT: BLKIF_OP_INDIRECT,
} as const;
export type BlkifOpName = keyof typeof BLKIF_OP;

export const BLKIF_RSP = { OKAY: BLKIF_RSP_OKAY, ERROR: BLKIF_RSP_ERROR, EOPNOTSUPP: BLKIF_RSP_EOPNOTSUPP } as const;
export type BlkifStatusName = keyof typeof BLKIF_RSP;

/** The ABI a backend reads requests in: native x86_64, or x86_32 (protocol "x86_32-abi"). */
export type BlkifAbi = "x86_64-abi" | "x86_32-abi";
export const ABI_CODE: Record<BlkifAbi, number> = { "x86_64-abi": ABI_NATIVE, "x86_32-abi": ABI_X86_32 };

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
  "x86_64-abi": {
    entry: BLKIF_X86_64_ENTRY_BYTES, id: BLKIF_X86_64_ID, sector: BLKIF_X86_64_SECTOR, seg: BLKIF_X86_64_SEG,
    discardNr: BLKIF_X86_64_DISCARD_NR_SECTORS, indirectHandle: BLKIF_X86_64_INDIRECT_HANDLE, indirectGrefs: BLKIF_X86_64_INDIRECT_GREFS,
  },
  "x86_32-abi": {
    entry: BLKIF_X86_32_ENTRY_BYTES, id: BLKIF_X86_32_ID, sector: BLKIF_X86_32_SECTOR, seg: BLKIF_X86_32_SEG,
    discardNr: BLKIF_X86_32_DISCARD_NR_SECTORS, indirectHandle: BLKIF_X86_32_INDIRECT_HANDLE, indirectGrefs: BLKIF_X86_32_INDIRECT_GREFS,
  },
};
export const RING_OFFSETS = { req_prod: RING_REQ_PROD, req_event: RING_REQ_EVENT, rsp_prod: RING_RSP_PROD, rsp_event: RING_RSP_EVENT } as const;
export const RESPONSE_OFFSETS = { id: RESPONSE_ID, operation: RESPONSE_OPERATION, status: RESPONSE_STATUS } as const;

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
  v.setUint8(BLKIF_REQ_OPERATION, op);
  v.setBigUint64(L.id, BigInt(req.id), true);
  if (typeof req.operation === "number") return out;
  switch (req.operation) {
    case "DISCARD":
      v.setUint8(BLKIF_DISCARD_FLAG, req.secure ? BLKIF_DISCARD_SECURE : 0);
      v.setUint16(BLKIF_REQ_HANDLE, req.handle ?? 0, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      v.setBigUint64(L.discardNr, BigInt(req.nrSectors), true);
      break;
    case "INDIRECT": {
      const iop = typeof req.indirectOp === "number" ? req.indirectOp : BLKIF_OP[req.indirectOp];
      v.setUint8(BLKIF_INDIRECT_OP, iop);
      v.setUint16(BLKIF_INDIRECT_NR_SEGMENTS, req.nrSegments, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      v.setUint16(L.indirectHandle, req.handle ?? 0, true);
      req.indirectGrefs.slice(0, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST).forEach((g, i) => v.setUint32(L.indirectGrefs + 4 * i, g, true));
      break;
    }
    default:
      v.setUint8(BLKIF_REQ_NR_SEGMENTS, req.segments.length);
      v.setUint16(BLKIF_REQ_HANDLE, req.handle ?? 0, true);
      v.setBigUint64(L.sector, BigInt(req.sector), true);
      req.segments.slice(0, BLKIF_MAX_SEGMENTS_PER_REQUEST).forEach((s, i) => encodeSegment(v, L.seg + SEGMENT_BYTES * i, s));
  }
  return out;
}

/** One segment descriptor, as in a request or an indirect page. */
export function encodeSegment(v: DataView, offset: number, s: Segment): void {
  v.setUint32(offset + SEGMENT_GREF, s.gref, true);
  v.setUint8(offset + SEGMENT_FIRST_SECT, s.firstSect);
  v.setUint8(offset + SEGMENT_LAST_SECT, s.lastSect);
}

function decodeSegment(v: DataView, offset: number): Segment {
  return { gref: v.getUint32(offset + SEGMENT_GREF, true), firstSect: v.getUint8(offset + SEGMENT_FIRST_SECT), lastSect: v.getUint8(offset + SEGMENT_LAST_SECT) };
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
  const operation = v.getUint8(BLKIF_REQ_OPERATION);
  const base = { operation, operationName: opName(operation), id: v.getBigUint64(L.id, true), sector: v.getBigUint64(L.sector, true) };
  if (operation === BLKIF_OP.DISCARD) {
    return { ...base, handle: v.getUint16(BLKIF_REQ_HANDLE, true), flag: v.getUint8(BLKIF_DISCARD_FLAG), nrSectors: v.getBigUint64(L.discardNr, true) };
  }
  if (operation === BLKIF_OP.INDIRECT) {
    const nrSegments = v.getUint16(BLKIF_INDIRECT_NR_SEGMENTS, true);
    const pages = Math.min(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, Math.ceil(nrSegments / SEGMENTS_PER_INDIRECT_FRAME));
    return {
      ...base, handle: v.getUint16(L.indirectHandle, true), indirectOp: v.getUint8(BLKIF_INDIRECT_OP), nrSegments,
      indirectGrefs: Array.from({ length: pages }, (_, i) => v.getUint32(L.indirectGrefs + 4 * i, true)),
    };
  }
  if (operation <= BLKIF_OP.FLUSH_DISKCACHE) {
    const nrSegments = v.getUint8(BLKIF_REQ_NR_SEGMENTS);
    const segments = Array.from({ length: Math.min(nrSegments, BLKIF_MAX_SEGMENTS_PER_REQUEST) }, (_, i) => decodeSegment(v, L.seg + SEGMENT_BYTES * i));
    return { ...base, handle: v.getUint16(BLKIF_REQ_HANDLE, true), nrSegments, segments };
  }
  return { ...base, handle: v.getUint16(BLKIF_REQ_HANDLE, true) };
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
  invalid: GTF_invalid,
  permit_access: GTF_permit_access,
  accept_transfer: GTF_accept_transfer,
  transitive: GTF_transitive,
  type_mask: GTF_type_mask,
  readonly: GTF_readonly,
  reading: GTF_reading,
  writing: GTF_writing,
  sub_page: GTF_sub_page,
} as const;

export const GNTST = {
  okay: GNTST_okay,
  general_error: GNTST_general_error,
  bad_domain: GNTST_bad_domain,
  bad_gntref: GNTST_bad_gntref,
  bad_handle: GNTST_bad_handle,
  bad_virt_addr: GNTST_bad_virt_addr,
  bad_dev_addr: GNTST_bad_dev_addr,
  no_device_space: GNTST_no_device_space,
  permission_denied: GNTST_permission_denied,
  bad_page: GNTST_bad_page,
  bad_copy_arg: GNTST_bad_copy_arg,
  address_too_big: GNTST_address_too_big,
  eagain: GNTST_eagain,
  no_space: GNTST_no_space,
} as const;
export type GntstName = keyof typeof GNTST;

export function gntstName(status: number): GntstName | "unknown" {
  const hit = (Object.keys(GNTST) as GntstName[]).find((k) => GNTST[k] === status);
  return hit ?? "unknown";
}
