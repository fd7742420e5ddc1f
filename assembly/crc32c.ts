// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// iSCSI, ext4 metadata and btrfs, used here to compare data end to end.
// Slicing-by-8: eight 256-entry tables, eight bytes per step.

import { rawAlloc } from "./memory";

const POLY: u32 = 0x82F63B78;
let tables: usize = 0; // 8 x 256 u32

export function crc32cInit(): bool {
  tables = rawAlloc(8 * 256 * 4, 64);
  if (tables == 0) return false;
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(tables + (i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(tables + (i << 2));
    for (let t: u32 = 1; t < 8; t++) {
      c = load<u32>(tables + ((c & 0xFF) << 2)) ^ (c >>> 8);
      store<u32>(tables + (t << 10) + (i << 2), c);
    }
  }
  return true;
}

// @ts-ignore: decorator
@inline function tab(t: u32, b: u32): u32 { return load<u32>(tables + (t << 10) + (b << 2)); }

/** crc32c of `len` bytes at `ptr`, continuing from `crc` (0 to start). */
export function crc32c(ptr: usize, len: u32, crc: u32): u32 {
  let c = ~crc;
  while (len >= 8) {
    const lo = load<u32>(ptr) ^ c;
    const hi = load<u32>(ptr + 4);
    c = tab(7, lo & 0xFF) ^ tab(6, (lo >>> 8) & 0xFF) ^ tab(5, (lo >>> 16) & 0xFF) ^ tab(4, lo >>> 24) ^
        tab(3, hi & 0xFF) ^ tab(2, (hi >>> 8) & 0xFF) ^ tab(1, (hi >>> 16) & 0xFF) ^ tab(0, hi >>> 24);
    ptr += 8; len -= 8;
  }
  while (len > 0) {
    c = tab(0, (c ^ <u32>load<u8>(ptr)) & 0xFF) ^ (c >>> 8);
    ptr++; len--;
  }
  return ~c;
}
