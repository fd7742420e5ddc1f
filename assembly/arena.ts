// The page arena: every byte a scenario can change, in 4 KiB frames, with
// checkpoints that restore in time proportional to what changed.
//
//   frame number f (u32, 0 = none)  ->  chunk f >> 8 (1 MiB of linear memory)
//                                       + (f & 255) << 12
//
// Guest memory, ring pages, grant tables, sparse image blocks and the tables
// of the block-mapping layer are all frames. Frames are allocated on demand
// (an 8 GiB image costs nothing until written) and chunks are taken from
// linear memory as the arena grows.
//
// Checkpoints use a trail (undo log), as constraint solvers do: each
// checkpoint opens an epoch; the first write to a frame in an epoch copies
// the frame's old contents to the trail (copy on first write), so restoring
// copies back only the frames written since, newest first. Without an open
// checkpoint nothing is copied at all. Allocation state (next frame, free
// list) lives in the tracked superblock frame, so a restore also returns
// every frame allocated since the checkpoint.
//
// Every write to a frame must be preceded by touch(f). Reads need nothing.

import { rawAlloc } from "./memory";
import { PAGE_SIZE, MAX_CHECKPOINTS, MIN_FRAMES, MAX_FRAMES } from "./abi";

export const PAGE_SHIFT: u32 = 12; // log2(PAGE_SIZE)
const CHUNK_SHIFT: u32 = 8; // 256 frames = 1 MiB per chunk
const CHUNK_FRAMES: u32 = 1 << CHUNK_SHIFT;
const CHUNK_BYTES: usize = <usize>CHUNK_FRAMES << PAGE_SHIFT;

/** The superblock (frame 1) holds the allocator's state, so it is restored too. */
export const SUPERBLOCK: u32 = 1;
const SB_NEXT_FRAME = 0; // u32: lowest frame number never handed out since the last restore
const SB_FREE_HEAD = 4; // u32: head of the free list, linked through each free frame's first word
const SB_FRAMES_IN_USE = 8; // u32

// Untracked state: set up once by arenaInit.
let maxFrames: u32 = 0;
let chunkDir: usize = 0; // u32 address of each chunk, 0 = not yet taken from linear memory
let epochs: usize = 0; // u32 per frame: the epoch in which the frame was last saved
let curEpoch: u32 = 0; // epoch of the innermost checkpoint; 0 = no checkpoint open
let epochCounter: u32 = 0;

// The trail: entry i = a saved 4 KiB page plus (frame, previous epoch).
// Entries live in 1 MiB + 4 KiB chunks: 256 pages, then 256 x 8 bytes of metadata.
const TRAIL_CHUNK_BYTES: usize = CHUNK_BYTES + PAGE_SIZE;
const MAX_TRAIL_CHUNKS: u32 = 4096;
let trailDir: usize = 0;
let trailLen: u32 = 0;

let cpEpoch: usize = 0; // u32 per open checkpoint
let cpTrailLen: usize = 0; // u32 per open checkpoint
let cpDepth: u32 = 0;

/** Sets up an arena of at most `frames` frames. Returns false when memory is short. */
export function arenaInit(frames: u32): bool {
  if (frames < MIN_FRAMES || frames > MAX_FRAMES) return false;
  maxFrames = frames;
  const chunks = (frames + CHUNK_FRAMES - 1) >> CHUNK_SHIFT;
  chunkDir = rawAlloc(<usize>chunks << 2, 16);
  epochs = rawAlloc(<usize>frames << 2, 16);
  trailDir = rawAlloc(<usize>MAX_TRAIL_CHUNKS << 2, 16);
  cpEpoch = rawAlloc(<usize>MAX_CHECKPOINTS << 2, 16);
  cpTrailLen = rawAlloc(<usize>MAX_CHECKPOINTS << 2, 16);
  if (chunkDir == 0 || epochs == 0 || trailDir == 0 || cpEpoch == 0 || cpTrailLen == 0) return false;
  if (!ensureChunk(0)) return false;
  // Frame 0 is "no frame"; frame 1 is the superblock.
  const sb = frameAddr(SUPERBLOCK);
  store<u32>(sb + SB_NEXT_FRAME, 2);
  store<u32>(sb + SB_FREE_HEAD, 0);
  store<u32>(sb + SB_FRAMES_IN_USE, 2);
  return true;
}

function ensureChunk(chunk: u32): bool {
  const slot = chunkDir + (<usize>chunk << 2);
  if (load<u32>(slot) != 0) return true;
  const base = rawAlloc(CHUNK_BYTES, PAGE_SIZE);
  if (base == 0) return false;
  store<u32>(slot, <u32>base);
  return true;
}

/** Linear-memory address of a frame. The frame must have been allocated once. */
// @ts-ignore: decorator
@inline export function frameAddr(f: u32): usize {
  return <usize>load<u32>(chunkDir + (<usize>(f >> CHUNK_SHIFT) << 2)) + (<usize>(f & (CHUNK_FRAMES - 1)) << PAGE_SHIFT);
}

/** Must be called before any write to frame f. */
// @ts-ignore: decorator
@inline export function touch(f: u32): void {
  if (curEpoch != 0) {
    const e = epochs + (<usize>f << 2);
    if (load<u32>(e) != curEpoch) saveFrame(f, e);
  }
}

function saveFrame(f: u32, epochSlot: usize): void {
  const i = trailLen;
  const chunk = i >> CHUNK_SHIFT;
  if (chunk >= MAX_TRAIL_CHUNKS) unreachable(); // 16 GiB of undo data: a bug, not a scenario
  const dirSlot = trailDir + (<usize>chunk << 2);
  let base = <usize>load<u32>(dirSlot);
  if (base == 0) {
    base = rawAlloc(TRAIL_CHUNK_BYTES, PAGE_SIZE);
    if (base == 0) unreachable();
    store<u32>(dirSlot, <u32>base);
  }
  const k = <usize>(i & (CHUNK_FRAMES - 1));
  memory.copy(base + (k << PAGE_SHIFT), frameAddr(f), PAGE_SIZE);
  const meta = base + CHUNK_BYTES + (k << 3);
  store<u32>(meta, f);
  store<u32>(meta + 4, load<u32>(epochSlot));
  store<u32>(epochSlot, curEpoch);
  trailLen = i + 1;
}

// Word access to tracked frames.
// @ts-ignore: decorator
@inline export function rd32(f: u32, off: u32): u32 { return load<u32>(frameAddr(f) + off); }
// @ts-ignore: decorator
@inline export function rd64(f: u32, off: u32): u64 { return load<u64>(frameAddr(f) + off); }
// @ts-ignore: decorator
@inline export function wr32(f: u32, off: u32, v: u32): void { touch(f); store<u32>(frameAddr(f) + off, v); }
// @ts-ignore: decorator
@inline export function wr64(f: u32, off: u32, v: u64): void { touch(f); store<u64>(frameAddr(f) + off, v); }

/** Allocates one zeroed frame, or returns 0 when the arena is full. */
export function allocFrame(): u32 {
  const sb = frameAddr(SUPERBLOCK);
  const head = load<u32>(sb + SB_FREE_HEAD);
  if (head != 0) {
    touch(SUPERBLOCK);
    touch(head);
    const a = frameAddr(head);
    store<u32>(sb + SB_FREE_HEAD, load<u32>(a));
    store<u32>(sb + SB_FRAMES_IN_USE, load<u32>(sb + SB_FRAMES_IN_USE) + 1);
    memory.fill(a, 0, PAGE_SIZE);
    return head;
  }
  return allocFrames(1);
}

/** Allocates n zeroed frames with consecutive numbers (fresh ones, never from the free list). */
export function allocFrames(n: u32): u32 {
  const sb = frameAddr(SUPERBLOCK);
  const first = load<u32>(sb + SB_NEXT_FRAME);
  if (n == 0 || <u64>first + <u64>n > <u64>maxFrames) return 0;
  for (let f = first; f < first + n; f++) {
    if ((f & (CHUNK_FRAMES - 1)) == 0 && !ensureChunk(f >> CHUNK_SHIFT)) return 0;
  }
  touch(SUPERBLOCK);
  store<u32>(sb + SB_NEXT_FRAME, first + n);
  store<u32>(sb + SB_FRAMES_IN_USE, load<u32>(sb + SB_FRAMES_IN_USE) + n);
  for (let f = first; f < first + n; f++) {
    // A fresh frame was unallocated at every open checkpoint, so its old
    // contents need no saving: a restore frees it again by rewinding the superblock.
    store<u32>(epochs + (<usize>f << 2), curEpoch);
    memory.fill(frameAddr(f), 0, PAGE_SIZE);
  }
  return first;
}

export function freeFrame(f: u32): void {
  touch(SUPERBLOCK);
  touch(f);
  const sb = frameAddr(SUPERBLOCK);
  store<u32>(frameAddr(f), load<u32>(sb + SB_FREE_HEAD));
  store<u32>(sb + SB_FREE_HEAD, f);
  store<u32>(sb + SB_FRAMES_IN_USE, load<u32>(sb + SB_FRAMES_IN_USE) - 1);
}

export function framesInUse(): u32 { return rd32(SUPERBLOCK, SB_FRAMES_IN_USE); }
/** Frames allocFrames can still hand out (consecutive ones come only from never-used frames). */
export function freshFramesLeft(): u32 { return maxFrames - rd32(SUPERBLOCK, SB_NEXT_FRAME); }
export function framesLimit(): u32 { return maxFrames; }

// ---- checkpoints ----

/** Opens a checkpoint and returns its id (1 = outermost), or 0 when too many are open. */
export function checkpoint(): u32 {
  if (cpDepth >= MAX_CHECKPOINTS) return 0;
  epochCounter++;
  curEpoch = epochCounter;
  store<u32>(cpEpoch + (<usize>cpDepth << 2), curEpoch);
  store<u32>(cpTrailLen + (<usize>cpDepth << 2), trailLen);
  cpDepth++;
  return cpDepth;
}

/** Rolls every frame back to checkpoint `id`, which stays open; closes the ones opened after it. */
export function restore(id: u32): bool {
  if (id == 0 || id > cpDepth) return false;
  const target = load<u32>(cpTrailLen + (<usize>(id - 1) << 2));
  let i = trailLen;
  while (i > target) {
    i--;
    const base = <usize>load<u32>(trailDir + (<usize>(i >> CHUNK_SHIFT) << 2));
    const k = <usize>(i & (CHUNK_FRAMES - 1));
    const meta = base + CHUNK_BYTES + (k << 3);
    const f = load<u32>(meta);
    memory.copy(frameAddr(f), base + (k << PAGE_SHIFT), PAGE_SIZE);
    store<u32>(epochs + (<usize>f << 2), load<u32>(meta + 4));
  }
  trailLen = target;
  cpDepth = id;
  curEpoch = load<u32>(cpEpoch + (<usize>(id - 1) << 2));
  return true;
}

/** Closes checkpoint `id` and those opened after it, keeping the current contents. */
export function release(id: u32): bool {
  if (id == 0 || id > cpDepth) return false;
  cpDepth = id - 1;
  if (cpDepth == 0) {
    curEpoch = 0;
    trailLen = 0;
  } else {
    // The trail entries of the closed checkpoints now belong to the enclosing
    // one: undoing them in reverse order still yields its contents.
    curEpoch = load<u32>(cpEpoch + (<usize>(cpDepth - 1) << 2));
  }
  return true;
}

export function checkpointDepth(): u32 { return cpDepth; }

/** Frames saved since checkpoint `id` was opened (what a restore to it would copy back). */
export function dirtyFramesSince(id: u32): u32 {
  if (id == 0 || id > cpDepth) return 0;
  return trailLen - load<u32>(cpTrailLen + (<usize>(id - 1) << 2));
}
