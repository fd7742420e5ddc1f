// Sets of actors as bit words: actor i is bit (i & 31) of word i >>> 5. A
// set is an Int32Array of as many words as the scenario's actors need (one
// up to 32), so the number of actors has no limit, and a set is allocated
// once per search node and reused, as the search's nodes are. The
// exhaustive search keeps several per state (enabled, to explore, asleep,
// explored before: dpor.ts, exhaustive.ts) and one per visited state
// (state-table.ts).

export type ActorSet = Int32Array;

/** Words of a set over `actors` actors. */
export function wordsFor(actors: number): number {
  return Math.max(1, (actors + 31) >>> 5);
}

export function has(s: ActorSet, i: number): boolean {
  return ((s[i >>> 5]! >>> (i & 31)) & 1) !== 0;
}

export function add(s: ActorSet, i: number): void {
  s[i >>> 5]! |= 1 << (i & 31);
}

export function clear(s: ActorSet): void {
  for (let w = 0; w < s.length; w++) s[w] = 0;
}

/** a ⊆ b. */
export function within(a: ActorSet, b: ActorSet): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w]! & ~b[w]!) !== 0) return false;
  return true;
}

export function sameSet(a: ActorSet, b: ActorSet): boolean {
  for (let w = 0; w < a.length; w++) if (a[w] !== b[w]) return false;
  return true;
}

/** The members among actors 0..n-1, for messages. */
export function members(s: ActorSet, n: number): string {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (has(s, i)) out.push(i);
  return `{${out.join(",")}}`;
}
