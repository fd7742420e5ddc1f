// The visited-state table of the exhaustive search: per 64-bit state key, a
// value and a tag, a set of actors (the sleep set the state was explored
// with). Keys live in two typed arrays with open addressing (linear
// probing, at most half full), and tags in one more, `words` per entry, so
// a state costs no allocation but its value: searches visit millions.

import type { ActorSet } from "./actor-set";
import { InternalError, internal } from "./assert";

export class StateTable<V> {
  private k0 = new Uint32Array(1024);
  private k1 = new Uint32Array(1024);
  /** Index + 1 into values; 0: an empty slot. */
  private slot = new Int32Array(1024);
  private readonly values: V[] = [];
  private tags: Int32Array;

  /** `words`: of each tag (actor-set.ts); `debug`: check the whole table each time it grows (costs a pass over it). */
  constructor(private readonly words: number, private readonly debug = false) {
    this.tags = new Int32Array(1024 * words);
  }

  get size(): number {
    return this.values.length;
  }

  /** The slot holding the key, or the empty slot where it would go (there is one: the table is at most half full). */
  private find(a: number, b: number): number {
    const mask = this.slot.length - 1;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const s = this.slot[i]!;
      if (s === 0 || (this.k0[i] === a && this.k1[i] === b)) return i;
      i = (i + 1) & mask;
    }
  }

  /** The entry's index, or -1. */
  indexOf(a: number, b: number): number {
    return this.slot[this.find(a, b)]! - 1;
  }

  value(i: number): V {
    return this.values[i]!;
  }

  /** Entry i's tag, into `out`. */
  tagInto(i: number, out: ActorSet): void {
    const base = i * this.words;
    for (let w = 0; w < this.words; w++) out[w] = this.tags[base + w]!;
  }

  /** Entry i's tag becomes its intersection with `s`. */
  keepInTag(i: number, s: ActorSet): void {
    const base = i * this.words;
    for (let w = 0; w < this.words; w++) this.tags[base + w]! &= s[w]!;
  }

  /** A new entry (the key must be absent: a second entry would hide the first's value). */
  add(a: number, b: number, v: V, tag: ActorSet): void {
    if ((this.values.length + 1) * 2 > this.slot.length) this.grow();
    const i = this.find(a, b);
    if (this.slot[i] !== 0) throw new InternalError(`state ${(a >>> 0).toString(16)}:${(b >>> 0).toString(16)} added to the visited table twice`);
    this.values.push(v);
    if (this.values.length * this.words > this.tags.length) {
      const t = new Int32Array(this.tags.length * 2);
      t.set(this.tags);
      this.tags = t;
    }
    const base = (this.values.length - 1) * this.words;
    for (let w = 0; w < this.words; w++) this.tags[base + w] = tag[w]!;
    this.k0[i] = a;
    this.k1[i] = b;
    this.slot[i] = this.values.length;
  }

  private grow(): void {
    const { k0, k1, slot } = this;
    const cap = slot.length * 2;
    this.k0 = new Uint32Array(cap);
    this.k1 = new Uint32Array(cap);
    this.slot = new Int32Array(cap);
    for (let i = 0; i < slot.length; i++) {
      if (slot[i] === 0) continue;
      const j = this.find(k0[i]!, k1[i]!);
      this.k0[j] = k0[i]!;
      this.k1[j] = k1[i]!;
      this.slot[j] = slot[i]!;
    }
    if (this.debug) this.verify();
  }

  /** Every entry is found under its key, in exactly one slot, and the table is at most half full. */
  verify(): void {
    const n = this.values.length;
    internal(n * 2 <= this.slot.length, () => `visited table over half full: ${n} entries in ${this.slot.length} slots`);
    const held = new Uint8Array(n);
    let used = 0;
    for (let i = 0; i < this.slot.length; i++) {
      const s = this.slot[i]!;
      if (s === 0) continue;
      used++;
      internal(s <= n && held[s - 1] === 0, () => `visited table: slot ${i} holds entry ${s - 1} (${n} entries), or a second time`);
      held[s - 1] = 1;
      internal(this.find(this.k0[i]!, this.k1[i]!) === i, () => `visited table: the entry in slot ${i} is not found under its key`);
    }
    internal(used === n, () => `visited table: ${used} slots used for ${n} entries`);
  }
}
