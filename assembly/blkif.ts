// blkif request and response layouts (xen/include/public/io/blkif.h), for
// the two ABIs a Linux backend understands: native x86_64 and x86_32 (the
// packed i386 structs, chosen when the frontend writes protocol
// "x86_32-abi", and the default on x86 when it writes no protocol at all).
//
// native x86_64 (entry 112 bytes)            x86_32 (entry 108 bytes)
//   rw:       op 0, nr_segments 1, handle 2,   id 4, sector 12, seg[11] 20
//             id 8, sector 16, seg[11] 24
//   discard:  op 0, flag 1, id 8, sector 16,   id 4, sector 12, nr_sectors 20
//             nr_sectors 24
//   indirect: op 0, indirect_op 1,             id 4, sector 12, handle 20,
//             nr_segments u16 2, id 8,         indirect_grefs[8] 24
//             sector 16, handle 24,
//             indirect_grefs[8] 28
//   segment (8 bytes, both ABIs): gref u32 0, first_sect u8 4, last_sect u8 5
//   response (both ABIs): id u64 0, operation u8 8, status i16 10

export const BLKIF_OP_READ: u8 = 0;
export const BLKIF_OP_WRITE: u8 = 1;
export const BLKIF_OP_WRITE_BARRIER: u8 = 2;
export const BLKIF_OP_FLUSH_DISKCACHE: u8 = 3;
export const BLKIF_OP_RESERVED_1: u8 = 4;
export const BLKIF_OP_DISCARD: u8 = 5;
export const BLKIF_OP_INDIRECT: u8 = 6;

export const BLKIF_RSP_EOPNOTSUPP: i16 = -2;
export const BLKIF_RSP_ERROR: i16 = -1;
export const BLKIF_RSP_OKAY: i16 = 0;

export const BLKIF_MAX_SEGMENTS_PER_REQUEST: u32 = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: u32 = 8;
export const SEGMENTS_PER_INDIRECT_FRAME: u32 = 512; // XEN_PAGE_SIZE / sizeof(struct blkif_request_segment)
export const MAX_INDIRECT_SEGMENTS: u32 = 256; // what Linux blkback advertises
export const BLKIF_DISCARD_SECURE: u8 = 1;
export const SEGMENT_BYTES: u32 = 8;
export const SECTORS_PER_PAGE: u32 = 8; // XEN_PAGE_SIZE >> 9

export const ABI_NATIVE: u32 = 0; // x86_64-abi
export const ABI_X86_32: u32 = 1; // x86_32-abi

export const RESPONSE_ID: u32 = 0;
export const RESPONSE_OPERATION: u32 = 8;
export const RESPONSE_STATUS: u32 = 10;

export function entryBytes(abi: u32): u32 { return abi == ABI_X86_32 ? 108 : 112; }
export function reqIdOffset(abi: u32): u32 { return abi == ABI_X86_32 ? 4 : 8; }
export function reqSectorOffset(abi: u32): u32 { return abi == ABI_X86_32 ? 12 : 16; }
export function rwSegOffset(abi: u32): u32 { return abi == ABI_X86_32 ? 20 : 24; }
export function discardNrOffset(abi: u32): u32 { return abi == ABI_X86_32 ? 20 : 24; }
export function indirectGrefsOffset(abi: u32): u32 { return abi == ABI_X86_32 ? 24 : 28; }
