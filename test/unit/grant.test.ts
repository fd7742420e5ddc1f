import { beforeEach, describe, expect, it } from "vitest";
import { DataPlane, GTF } from "../../web/src/core";

// Xen's v1 grant semantics (xen/common/grant_table.c: map_grant_ref,
// _set_status_v1, unmap_common_complete, gnttab_copy), see docs/reference-checks.md.
const BACK = 0, GUEST = 1, OTHER = 2;

describe("grant tables", () => {
  let dp: DataPlane;
  beforeEach(async () => {
    dp = await DataPlane.create({ maxFrames: 1024 });
    dp.createDomain(BACK);
    dp.createDomain(GUEST, { pages: 16 });
    dp.createDomain(OTHER, { pages: 16 });
  });

  // [entry type, entry grantee, entry read-only, map read-only] -> status
  const matrix: [string, number, boolean, boolean, number][] = [
    ["permit_access", BACK, false, false, 0],
    ["permit_access", BACK, false, true, 0],
    ["permit_access", BACK, true, true, 0],
    ["permit_access", BACK, true, false, -1], // write-pin of a r/o entry
    ["permit_access", OTHER, false, false, -1], // granted to someone else
    ["permit_access", OTHER, false, true, -1],
    ["invalid", BACK, false, true, -1],
    ["accept_transfer", BACK, false, true, -1],
    ["transitive", BACK, false, true, -1],
  ];
  const TYPE = { invalid: 0, permit_access: GTF.permit_access, accept_transfer: GTF.accept_transfer, transitive: GTF.transitive } as Record<string, number>;

  it.each(matrix)("entry %s for d%i (readonly %s), map readonly %s -> GNTST %i", (type, grantee, ro, mapRo, status) => {
    dp.writeGrantEntry(GUEST, 10, { flags: TYPE[type] | (ro ? GTF.readonly : 0), domid: grantee, frame: 3 });
    const r = dp.mapGrant(BACK, GUEST, 10, { readonly: mapRo });
    if (status === 0) {
      expect(r.ok).toBe(true);
      const flags = dp.readGrantEntry(GUEST, 10).flags;
      expect(flags & GTF.reading).toBe(GTF.reading);
      expect(flags & GTF.writing).toBe(mapRo ? 0 : GTF.writing);
    } else {
      expect(r).toEqual({ ok: false, status, name: "general_error" });
      expect(dp.grantPins(GUEST, 10)).toBe(0);
    }
  });

  it("names bad refs, dead domains and bad handles as Xen does", () => {
    expect(dp.mapGrant(BACK, GUEST, 4 * 512, {})).toMatchObject({ ok: false, status: -3, name: "bad_gntref" });
    expect(dp.mapGrant(BACK, 9, 1, {})).toMatchObject({ ok: false, status: -2, name: "bad_domain" });
    expect(dp.unmapGrant(BACK, 17)).toEqual({ status: -4, name: "bad_handle" });
    dp.grantAccess(GUEST, 11, BACK, 99); // frame outside the guest's 16 pages
    expect(dp.mapGrant(BACK, GUEST, 11)).toMatchObject({ ok: false, name: "general_error" });
  });

  it("counts pins; end access fails while mapped and succeeds after the last unmap", () => {
    dp.grantAccess(GUEST, 12, BACK, 4);
    const a = dp.mapGrant(BACK, GUEST, 12);
    const b = dp.mapGrant(BACK, GUEST, 12, { readonly: true });
    if (!a.ok || !b.ok) throw new Error("map failed");
    expect(dp.grantPins(GUEST, 12)).toBe(2);
    expect(dp.endForeignAccess(GUEST, 12)).toBe(false);
    expect(dp.readGrantEntry(GUEST, 12).flags).toBe(GTF.permit_access | GTF.reading | GTF.writing);
    dp.unmapGrant(BACK, a.handle); // last writable pin gone: GTF_writing clears
    expect(dp.readGrantEntry(GUEST, 12).flags).toBe(GTF.permit_access | GTF.reading);
    expect(dp.endForeignAccess(GUEST, 12)).toBe(false);
    dp.unmapGrant(BACK, b.handle);
    expect(dp.readGrantEntry(GUEST, 12).flags).toBe(GTF.permit_access);
    expect(dp.endForeignAccess(GUEST, 12)).toBe(true);
    expect(dp.readGrantEntry(GUEST, 12).flags).toBe(0);
    expect(dp.mapGrant(BACK, GUEST, 12).ok).toBe(false); // revoked: later maps fail
  });

  it("a mapping made before a hostile overwrite of the entry keeps working on the frame it pinned", () => {
    dp.guestWrite(GUEST, 5, 0, Uint8Array.of(0xaa));
    dp.grantAccess(GUEST, 13, BACK, 5);
    const m = dp.mapGrant(BACK, GUEST, 13);
    if (!m.ok) throw new Error("map failed");
    dp.writeGrantEntry(GUEST, 13, { flags: 0, domid: 0, frame: 0 }); // Xen cannot stop this
    expect(dp.mappedRead(BACK, m.handle, 0, 1)).toEqual(Uint8Array.of(0xaa));
    expect(dp.unmapGrant(BACK, m.handle).name).toBe("okay");
  });

  it("the backend reads and writes exactly the granted page, and cannot write through a read-only map", () => {
    dp.grantAccess(GUEST, 14, BACK, 6, { readonly: true });
    const m = dp.mapGrant(BACK, GUEST, 14, { readonly: true });
    if (!m.ok) throw new Error("map failed");
    expect(() => dp.mappedWrite(BACK, m.handle, 0, Uint8Array.of(1))).toThrow(/read-only/);
    dp.guestWrite(GUEST, 6, 4000, Uint8Array.of(9, 8, 7));
    expect(dp.mappedRead(BACK, m.handle, 4000, 3)).toEqual(Uint8Array.of(9, 8, 7));
  });

  it("grant copy checks page bounds, the grantee and read-only destinations", () => {
    dp.grantAccess(GUEST, 20, BACK, 7);
    dp.grantAccess(GUEST, 21, BACK, 8, { readonly: true });
    dp.guestWrite(GUEST, 7, 0, Uint8Array.of(1, 2, 3, 4));
    expect(dp.grantCopy(BACK, { ref: 20, dom: GUEST, offset: 0 }, { gfn: 1, offset: 10 }, 4)).toEqual({ status: 0, name: "okay" });
    expect(dp.guestRead(BACK, 1, 10, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(dp.grantCopy(BACK, { gfn: 1, offset: 4090 }, { ref: 20, dom: GUEST, offset: 0 }, 8).name).toBe("bad_copy_arg");
    expect(dp.grantCopy(BACK, { gfn: 1, offset: 0 }, { ref: 21, dom: GUEST, offset: 0 }, 8).name).toBe("general_error");
    expect(dp.grantCopy(OTHER, { ref: 20, dom: GUEST, offset: 0 }, { gfn: 1, offset: 0 }, 4).name).toBe("general_error");
    expect(dp.grantCopy(BACK, { ref: 9999, dom: GUEST, offset: 0 }, { gfn: 1, offset: 0 }, 4).name).toBe("bad_gntref");
    expect(dp.grantPins(GUEST, 20)).toBe(0); // a copy leaves no mapping behind
  });

  it("a destroyed domain lingers while its grants are mapped, and mappings it held are dropped", () => {
    dp.grantAccess(GUEST, 30, BACK, 2);
    dp.grantAccess(OTHER, 31, GUEST, 2);
    const held = dp.mapGrant(GUEST, OTHER, 31);
    const m = dp.mapGrant(BACK, GUEST, 30);
    if (!m.ok || !held.ok) throw new Error("map failed");
    expect(dp.destroyDomain(GUEST)).toBe("dying");
    expect(dp.grantPins(OTHER, 31)).toBe(0);
    expect(dp.mapGrant(BACK, GUEST, 30)).toMatchObject({ name: "bad_domain" });
    const inUse = dp.framesInUse;
    dp.unmapGrant(BACK, m.handle);
    expect(dp.domainState(GUEST)).toBe("free");
    expect(dp.framesInUse).toBeLessThan(inUse);
  });

  it("runs out of maptrack handles with GNTST_no_device_space", () => {
    dp.grantAccess(GUEST, 40, BACK, 3, { readonly: true });
    let last;
    for (let i = 0; i <= 4096; i++) last = dp.mapGrant(BACK, GUEST, 40, { readonly: true });
    expect(last).toEqual({ ok: false, status: -7, name: "no_device_space" });
  });
});

describe("domain destruction and rings", () => {
  it("destroying the backend domain disconnects its rings; the guest's pages are released when unmapped", async () => {
    const { setup, DOM0, GUEST } = await import("../support/world");
    const s = await setup();
    expect(s.dp.destroyDomain(DOM0)).toBe("freed");
    expect(() => s.dp.backendIndices(s.back)).toThrow(/not connected/);
    expect(s.dp.grantPins(GUEST, 8)).toBe(0);
    expect(s.dp.destroyDomain(GUEST)).toBe("freed");
    expect(() => s.dp.frontendIndices(s.front)).toThrow(/does not exist/);
  });

  it("destroying the guest leaves it dying while blkback maps its ring, and blkback keeps a consistent view", async () => {
    const { setup, GUEST } = await import("../support/world");
    const s = await setup();
    expect(s.dp.destroyDomain(GUEST)).toBe("dying");
    expect(s.dp.backendProcess(s.back)).toMatchObject({ answered: 0, bogus: false });
    s.dp.backendDisconnect(s.back);
    expect(s.dp.domainState(GUEST)).toBe("free");
  });
});
