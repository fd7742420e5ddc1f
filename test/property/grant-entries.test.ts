// Grant-table properties a hostile guest can reach through its own entries:
// what the facade reads back, Linux's end-access CAS, and Xen's pin and
// GTF_reading/GTF_writing bookkeeping (reference-checks.md §9, §11), checked
// against the GrantModel in model.ts.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { DataPlane } from "../../web/src/core/data-plane";
import { GTF } from "./harness";
import { GrantModel, type Handle } from "./model";

const MAPPER = 0, GRANTER = 1, PAGES = 8, REFS = 6;
const int = (min: number, max: number) => fc.integer({ min, max });

describe("grant entries written by a hostile guest", () => {
  let dp: DataPlane;
  let base: number;
  beforeAll(async () => {
    dp = await DataPlane.create({ maxFrames: 1024 });
    dp.createDomain(MAPPER, { pages: 4, grantFrames: 1 });
    dp.createDomain(GRANTER, { pages: PAGES, grantFrames: 1 });
    base = dp.checkpoint();
  });

  it("readGrantEntry returns exactly the flags, domid and frame written, for any u16 flags, u16 domid and u32 frame", () => {
    fc.assert(
      fc.property(int(0, 511), int(0, 0xffff), int(0, 0xffff), fc.oneof(int(0, 0xffff), fc.integer({ min: 0, max: 0xffff_ffff })), (ref, flags, domid, frame) => {
        dp.restore(base);
        dp.writeGrantEntry(GRANTER, ref, { flags, domid, frame });
        expect(dp.readGrantEntry(GRANTER, ref)).toEqual({ flags, domid, frame });
      }),
      { numRuns: 300, examples: [[3, 0x1d, 0xfffe, 2 ** 21], [3, 0x1d, 0xfffe, 0xffff_ffff]] },
    );
  });

  it("endForeignAccess is Linux's v1 CAS: it revokes (flags := 0, domid and frame kept) exactly when neither GTF_reading nor GTF_writing is set, and changes nothing otherwise", () => {
    fc.assert(
      fc.property(int(0, 511), int(0, 0xffff), int(0, 0xffff), int(0, 2 ** 21 - 1), (ref, flags, domid, frame) => {
        dp.restore(base);
        dp.writeGrantEntry(GRANTER, ref, { flags, domid, frame });
        const inUse = (flags & (GTF.reading | GTF.writing)) !== 0;
        expect(dp.endForeignAccess(GRANTER, ref)).toBe(!inUse);
        expect(dp.readGrantEntry(GRANTER, ref)).toEqual({ flags: inUse ? flags : 0, domid, frame });
      }),
      { numRuns: 300 },
    );
  });

  // ---- sequences of guest writes, maps and unmaps against Xen's rules ----

  type Op =
    | { k: "grant"; ref: number; grantee: number; gfn: number; ro: boolean }
    | { k: "write"; ref: number; flags: number; domid: number; gfn: number }
    | { k: "end"; ref: number }
    | { k: "map"; ref: number; ro: boolean }
    | { k: "unmap"; which: number };

  const opArb = (forge: boolean): fc.Arbitrary<Op> => {
    const ref = int(0, REFS - 1);
    const gfn = fc.oneof({ weight: 5, arbitrary: int(0, PAGES - 1) }, { weight: 1, arbitrary: int(PAGES, PAGES + 2) });
    const flags = fc.record({
      type: fc.constantFrom(1, 1, 1, 0, 2, 3), ro: fc.boolean(), sub: fc.constantFrom(0, 0, 0, GTF.sub_page),
      xen: forge ? fc.constantFrom(0, GTF.reading, GTF.writing, GTF.reading | GTF.writing) : fc.constant(0),
    }).map((f) => f.type | (f.ro ? GTF.readonly : 0) | f.sub | f.xen);
    return fc.oneof(
      { weight: 2, arbitrary: fc.record({ k: fc.constant("grant" as const), ref, grantee: fc.constantFrom(MAPPER, MAPPER, 2), gfn, ro: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("write" as const), ref, flags, domid: fc.constantFrom(MAPPER, MAPPER, 2), gfn }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("end" as const), ref }) },
      { weight: 4, arbitrary: fc.record({ k: fc.constant("map" as const), ref, ro: fc.boolean() }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constant("unmap" as const), which: int(0, 100) }) },
    );
  };

  /** Runs `ops` on the core and on Xen's model, comparing every outcome, flag and pin count. */
  function runOps(ops: Op[], guestRewritesPinned: boolean): void {
    dp.restore(base);
    const m = new GrantModel(512, PAGES, MAPPER);
    const live: { handle: number; h: Handle }[] = [];
    ops.forEach((op, i) => {
      const at = `op ${i} ${JSON.stringify(op)}`;
      switch (op.k) {
        case "grant":
        case "write":
          if (!guestRewritesPinned && m.act[op.ref].pin > 0) return;
          if (op.k === "grant") {
            dp.grantAccess(GRANTER, op.ref, op.grantee, op.gfn, { readonly: op.ro });
            m.grantAccess(op.ref, op.grantee, op.gfn, op.ro);
          } else {
            dp.writeGrantEntry(GRANTER, op.ref, { flags: op.flags, domid: op.domid, frame: op.gfn });
            m.writeEntry(op.ref, op.flags, op.domid, op.gfn);
          }
          break;
        case "end":
          expect(dp.endForeignAccess(GRANTER, op.ref), at).toBe(m.endForeignAccess(op.ref));
          break;
        case "map": {
          const got = dp.mapGrant(MAPPER, GRANTER, op.ref, { readonly: op.ro });
          const want = m.map(op.ref, op.ro);
          expect(got.ok, `${at}: map succeeds`).toBe(want !== null);
          if (got.ok && want) live.push({ handle: got.handle, h: want });
          break;
        }
        case "unmap": {
          if (live.length === 0) return;
          const [x] = live.splice(op.which % live.length, 1);
          expect(dp.unmapGrant(MAPPER, x.handle).name, at).toBe("okay");
          m.unmap(x.h);
          break;
        }
      }
      for (let r = 0; r < REFS; r++) {
        const e = dp.readGrantEntry(GRANTER, r);
        expect([e.flags, e.domid, e.frame, dp.grantPins(GRANTER, r)], `${at}: ref ${r} [flags, domid, frame, pins]`)
          .toEqual([m.gt[r].flags, m.gt[r].domid, m.gt[r].frame, m.act[r].pin]);
      }
    });
  }

  it("map, unmap and end-access follow Xen's pin and GTF_reading/GTF_writing bookkeeping for a guest that leaves Xen's bits alone and does not rewrite entries while they are mapped", () => {
    fc.assert(fc.property(fc.array(opArb(false), { minLength: 1, maxLength: 40, size: "medium" }), (ops) => runOps(ops, false)), { numRuns: 300 });
  });

  it("map, unmap and end-access follow Xen's bookkeeping also when the guest forges GTF_reading/GTF_writing and rewrites entries while they are mapped", () => {
    fc.assert(fc.property(fc.array(opArb(true), { minLength: 1, maxLength: 40, size: "medium" }), (ops) => runOps(ops, true)), { numRuns: 300 });
  });

  // ---- the individual Xen rules behind the sequences ----

  it("unmapping a read-only mapping keeps a guest-set GTF_writing: Xen clears GTF_writing only when the last *writable* mapping goes (unmap_common_complete)", () => {
    fc.assert(
      fc.property(int(0, 511), int(0, PAGES - 1), fc.boolean(), fc.boolean(), (ref, gfn, forgedReading, guestRo) => {
        dp.restore(base);
        const flags = GTF.permit_access | GTF.writing | (forgedReading ? GTF.reading : 0) | (guestRo ? GTF.readonly : 0);
        dp.writeGrantEntry(GRANTER, ref, { flags, domid: MAPPER, frame: gfn });
        const r = dp.mapGrant(MAPPER, GRANTER, ref, { readonly: true });
        expect(r.ok).toBe(true);
        if (r.ok) dp.unmapGrant(MAPPER, r.handle);
        expect(dp.readGrantEntry(GRANTER, ref).flags).toBe(flags & ~GTF.reading);
      }),
      { numRuns: 50 },
    );
  });

  it("a first map that fails because the frame is outside the granter's memory clears GTF_reading (and GTF_writing for a writable map), as Xen's unlock_out_clear does", () => {
    fc.assert(
      fc.property(int(0, 511), int(PAGES, 0xffff), fc.constantFrom(GTF.reading, GTF.writing, GTF.reading | GTF.writing), fc.boolean(), (ref, gfn, forged, ro) => {
        dp.restore(base);
        dp.writeGrantEntry(GRANTER, ref, { flags: GTF.permit_access | forged, domid: MAPPER, frame: gfn });
        expect(dp.mapGrant(MAPPER, GRANTER, ref, { readonly: ro }).ok).toBe(false);
        const want = GTF.permit_access | (forged & ~GTF.reading & ~(ro ? 0 : GTF.writing));
        expect(dp.readGrantEntry(GRANTER, ref).flags).toBe(want);
      }),
      { numRuns: 50 },
    );
  });

  /** Grants `gfn`, maps it writable (the entry now has a writable pin), then the guest rewrites the entry. */
  function pinnedThenRewritten(ref: number, gfn: number, rewritten: number): void {
    dp.restore(base);
    dp.grantAccess(GRANTER, ref, MAPPER, gfn);
    expect(dp.mapGrant(MAPPER, GRANTER, ref).ok).toBe(true);
    dp.writeGrantEntry(GRANTER, ref, { flags: rewritten, domid: 7, frame: gfn });
  }
  const rewrittenFlags = int(0, 0xffff).map((f) => f & ~(GTF.reading | GTF.writing));

  it("a further map of an entry that already has a writable pin succeeds whatever the guest has since written (GTF_readonly included): Xen re-checks only when _set_status runs, i.e. for !act->pin or a writable map with no writable pin", () => {
    fc.assert(
      fc.property(int(0, 511), int(0, PAGES - 1), rewrittenFlags, fc.boolean(), (ref, gfn, rewritten, secondRo) => {
        pinnedThenRewritten(ref, gfn, rewritten);
        expect(dp.mapGrant(MAPPER, GRANTER, ref, { readonly: secondRo }).ok).toBe(true);
      }),
      { numRuns: 100, examples: [[0, 0, GTF.permit_access | GTF.readonly, false]] },
    );
  });

  it("a further map of an entry that already has a writable pin leaves the guest's flags as the guest wrote them (no _set_status, so no GTF_reading/GTF_writing set again)", () => {
    fc.assert(
      fc.property(int(0, 511), int(0, PAGES - 1), rewrittenFlags, fc.boolean(), (ref, gfn, rewritten, secondRo) => {
        pinnedThenRewritten(ref, gfn, rewritten);
        dp.mapGrant(MAPPER, GRANTER, ref, { readonly: secondRo });
        expect(dp.readGrantEntry(GRANTER, ref).flags).toBe(rewritten);
      }),
      { numRuns: 100 },
    );
  });
});
