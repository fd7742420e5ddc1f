import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bits, FootprintEncoder, covers, dependent, mergeBits } from "../../web/src/sim/footprint-bits";
import { conflicts, type Footprint } from "../../web/src/sim/store";
import { Visibility } from "../../web/src/sim/visibility";

// The exhaustive search decides dependence on bitsets (footprint-bits.ts),
// converted from the footprints the store records (sets of keys); the store
// defines dependence on those (store.ts, `conflicts`). What these properties
// prove, for every pair of footprints over a universe with plain objects,
// collections ("kind:*", written by creating or deleting a member; two such
// writes commute) and scoped collections ("kind:scope:*"), with object ids
// below 32 (one word) and above (the arrays):
// - with no after-step check looking (the encoder the search uses when
//   neither DPOR nor sleep sets is on, or when the checks read nothing the
//   footprints write): dependent(toBits(a), toBits(b)) === conflicts(a, b);
// - with checks that read some objects, kinds or scopes (Visibility, as the
//   search builds it): dependent(toBits(a), toBits(b)) ===
//   conflicts(a, b) || (a writes a visible key && b writes a visible key),
//   the search's one rule added to the store's relation (visibility.ts);
// - summaries (unions by mergeBits) are dependent with a footprint exactly
//   when one of their parts is, cover their parts, and leave the bits they
//   were built from unchanged.
// So the reductions neither miss a conflict the store records nor see one
// it does not, beyond visible writes. Whether the store records every
// conflict of a model is another question (reduction-soundness, end to end).

const objects = ["var:a", "var:b", "loop:dom0:1", "loop:dom0:2", "loop:dom1:1", "x"];
const collections = ["var:*", "loop:*", "loop:dom0:*", "loop:dom1:*", "*"];
const universe = [...objects, ...collections];

const keys = fc.subarray(universe);
const footprint: fc.Arbitrary<Footprint> = fc.record({ reads: keys, writes: keys }).map((f) => ({ reads: new Set(f.reads), writes: new Set(f.writes) }));
/** Keys interned before the footprints compared: 0 keeps their ids in the first word, 40 moves them all past it. */
const fillers = fc.integer({ min: 0, max: 40 });
/** What the checks read: objects, kinds, scopes, or every key ("*", as peekKeys records it). */
const observed = fc.subarray([...objects, ...collections]);

function encoder(filler: number, vis: Visibility | null): FootprintEncoder {
  const enc = new FootprintEncoder(vis ? vis.seesWrite : null);
  enc.toBits({ reads: new Set(Array.from({ length: filler }, (_, i) => `filler:${i}`)), writes: new Set() });
  return enc;
}

describe("footprints as bitsets: the search's dependence is the store's conflicts", () => {
  it("with nothing visible to checks: dependent(toBits(a), toBits(b)) === conflicts(a, b)", () => {
    fc.assert(fc.property(footprint, footprint, fillers, (a, b, filler) => {
      const enc = encoder(filler, null);
      expect(dependent(enc.toBits(a), enc.toBits(b))).toBe(conflicts(a, b));
    }), { numRuns: 2000, seed: 20261208 });
  });

  it("with checks reading some keys: conflicts, or both write something a check sees", () => {
    fc.assert(fc.property(footprint, footprint, fillers, observed, (a, b, filler, seen) => {
      const vis = new Visibility(new Set(seen));
      const enc = encoder(filler, vis);
      const writesVisible = (f: Footprint) => [...f.writes].some((w) => vis.visible(w));
      expect(dependent(enc.toBits(a), enc.toBits(b))).toBe(conflicts(a, b) || (writesVisible(a) && writesVisible(b)));
    }), { numRuns: 2000, seed: 20261209 });
  });

  it("a union of footprints (a summary) is dependent with a step exactly when one of its parts is, and covers them", () => {
    fc.assert(fc.property(footprint, footprint, footprint, fillers, (a, b, c, filler) => {
      const enc = encoder(filler, null);
      const [ba, bb, bc] = [enc.toBits(a), enc.toBits(b), enc.toBits(c)];
      const before = [ba, bb].map((x) => JSON.stringify(x));
      const summary: (Bits | null)[] = [null];
      const owner = {};
      mergeBits(summary, owner, 0, ba);
      mergeBits(summary, owner, 0, bb);
      const u = summary[0]!;
      expect(dependent(u, bc)).toBe(dependent(ba, bc) || dependent(bb, bc));
      expect(covers(u, ba) && covers(u, bb)).toBe(true);
      expect([ba, bb].map((x) => JSON.stringify(x))).toEqual(before);
    }), { numRuns: 1000, seed: 20261210 });
  });
});
