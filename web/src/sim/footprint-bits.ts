// Footprints as bitsets over object ids interned per search. The exhaustive
// search compares footprints at every state against every step of the path;
// the store's form (sets of key strings, store.ts) is converted once per
// step taken or probe made, and compared as words.
//
// `dependent` is store.ts's `conflicts` on the converted footprints, with
// one rule of the search's own added by the encoder: every write that an
// after-step check can see also writes a pseudo-object (id 0), so any two
// such writes are dependent (a check sees their order). A property test
// (test/sim/footprint-bits.property.test.ts) holds the two relations
// together.

import type { Probe } from "./execution";
import type { Footprint } from "./store";

/** What a step does to an object: read it, write it, or write a collection ("kind:*": create or delete a member). */
const READ = 0;
const WRITE = 1;
const COLLECTION_WRITE = 2;
type Access = typeof READ | typeof WRITE | typeof COLLECTION_WRITE;

/**
 * A footprint over interned object ids: reads, writes of objects, and writes
 * of collections, which commute with each other. Ids below 32 live in one
 * word each; the rest in arrays.
 */
export class Bits {
  /** The summary that may change these bits in place (copy on write); null: shared, never changed. */
  owner: object | null = null;
  /** Dependent with every step: a step into a state where an invariant fails (nothing runs after it). */
  all = false;
  r0 = 0;
  w0 = 0;
  c0 = 0;
  hi: { r: number[]; w: number[]; c: number[] } | null = null;
}

function setBit(b: Bits, access: Access, id: number): void {
  if (id < 32) {
    const m = 1 << id;
    if (access === READ) b.r0 |= m;
    else if (access === WRITE) b.w0 |= m;
    else b.c0 |= m;
    return;
  }
  const h = (b.hi ??= { r: [], w: [], c: [] });
  const arr = access === READ ? h.r : access === WRITE ? h.w : h.c;
  const k = (id >> 5) - 1;
  while (arr.length <= k) arr.push(0);
  arr[k]! |= 1 << (id & 31);
}

/** store.ts's `conflicts`: overlapping objects, one writing; two collection writes commute. */
export function dependent(a: Bits, b: Bits): boolean {
  if (a.all || b.all) return true;
  if (((a.w0 & (b.r0 | b.w0)) | (a.c0 & b.r0) | (b.w0 & a.r0) | (b.c0 & a.r0)) !== 0) return true;
  const ah = a.hi;
  const bh = b.hi;
  if (ah === null || bh === null) return false;
  const len = Math.max(ah.r.length, ah.w.length, ah.c.length, bh.r.length, bh.w.length, bh.c.length);
  for (let k = 0; k < len; k++) {
    const ar = ah.r[k] ?? 0, aw = ah.w[k] ?? 0, ac = ah.c[k] ?? 0;
    const br = bh.r[k] ?? 0, bw = bh.w[k] ?? 0, bc = bh.c[k] ?? 0;
    if (((aw & (br | bw)) | (ac & br) | (bw & ar) | (bc & ar)) !== 0) return true;
  }
  return false;
}

function orInto(into: Bits, b: Bits): void {
  into.all ||= b.all;
  into.r0 |= b.r0;
  into.w0 |= b.w0;
  into.c0 |= b.c0;
  if (b.hi === null) return;
  const h = (into.hi ??= { r: [], w: [], c: [] });
  const or = (x: number[], y: number[]) => {
    for (let k = 0; k < y.length; k++) x[k] = (x[k] ?? 0) | y[k]!;
  };
  or(h.r, b.hi.r);
  or(h.w, b.hi.w);
  or(h.c, b.hi.c);
}

function copyBits(b: Bits): Bits {
  const c = new Bits();
  orInto(c, b);
  return c;
}

/** Every object of b is in a (and b depends on everything only if a does). */
export function covers(a: Bits, b: Bits): boolean {
  if ((b.all && !a.all) || ((b.r0 & ~a.r0) | (b.w0 & ~a.w0) | (b.c0 & ~a.c0)) !== 0) return false;
  if (b.hi === null) return true;
  if (a.hi === null) return false;
  const sub = (x: number[], y: number[]) => y.every((w, k) => (w & ~(x[k] ?? 0)) === 0);
  return sub(a.hi.r, b.hi.r) && sub(a.hi.w, b.hi.w) && sub(a.hi.c, b.hi.c);
}

/**
 * into[actor] ∪= b. Bits are shared between summaries, path steps and
 * probes (most merges add nothing new), so they are copied only when
 * `into` must change bits it does not own.
 */
export function mergeBits(into: (Bits | null)[], owner: object, actor: number, b: Bits): void {
  let s = into[actor];
  if (!s) { into[actor] = b; return; }
  if (s === b || covers(s, b)) return;
  if (s.owner !== owner) {
    s = copyBits(s);
    s.owner = owner;
    into[actor] = s;
  }
  orInto(s, b);
}

/** A probe's footprints as bitsets, kept on the probe (Probe.compiled), marked with the encoder whose ids they use. */
export interface ProbeBits {
  encoder: FootprintEncoder;
  /** The union of every alternative's footprint. */
  all: Bits;
  /** Each alternative's own, index for index with Probe.alternatives. */
  alts: Bits[];
}

/** The pseudo-object every visible write also writes. */
const VISIBLE = 0;

/**
 * Converts footprints to bitsets for one search: object ids are interned
 * here, so bitsets of two encoders never meet.
 */
export class FootprintEncoder {
  private readonly ids = new Map<string, number>([["<visible>", VISIBLE]]);

  /**
   * `seesWrite`: whether an after-step check can see a write of a key (it
   * may also remember the keys it answers no for: see visibility.ts); null
   * when no reduction needs the visible writes ordered.
   */
  constructor(private readonly seesWrite: ((key: string) => boolean) | null) {}

  private idOf(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size));
    return id;
  }

  toBits(fp: Footprint): Bits {
    const b = new Bits();
    for (const r of fp.reads) setBit(b, READ, this.idOf(r));
    for (const w of fp.writes) {
      // Not a string only in a blocked step run early by a probe, which may
      // use a key it never found (see Store.seen): an object like any other.
      setBit(b, typeof w === "string" && w.endsWith(":*") ? COLLECTION_WRITE : WRITE, this.idOf(w));
      if (this.seesWrite?.(w)) setBit(b, WRITE, VISIBLE);
    }
    return b;
  }

  /** A probe's bitsets, converted once per probe while this encoder's search lasts. */
  ofProbe(pr: Probe): ProbeBits {
    const c = pr.compiled as ProbeBits | undefined;
    if (c !== undefined && c.encoder === this) return c;
    const b: ProbeBits = { encoder: this, all: this.toBits(pr.footprint), alts: pr.footprints.map((fp) => this.toBits(fp)) };
    pr.compiled = b;
    return b;
  }
}
