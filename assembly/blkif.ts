// blkif request layouts (xen/include/public/io/blkif.h) by ABI: a Linux
// backend understands native x86_64 and x86_32 (the packed i386 structs,
// chosen when the frontend writes protocol "x86_32-abi", and the default on
// x86 when it writes no protocol at all). The offsets are in abi.ts, which
// TypeScript reads too; these pick the ring's. A ternary on constants costs
// what the literals did.

import {
  ABI_X86_32,
  BLKIF_X86_64_ENTRY_BYTES, BLKIF_X86_64_ID, BLKIF_X86_64_SECTOR, BLKIF_X86_64_SEG,
  BLKIF_X86_64_DISCARD_NR_SECTORS, BLKIF_X86_64_INDIRECT_GREFS,
  BLKIF_X86_32_ENTRY_BYTES, BLKIF_X86_32_ID, BLKIF_X86_32_SECTOR, BLKIF_X86_32_SEG,
  BLKIF_X86_32_DISCARD_NR_SECTORS, BLKIF_X86_32_INDIRECT_GREFS,
} from "./abi";

export function entryBytes(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_ENTRY_BYTES : BLKIF_X86_64_ENTRY_BYTES; }
export function reqIdOffset(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_ID : BLKIF_X86_64_ID; }
export function reqSectorOffset(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_SECTOR : BLKIF_X86_64_SECTOR; }
export function rwSegOffset(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_SEG : BLKIF_X86_64_SEG; }
export function discardNrOffset(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_DISCARD_NR_SECTORS : BLKIF_X86_64_DISCARD_NR_SECTORS; }
export function indirectGrefsOffset(abi: u32): u32 { return abi == ABI_X86_32 ? BLKIF_X86_32_INDIRECT_GREFS : BLKIF_X86_64_INDIRECT_GREFS; }
