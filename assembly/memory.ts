// Untracked linear memory: a bump allocator over memory.grow.
//
// The data plane keeps two kinds of memory. Tracked memory is the arena of
// 4 KiB frames (arena.ts): everything a scenario can change lives there and
// is rolled back by restore. Untracked memory, allocated here, holds the
// machinery that must survive a restore: the frame directory, per-frame
// epochs, the checkpoint trail, the crc32c tables and the staging buffer that
// JavaScript uses to pass bytes in and out. It is never freed.

/** Linear memory is kept below this bound so u32 address arithmetic cannot wrap. */
export const MEMORY_LIMIT: u64 = 0xF000_0000; // 3.75 GiB

let rawTop: usize = 0;

export function rawInit(): void {
  rawTop = (__heap_base + 4095) & ~(<usize>4095);
}

/** Returns zeroed memory, or 0 when linear memory cannot grow any further. */
export function rawAlloc(bytes: usize, align: usize): usize {
  const start = (<u64>rawTop + <u64>align - 1) & ~(<u64>align - 1);
  const end = start + <u64>bytes;
  if (end > MEMORY_LIMIT) return 0;
  const have = <u64>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xFFFF) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  rawTop = <usize>end;
  return <usize>start; // fresh pages from memory.grow are zero, and raw memory is never reused
}

export function rawBytesInUse(): usize {
  return rawTop;
}

/**
 * Copies a few bytes (a ring slot, a segment list) with plain loads and
 * stores: for copies this small, a memory.copy instruction costs more in
 * call overhead than it saves.
 */
// @ts-ignore: decorator
@inline export function copySmall(dst: usize, src: usize, n: u32): void {
  while (n >= 8) { store<u64>(dst, load<u64>(src)); dst += 8; src += 8; n -= 8; }
  while (n > 0) { store<u8>(dst, load<u8>(src)); dst++; src++; n--; }
}
