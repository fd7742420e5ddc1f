// 64-bit hashing for fingerprints: two independent 32-bit FNV-1a/murmur-style
// lanes over a string. Deterministic across engines (no Math.random, no
// object identity). A 64-bit fingerprint of n distinct states collides with
// probability about n^2 / 2^65 (the birthday bound), which explorations report.

export type Hash64 = readonly [number, number];

export function hashString(s: string, seed = 0): Hash64 {
  let a = (0x811c9dc5 ^ seed) >>> 0;
  let b = (0x9e3779b9 ^ Math.imul(seed, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [fmix(a), fmix(b ^ s.length)];
}

/** Murmur3's finaliser: every input bit reaches every output bit. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Order-dependent combination (for sequences such as an actor's observations). */
export function mix(h: Hash64, x: Hash64): Hash64 {
  return [fmix((Math.imul(h[0], 31) ^ x[0]) >>> 0), fmix((Math.imul(h[1], 37) + x[1]) >>> 0)];
}

export function hex64(h: Hash64): string {
  return h[0].toString(16).padStart(8, "0") + h[1].toString(16).padStart(8, "0");
}

/** Canonical text of a JSON-like value: object keys sorted, so equal values hash alike. */
export function canonical(v: unknown): string {
  if (v === undefined) return "u";
  if (v === null || typeof v !== "object") {
    if (typeof v === "bigint") return `${v}n`;
    return JSON.stringify(v) ?? String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v instanceof Uint8Array) return `b${Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("")}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
}

const UNDEFINED: Hash64 = [0x6a09e667, 0xbb67ae85];
const NULL: Hash64 = [0x3c6ef372, 0xa54ff53a];
const TRUE: Hash64 = [0x510e527f, 0x9b05688c];
const FALSE: Hash64 = [0x1f83d9ab, 0x5be0cd19];

/**
 * The hash of a JSON-like value, computed from its structure without
 * building text (canonical() + hashString() allocated most of what a
 * search threw away): equal values hash alike, whatever their key order
 * (an object's entries combine by addition, which does not depend on
 * order); arrays are ordered. `cache` keeps the hash of each object by
 * identity, nested ones included: values are immutable, and a changed
 * object shares most of its parts with the one it replaced.
 */
export function hashValue(v: unknown, cache?: WeakMap<object, Hash64>): Hash64 {
  switch (typeof v) {
    case "string":
      return hashString(v, 0x51);
    case "number":
      if ((v | 0) === v && !Object.is(v, -0)) return [fmix((Math.imul(v, 0x9e3779b1) ^ 0x2545f491) >>> 0), fmix((Math.imul(v, 0x85ebca6b) + 0x68e31da4) >>> 0)];
      return hashString(JSON.stringify(v) ?? String(v), 0x52);
    case "boolean":
      return v ? TRUE : FALSE;
    case "undefined":
      return UNDEFINED;
    case "bigint":
      return hashString(`${v}`, 0x53);
    case "object": {
      if (v === null) return NULL;
      const hit = cache?.get(v);
      if (hit !== undefined) return hit;
      let h: Hash64;
      if (Array.isArray(v)) {
        let a = 0x243f6a88 ^ v.length;
        let b = 0x85a308d3 + v.length;
        for (const x of v) {
          const e = hashValue(x, cache);
          a = fmix((Math.imul(a, 31) ^ e[0]) >>> 0);
          b = fmix((Math.imul(b, 37) + e[1]) >>> 0);
        }
        h = [a, b];
      } else if (v instanceof Uint8Array) {
        h = hashString(canonical(v), 0x54);
      } else {
        let a = 0;
        let b = 0;
        let n = 0;
        const o = v as Record<string, unknown>;
        for (const k in o) {
          if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
          const kh = hashString(k, 0x55);
          const e = hashValue(o[k], cache);
          a = (a + fmix((kh[0] ^ Math.imul(e[0], 0xcc9e2d51)) >>> 0)) >>> 0;
          b = (b + fmix((kh[1] + Math.imul(e[1], 0x1b873593)) >>> 0)) >>> 0;
          n++;
        }
        h = [fmix((a ^ 0x13198a2e ^ n) >>> 0), fmix((b + 0x03707344 + n) >>> 0)];
      }
      cache?.set(v, h);
      return h;
    }
    default:
      return hashString(String(v), 0x56);
  }
}

/** The probability that `n` distinct states include two with the same 64-bit fingerprint. */
export function collisionOdds(n: number): number {
  return -Math.expm1(-(n * (n - 1)) / 2 / 2 ** 64);
}
