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

/** The probability that `n` distinct states include two with the same 64-bit fingerprint. */
export function collisionOdds(n: number): number {
  return -Math.expm1(-(n * (n - 1)) / 2 / 2 ** 64);
}
