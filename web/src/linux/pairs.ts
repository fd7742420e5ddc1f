// What a (dev_t, diskseq) pair names, for the built-in invariant
// `no-stale-open`: "nobody operates on a device incarnation other than the
// one it checked (dev_t and diskseq)". Whoever reads a device's diskseq
// (BLKGETDISKSEQ, /sys/block/X/diskseq, blkback's check) may compare it later
// with a value published earlier and, if they match, take the device for the
// one the pair was published for. That is safe only if a pair never names
// two incarnations. Every such read is recorded here with the incarnation it
// saw; a second read of the same pair on another incarnation is a stale pair,
// and the invariant reports it.
//
// The incarnation is what the kernel treats as a media change: for a loop
// device, which file it is bound to (an unbound loop device does no I/O and
// names nothing); for a dm device, the device itself (a table reload is the
// device's own business and keeps its diskseq on every kernel). A device
// deleted and created again is a new gendisk object, hence a new incarnation.

import { declareKind } from "../sim/object-kind";
import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { FILE, filePath } from "./files";
import { DISK, LOOP, type Gendisk } from "./objects";

export interface PairReading {
  /** What the pair named: `disk:<d>:s<n>` plus the loop binding. */
  incarnation: string;
  /** For people: the backing file (loop) or the device name. */
  names: string;
  by: string;
}

/** `stalepair:<d>:<major>:<minor>:<diskseq>`: a pair read on two incarnations. */
export interface StalePair {
  major: number;
  minor: number;
  diskseq: number;
  first: PairReading;
  then: PairReading;
}

/** A pair's tail: the domain, the disk's number and its diskseq now. */
const pairTail = (d: string, g: Gendisk): string => `${d}:${g.major}:${g.minor}:${g.diskseq}`;
/** `diskseqpair:<d>:<major>:<minor>:<diskseq>`: what the pair named when it was first read. */
const DISKSEQ_PAIR = declareKind<PairReading, Parameters<typeof pairTail>>("diskseqpair", pairTail);
const STALE_PAIR = declareKind<StalePair, Parameters<typeof pairTail>>("stalepair", pairTail);

function backingName(file: string): string {
  return FILE.is(file) ? filePath(file) : file;
}

/** The incarnation a disk is now, or undefined when it names nothing (an unbound loop device). */
function incarnation(store: Store, key: string, disk: Gendisk): { incarnation: string; names: string } | undefined {
  if (disk.driver === "dm") return { incarnation: key, names: disk.name };
  const lo = LOOP.get(store, disk.driverKey);
  if (!lo?.backing || (lo.state !== "bound" && lo.state !== "rundown")) return undefined;
  return { incarnation: `${key}|${lo.backing.file}`, names: `${disk.name} bound to ${backingName(lo.backing.file)}` };
}

/** Someone read the diskseq of the disk `key`: remember what the pair named, or note that it now names something else. */
export function observePair(ctx: StepContext, d: string, key: string, by: string): void {
  const disk = DISK.get(ctx.store, key);
  if (!disk || !disk.registered) return;
  const now = incarnation(ctx.store, key, disk);
  if (!now) return;
  const pk = DISKSEQ_PAIR.key(d, disk);
  const first = DISKSEQ_PAIR.get(ctx.store, pk);
  if (!first) {
    DISKSEQ_PAIR.set(ctx.store, pk, { ...now, by });
    return;
  }
  if (first.incarnation === now.incarnation || STALE_PAIR.has(ctx.store, STALE_PAIR.key(d, disk))) return;
  STALE_PAIR.set(ctx.store, STALE_PAIR.key(d, disk), { major: disk.major, minor: disk.minor, diskseq: disk.diskseq, first, then: { ...now, by } });
}

/** The invariant: the first stale pair, as a message, or undefined. */
export function stalePairViolation(store: Store): string | undefined {
  for (const key of STALE_PAIR.peekList(store)) {
    const s = STALE_PAIR.peek(store, key)!;
    const domain = STALE_PAIR.scopeOf(key);
    return `the pair (${s.major}:${s.minor}, diskseq ${s.diskseq}) in ${domain} named ${s.first.names} when ${s.first.by} read it, and ${s.then.names} when ${s.then.by} read it: whoever checks that pair cannot tell the two apart`;
  }
  return undefined;
}
