// The world's shared objects, reached only through accessors that record
// what each step reads and writes (its footprint). Two steps are dependent
// when their footprints overlap and one of them writes; the explorer's
// reductions rest on that, so nothing here is ever declared by hand.
//
// Objects are named "kind:id" ("loop:0", "file:/run/state", "xs:/local/...")
// and hold immutable JSON-like values: a model replaces a value, never
// mutates it. Creating or deleting an object also writes its collection
// "kind:*", which listing reads, so "list all loop devices" conflicts with
// "create loop8" but not with "change loop3". An object named
// "kind:scope:rest" is also in the scoped collection "kind:scope:*" (most
// kinds name their domain second: "loop:dom0:3"), so a kernel listing its
// own loop devices does not conflict with another domain creating one.
//
// Checkpoints are an undo log (restore costs what changed since), and the
// 64-bit fingerprint is the XOR of a hash per object, brought up to date
// lazily: a write only marks its object, and the next fingerprint rehashes
// the marked ones (sampling, which never asks, never pays for hashing).

import { fmix, hashString, hashValue, hex64, type Hash64 } from "./hash";

const ABSENT = Symbol("absent");
const EMPTY_LIST: readonly string[] = [];

/**
 * Whether two results of `Store.seen` show the same value: the same
 * reference, or equal JSON-like structures (a step that writes back what
 * was there, an opener counted and uncounted, makes a new object with the
 * old content).
 */
export function sameSeen(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameSeen(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameSeen((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
type Slot = unknown | typeof ABSENT;

export interface Footprint {
  reads: Set<string>;
  writes: Set<string>;
}

export function emptyFootprint(): Footprint {
  return { reads: new Set(), writes: new Set() };
}

/**
 * Dependent: overlapping objects, one of the two writing. A collection
 * ("kind:*") is written only by creating or deleting a member, and two such
 * writes commute (the set of members ends the same), so only a listing
 * (a read of the collection) conflicts with them.
 */
export function conflicts(a: Footprint, b: Footprint): boolean {
  for (const w of a.writes) if (b.reads.has(w) || (b.writes.has(w) && !w.endsWith(":*"))) return true;
  for (const w of b.writes) if (a.reads.has(w)) return true;
  return false;
}

export function collectionOf(key: string): string {
  const i = key.indexOf(":");
  return i < 0 ? "*" : `${key.slice(0, i)}:*`;
}

/** The scoped collection of "kind:scope:rest" ("kind:scope:*"), or undefined for a key without a scope. */
export function scopedCollectionOf(key: string): string | undefined {
  const i = key.indexOf(":");
  if (i < 0) return undefined;
  const j = key.indexOf(":", i + 1);
  return j < 0 ? undefined : `${key.slice(0, j)}:*`;
}

export class Store {
  private readonly objects = new Map<string, unknown>();
  /** The hash of each object as it is counted in fp0/fp1. */
  private readonly objectHash = new Map<string, Hash64>();
  /** Objects changed since their hash was counted. */
  private readonly stale = new Set<string>();
  private fp0 = 0;
  private fp1 = 0;
  private readonly undo: [string, Slot][] = [];
  private readonly marks: number[] = [];
  /** The footprint being recorded (the step in hand), or null. */
  recording: Footprint | null = null;
  /**
   * The members of each collection ("loop:*" → every "loop:..." key, and
   * "loop:dom0:*" → every "loop:dom0:..." key), and their sorted list while
   * unchanged: list() is on hot paths (guards).
   */
  private readonly members = new Map<string, { keys: Set<string>; sorted: string[] | null }>();

  private indexAdd(key: string): void {
    this.memberAdd(collectionOf(key), key);
    const scoped = scopedCollectionOf(key);
    if (scoped !== undefined) this.memberAdd(scoped, key);
  }

  private memberAdd(collection: string, key: string): void {
    let e = this.members.get(collection);
    if (!e) this.members.set(collection, (e = { keys: new Set(), sorted: null }));
    e.keys.add(key);
    e.sorted = null;
  }

  private indexRemove(key: string): void {
    for (const c of [collectionOf(key), scopedCollectionOf(key)]) {
      if (c === undefined) continue;
      const e = this.members.get(c);
      if (e?.keys.delete(key)) e.sorted = null;
    }
  }

  /** A collection's members, sorted (the array is shared: callers copy it). */
  private sortedMembers(collection: string): readonly string[] {
    const e = this.members.get(collection);
    if (!e) return EMPTY_LIST;
    return (e.sorted ??= [...e.keys].sort());
  }

  /** Records the collections a creation or deletion changes. */
  private membershipChanged(key: string): void {
    if (!this.recording) return;
    this.recording.writes.add(collectionOf(key));
    const scoped = scopedCollectionOf(key);
    if (scoped !== undefined) this.recording.writes.add(scoped);
  }

  get<T>(key: string): T | undefined {
    this.recording?.reads.add(key);
    return this.objects.get(key) as T | undefined;
  }

  has(key: string): boolean {
    this.recording?.reads.add(key);
    return this.objects.has(key);
  }

  set(key: string, value: unknown): void {
    const existed = this.objects.has(key);
    this.recording?.writes.add(key);
    if (!existed) {
      this.membershipChanged(key);
      this.indexAdd(key);
    }
    this.remember(key, existed ? this.objects.get(key) : ABSENT);
    this.objects.set(key, value);
    this.stale.add(key);
  }

  delete(key: string): void {
    if (!this.objects.has(key)) return;
    this.recording?.writes.add(key);
    this.membershipChanged(key);
    this.remember(key, this.objects.get(key));
    this.objects.delete(key);
    this.indexRemove(key);
    this.stale.add(key);
  }

  /**
   * What a read of `key` saw, without recording it, for comparing later:
   * the value itself (values are immutable and a restore puts back the very
   * same one, so the same reference means the same value, also after going
   * back and forth), a marker for a missing object, and for a
   * collection ("kind:*") its sorted member list.
   */
  seen(key: string): unknown {
    if (typeof key !== "string") return ABSENT; // a blocked step run by a probe may look up a key it never found
    if (key.endsWith(":*")) return this.sortedMembers(key);
    const v = this.objects.get(key);
    return v === undefined && !this.objects.has(key) ? ABSENT : v;
  }

  /**
   * Keys of a collection, sorted for determinism: `list("loop")` every
   * "loop:...", `list("loop", "dom0")` every "loop:dom0:..." (and only a
   * change of those conflicts with it).
   */
  list(kind: string, scope?: string): string[] {
    const c = scope === undefined ? `${kind}:*` : `${kind}:${scope}:*`;
    this.recording?.reads.add(c);
    return this.sortedMembers(c).slice();
  }

  /**
   * Objects read by `peek` while set ("*" for `peekKeys`, which sees which
   * objects exist): the explorer learns what invariants look at, since steps
   * that change it are visible to them. Not a footprint; null outside those
   * checks.
   */
  observed: Set<string> | null = null;

  /** Reads without recording: for invariants, views and fingerprints, never for models. */
  peek<T>(key: string): T | undefined {
    this.observed?.add(key);
    return this.objects.get(key) as T | undefined;
  }
  peekKeys(): string[] {
    this.observed?.add("*");
    return [...this.objects.keys()].sort();
  }
  /**
   * list() without recording, for invariants and views: only the kind's
   * members, so an after-step invariant that lists one kind sees creations
   * and deletions of that kind only (peekKeys sees all of them).
   */
  peekList(kind: string, scope?: string): string[] {
    const c = scope === undefined ? `${kind}:*` : `${kind}:${scope}:*`;
    this.observed?.add(c);
    return this.sortedMembers(c).slice();
  }


  private remember(key: string, old: Slot): void {
    if (this.marks.length > 0) this.undo.push([key, old]);
  }

  fingerprint(): Hash64 {
    for (const key of this.stale) {
      const old = this.objectHash.get(key);
      if (old) {
        this.fp0 ^= old[0];
        this.fp1 ^= old[1];
        this.objectHash.delete(key);
      }
      if (this.objects.has(key)) {
        const h = this.entryHash(key, this.objects.get(key));
        this.objectHash.set(key, h);
        this.fp0 ^= h[0];
        this.fp1 ^= h[1];
      }
    }
    this.stale.clear();
    return [this.fp0 >>> 0, this.fp1 >>> 0];
  }
  /** The values of `keys` now (a step's writes as they ended, to apply again: see Execution.probe). */
  capture(keys: Iterable<string>): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const key of keys) {
      if (key.endsWith(":*")) continue; // a collection follows its members
      out.push([key, this.objects.has(key) ? this.objects.get(key) : ABSENT]);
    }
    return out;
  }

  /** Sets (or deletes) objects to values `capture` took, without recording: the caller records the step's footprint. */
  apply(entries: readonly [string, unknown][]): void {
    const rec = this.recording;
    this.recording = null;
    for (const [key, value] of entries) {
      if (value === ABSENT) this.delete(key);
      else this.set(key, value);
    }
    this.recording = rec;
  }

  /** Hashes of keys, and of object values by identity (immutable: a restore brings back the very object, already hashed). */
  private readonly keyHashes = new Map<string, Hash64>();
  private readonly valueHashes = new WeakMap<object, Hash64>();

  /** The hash of one object as the fingerprint counts it: its key's and its value's, mixed. */
  private entryHash(key: string, value: unknown): Hash64 {
    let k = this.keyHashes.get(key);
    if (k === undefined) this.keyHashes.set(key, (k = hashString(key)));
    const v = hashValue(value, this.valueHashes);
    return [fmix((k[0] ^ Math.imul(v[0], 0x9e3779b1)) >>> 0), fmix((k[1] + Math.imul(v[1], 0x85ebca6b)) >>> 0)];
  }

  fingerprintHex(): string {
    return hex64(this.fingerprint());
  }

  // ---- checkpoints ----

  checkpoint(): number {
    this.marks.push(this.undo.length);
    return this.marks.length;
  }

  restore(id: number): void {
    if (id < 1 || id > this.marks.length) throw new RangeError(`no open store checkpoint ${id}`);
    const to = this.marks[id - 1]!;
    const rec = this.recording;
    this.recording = null;
    while (this.undo.length > to) {
      const [key, old] = this.undo.pop()!;
      if (old === ABSENT) {
        this.objects.delete(key);
        this.indexRemove(key);
      } else {
        if (!this.objects.has(key)) this.indexAdd(key);
        this.objects.set(key, old);
      }
      this.stale.add(key);
    }
    this.marks.length = id;
    this.recording = rec;
  }

  release(id: number): void {
    if (id < 1 || id > this.marks.length) throw new RangeError(`no open store checkpoint ${id}`);
    this.marks.length = id - 1;
    if (this.marks.length === 0) this.undo.length = 0;
  }

  get checkpointDepth(): number {
    return this.marks.length;
  }
}
