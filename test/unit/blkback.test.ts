import { describe, expect, it } from "vitest";
import { BLKIF_OP, encodeRequest, ringEntries, LAYOUT, type BlkifRequest } from "../../web/src/core";
import { DOM0, GUEST, IMAGE, RING_GFN, dataGfn, dataRef, fullPage, page, setup } from "../support/world";

// Validation order and statuses of Linux xen-blkback's dispatch_rw_block_io,
// dispatch_discard_io and dispatch_other_io (docs/reference-checks.md §2–§6).

const rw = (operation: "READ" | "WRITE" | "FLUSH_DISKCACHE" | "WRITE_BARRIER", sector: number, segs = [fullPage(0)], id = 7): BlkifRequest =>
  ({ operation, id, sector, segments: segs });

async function statusOf(req: BlkifRequest, opts: Parameters<typeof setup>[0] = {}) {
  const s = await setup(opts);
  const r = s.roundTrip([req]);
  if (r === "broken") throw new Error("broken");
  return r[0];
}

describe("blkback request validation", () => {
  it.each([
    ["READ of one page", rw("READ", 0), "OKAY"],
    ["WRITE of 11 segments", rw("WRITE", 0, Array.from({ length: 11 }, (_, i) => fullPage(i))), "OKAY"],
    ["READ with 0 segments", rw("READ", 0, []), "ERROR"],
    ["FLUSH with 0 segments", rw("FLUSH_DISKCACHE", 0, []), "OKAY"],
    ["WRITE_BARRIER with 0 segments (handled as a flush)", rw("WRITE_BARRIER", 0, []), "OKAY"],
    ["last_sect 8", rw("READ", 0, [{ gref: dataRef(0), firstSect: 0, lastSect: 8 }]), "ERROR"],
    ["last_sect < first_sect", rw("READ", 0, [{ gref: dataRef(0), firstSect: 5, lastSect: 4 }]), "ERROR"],
    ["first_sect = last_sect = 7 (one sector)", rw("READ", 0, [{ gref: dataRef(0), firstSect: 7, lastSect: 7 }]), "OKAY"],
    ["an ungranted page", rw("READ", 0, [{ gref: 300, firstSect: 0, lastSect: 7 }]), "ERROR"],
  ] as const)("%s -> %s", async (_name, req, status) => {
    const r = await statusOf(req);
    expect(r.statusName).toBe(status);
    expect(r.id).toBe(7n);
    expect(r.operation).toBe(BLKIF_OP[req.operation as keyof typeof BLKIF_OP]);
  });

  it("12 segments is more than BLKIF_MAX_SEGMENTS_PER_REQUEST: the count byte says 12, the backend refuses", async () => {
    const s = await setup();
    const bytes = encodeRequest(rw("READ", 0, Array.from({ length: 11 }, (_, i) => fullPage(i))));
    bytes[1] = 12;
    s.dp.frontendQueue(s.front, bytes);
    s.dp.frontendPush(s.front);
    s.dp.backendProcess(s.back);
    expect(s.dp.frontendConsume(s.front)).toMatchObject([{ statusName: "ERROR" }]);
  });

  it("bounds are in 512-byte sectors of the vbd: ending exactly at the end is fine, one past is not", async () => {
    const vbdSectors = 64;
    expect((await statusOf(rw("READ", vbdSectors - 8), { vbdSectors })).statusName).toBe("OKAY");
    expect((await statusOf(rw("READ", vbdSectors - 7), { vbdSectors })).statusName).toBe("ERROR");
    expect((await statusOf(rw("READ", 2 ** 53 - 4), { vbdSectors })).statusName).toBe("ERROR");
  });

  it("a read-only vbd refuses writes and flushes but serves reads", async () => {
    expect((await statusOf(rw("WRITE", 0), { readOnly: true })).statusName).toBe("ERROR");
    expect((await statusOf(rw("FLUSH_DISKCACHE", 0, []), { readOnly: true })).statusName).toBe("ERROR");
    expect((await statusOf(rw("READ", 0), { readOnly: true })).statusName).toBe("OKAY");
  });

  it("with a 4096-byte logical block size, I/O must be in whole blocks (Misaligned I/O request)", async () => {
    expect((await statusOf(rw("READ", 8), { logicalBlockSize: 4096 })).statusName).toBe("OKAY");
    expect((await statusOf(rw("READ", 4), { logicalBlockSize: 4096 })).statusName).toBe("ERROR");
    expect((await statusOf(rw("READ", 0, [{ gref: dataRef(0), firstSect: 0, lastSect: 3 }]), { logicalBlockSize: 4096 })).statusName).toBe("ERROR");
  });

  it.each([4, 7, 200])("unknown operation %i is answered EOPNOTSUPP with the operation echoed", async (op) => {
    const r = await statusOf({ operation: op, id: 99 });
    expect(r).toMatchObject({ statusName: "EOPNOTSUPP", operation: op, id: 99n });
  });

  it("discard: EOPNOTSUPP without device support, ERROR beyond the end or read-only, else the range reads as zeros", async () => {
    const d = (sector: number, nrSectors: number): BlkifRequest => ({ operation: "DISCARD", id: 3, sector, nrSectors });
    expect((await statusOf(d(0, 8))).statusName).toBe("EOPNOTSUPP");
    expect((await statusOf(d(0, 8), { discard: true, readOnly: true })).statusName).toBe("ERROR");
    const s = await setup({ discard: true });
    s.dp.writeImage(IMAGE, 0, new Uint8Array(8192).fill(5));
    expect(s.roundTrip([d(0, 8), d(8000, 1000)])).toMatchObject([{ statusName: "OKAY", operation: 5 }, { statusName: "ERROR" }]);
    expect(s.dp.readImage(IMAGE, 0, 8192)).toEqual(new Uint8Array(8192).fill(5, 4096));
  });

  it("indirect requests carry up to 256 segments in a granted descriptor page; the response echoes indirect_op", async () => {
    const s = await setup();
    const DESC_GFN = 200, DESC_REF = 200;
    s.dp.grantAccess(GUEST, DESC_REF, DOM0, DESC_GFN, { readonly: true });
    const n = 20;
    const desc = new Uint8Array(4096);
    const v = new DataView(desc.buffer);
    for (let i = 0; i < n; i++) {
      v.setUint32(i * 8, dataRef(i), true);
      v.setUint8(i * 8 + 4, 0);
      v.setUint8(i * 8 + 5, 7);
    }
    s.dp.guestWrite(GUEST, DESC_GFN, 0, desc);
    for (let i = 0; i < n; i++) s.dp.guestWrite(GUEST, dataGfn(i), 0, page((j) => i + j));
    const req = (indirectOp: "WRITE" | "READ" | number, nrSegments = n): BlkifRequest =>
      ({ operation: "INDIRECT", indirectOp, id: 11, sector: 16, nrSegments, indirectGrefs: [DESC_REF] });
    expect(s.roundTrip([req("WRITE")])).toMatchObject([{ statusName: "OKAY", operation: BLKIF_OP.WRITE }]);
    for (let i = 0; i < n; i++) expect(s.dp.readImage(IMAGE, (16 + 8 * i) * 512, 4096)).toEqual(page((j) => i + j));
    expect(s.roundTrip([req(3)])).toMatchObject([{ statusName: "ERROR", operation: 3 }]); // not READ/WRITE
    expect(s.roundTrip([req("READ", 257)])).toMatchObject([{ statusName: "ERROR" }]); // > MAX_INDIRECT_SEGMENTS
    expect(s.roundTrip([req("READ", 0)])).toMatchObject([{ statusName: "ERROR" }]);
    v.setUint8(5 * 8 + 5, 9); // a bad descriptor: last_sect 9
    s.dp.guestWrite(GUEST, DESC_GFN, 0, desc);
    expect(s.roundTrip([req("READ")])).toMatchObject([{ statusName: "ERROR" }]);
    expect(s.dp.grantPins(GUEST, DESC_REF)).toBe(0);
  });

  it("the x86_32 ABI is read at its own offsets (id at 4, sector at 12, segments at 20)", async () => {
    expect(LAYOUT["x86_32-abi"].entry).toBe(108);
    expect(ringEntries(0, "x86_32-abi")).toBe(32);
    const s = await setup({ abi: "x86_32-abi" });
    s.dp.guestWrite(GUEST, dataGfn(1), 0, page((i) => i * 3));
    const r = s.roundTrip([{ operation: "WRITE", id: 0x1234_5678_9abcn, sector: 24, segments: [fullPage(1)] }]);
    expect(r).toMatchObject([{ statusName: "OKAY", id: 0x1234_5678_9abcn }]);
    expect(s.dp.readImage(IMAGE, 24 * 512, 4096)).toEqual(page((i) => i * 3));
  });

  it("data moves between the granted pages and the right image sectors, both ways", async () => {
    const s = await setup({ loopOffset: 4096, dmOffset: 16 });
    s.dp.guestWrite(GUEST, dataGfn(0), 0, page((i) => i ^ 0x5a));
    s.dp.guestWrite(GUEST, dataGfn(1), 0, page((i) => i ^ 0xa5));
    // Sectors 2..3 of page 0 and 0..7 of page 1, written to vbd sector 100.
    const segs = [{ gref: dataRef(0), firstSect: 2, lastSect: 3 }, fullPage(1)];
    expect(s.roundTrip([rw("WRITE", 100, segs)])).toMatchObject([{ statusName: "OKAY" }]);
    const base = 4096 + (16 + 100) * 512;
    expect(s.dp.readImage(IMAGE, base, 1024)).toEqual(page((i) => i ^ 0x5a).subarray(1024, 2048));
    expect(s.dp.readImage(IMAGE, base + 1024, 4096)).toEqual(page((i) => i ^ 0xa5));
    s.dp.guestWrite(GUEST, dataGfn(2), 0, new Uint8Array(4096));
    s.roundTrip([rw("READ", 100, [{ gref: dataRef(2), firstSect: 6, lastSect: 7 }])]);
    const got = s.dp.guestRead(GUEST, dataGfn(2), 0, 4096);
    expect(got.subarray(3072)).toEqual(page((i) => i ^ 0x5a).subarray(1024, 2048));
    expect(got.subarray(0, 3072).every((b) => b === 0)).toBe(true);
    expect(s.dp.grantPins(GUEST, dataRef(0))).toBe(0);
  });
});

describe("blkback batches, budgets and a bogus frontend", () => {
  it("answers a whole ring in one call, and resumes where a budget stopped it", async () => {
    const s = await setup();
    const reqs = Array.from({ length: 32 }, (_, i) => rw("READ", 8 * i, [fullPage(i % 8)], i));
    s.dp.frontendQueue(s.front, reqs.map((r) => encodeRequest(r)));
    expect(s.dp.frontendFreeSlots(s.front)).toBe(0);
    s.dp.frontendPush(s.front);
    expect(s.dp.backendProcess(s.back, 10)).toEqual({ answered: 10, notify: true, more: true, bogus: false });
    expect(s.dp.backendProcess(s.back)).toMatchObject({ answered: 22, more: false });
    const rsp = s.dp.frontendConsume(s.front);
    if (rsp === "broken") throw new Error("broken");
    expect(rsp.map((r) => Number(r.id))).toEqual(reqs.map((_, i) => i));
    expect(s.dp.backendStats(s.back)).toEqual({ okay: 32, error: 0, eopnotsupp: 0 });
  });

  it("after draining, blkback asks to be woken by the next request (req_event = req_cons + 1)", async () => {
    const s = await setup();
    s.roundTrip([rw("READ", 0), rw("READ", 8)]);
    expect(s.dp.ringHeader(GUEST, RING_GFN)).toMatchObject({ req_prod: 2, req_event: 3, rsp_prod: 2 });
    expect(s.dp.backendIndices(s.back)).toMatchObject({ req_cons: 2, rsp_prod_pvt: 2, state: "connected" });
  });

  it("a req_prod more than a ring ahead of the responses halts the ring: no response, no notify, for good", async () => {
    const s = await setup();
    s.roundTrip([rw("READ", 0)]);
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, 1 + 33, true); // rsp_prod_pvt 1, req_prod 34: 33 > 32
    s.dp.guestWrite(GUEST, RING_GFN, 0, hdr);
    expect(s.dp.backendProcess(s.back)).toEqual({ answered: 0, notify: false, more: false, bogus: true });
    expect(s.dp.backendIndices(s.back).state).toBe("bogus");
    expect(s.dp.ringHeader(GUEST, RING_GFN).rsp_prod).toBe(1);
    new DataView(hdr.buffer).setUint32(0, 2, true); // even a sane index later is ignored
    s.dp.guestWrite(GUEST, RING_GFN, 0, hdr);
    expect(s.dp.backendProcess(s.back).bogus).toBe(true);
    s.dp.backendDisconnect(s.back);
    expect(s.dp.grantPins(GUEST, 8)).toBe(0);
  });

  it("exactly a ring ahead is not bogus: 32 outstanding requests are all answered", async () => {
    const s = await setup();
    s.dp.frontendQueue(s.front, Array.from({ length: 32 }, (_, i) => encodeRequest(rw("READ", 0, [fullPage(0)], i))));
    s.dp.frontendPush(s.front);
    expect(s.dp.backendProcess(s.back)).toMatchObject({ answered: 32, bogus: false });
  });

  it("the frontend refuses a backend that publishes more responses than requests out", async () => {
    const s = await setup();
    s.roundTrip([rw("READ", 0)]);
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, 1 + 33, true);
    s.dp.guestWrite(GUEST, RING_GFN, 8, hdr); // a bogus rsp_prod
    expect(s.dp.frontendConsume(s.front)).toBe("broken");
    expect(s.dp.frontendIndices(s.front).state).toBe("broken");
  });

  it("connecting to a ring whose req_prod is already beyond a ring's worth fails (xen_blkif_map: -EIO)", async () => {
    const s = await setup();
    s.dp.backendDisconnect(s.back);
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, 40, true);
    s.dp.guestWrite(GUEST, RING_GFN, 0, hdr);
    expect(s.dp.backendConnect(DOM0, GUEST, { grefs: [8], device: 1, sectors: 8 })).toEqual({ ok: false, reason: "bogus-ring" });
    expect(s.dp.grantPins(GUEST, 8)).toBe(0);
    expect(s.dp.backendConnect(DOM0, GUEST, { grefs: [77], device: 1, sectors: 8 })).toMatchObject({ ok: false, reason: "grant-map", name: "general_error" });
  });
});

describe("a request's grant maps leave exactly what map-then-unmap leaves", () => {
  it("GTF_reading/GTF_writing that a guest set on an unpinned entry are cleared, as Xen's unmap clears them", async () => {
    const { GTF } = await import("../../web/src/core");
    const s = await setup();
    s.dp.writeGrantEntry(GUEST, dataRef(0), { flags: GTF.permit_access | GTF.reading | GTF.writing, domid: DOM0, frame: dataGfn(0) });
    expect(s.roundTrip([rw("READ", 0)])).toMatchObject([{ statusName: "OKAY" }]);
    expect(s.dp.readGrantEntry(GUEST, dataRef(0)).flags).toBe(GTF.permit_access);
    // A WRITE maps read-only: only GTF_reading is cleared by the unmap.
    s.dp.writeGrantEntry(GUEST, dataRef(1), { flags: GTF.permit_access | GTF.reading | GTF.writing, domid: DOM0, frame: dataGfn(1) });
    expect(s.roundTrip([rw("WRITE", 0, [fullPage(1)])])).toMatchObject([{ statusName: "OKAY" }]);
    expect(s.dp.readGrantEntry(GUEST, dataRef(1)).flags).toBe(GTF.permit_access | GTF.writing);
  });

  it("a data segment that names the ring's own (pinned) grant is served from the pinned frame", async () => {
    const s = await setup();
    s.dp.guestWrite(GUEST, RING_GFN, 2048, new Uint8Array(512).fill(0x42));
    const r = s.roundTrip([rw("WRITE", 40, [{ gref: 8, firstSect: 4, lastSect: 4 }])]);
    expect(r).toMatchObject([{ statusName: "OKAY" }]);
    expect(s.dp.readImage(IMAGE, 40 * 512, 512).every((b) => b === 0x42)).toBe(true);
    expect(s.dp.grantPins(GUEST, 8)).toBe(1); // still just blkback's ring mapping
  });

  it("needs a free maptrack handle per segment, as sequential maps would", async () => {
    const s = await setup();
    s.dp.grantAccess(GUEST, 300, DOM0, 300, { readonly: true });
    for (let i = 0; i < 4096 - 1 - 6; i++) expect(s.dp.mapGrant(DOM0, GUEST, 300, { readonly: true }).ok).toBe(true);
    // blkback holds 1 (the ring) + 4089 handles: 6 left.
    const segs = (n: number) => Array.from({ length: n }, (_, i) => fullPage(i));
    expect(s.roundTrip([rw("READ", 0, segs(7))])).toMatchObject([{ statusName: "ERROR" }]);
    expect(s.roundTrip([rw("READ", 0, segs(6))])).toMatchObject([{ statusName: "OKAY" }]);
  });

  it("requests that the stack splits or fails take the general path with the same results", async () => {
    const s = await setup();
    const { dp } = s;
    dp.writeImage(IMAGE, 0, page((i) => i * 7));
    // dm-0 becomes: 8 sectors of the image, then 16 of zero, then an error target.
    dp.setTableDevice(1, [
      { start: 0, length: 8, type: "linear", device: 0, offset: 0 },
      { start: 8, length: 16, type: "zero" },
      { start: 24, length: 8, type: "error" },
    ]);
    dp.guestWrite(GUEST, dataGfn(0), 0, new Uint8Array(4096).fill(1));
    dp.guestWrite(GUEST, dataGfn(1), 0, new Uint8Array(4096).fill(1));
    expect(s.roundTrip([rw("READ", 4, [fullPage(0), fullPage(1)])])).toMatchObject([{ statusName: "OKAY" }]);
    expect(dp.guestRead(GUEST, dataGfn(0), 0, 2048)).toEqual(page((i) => i * 7).subarray(2048));
    expect(dp.guestRead(GUEST, dataGfn(0), 2048, 2048).every((b) => b === 0)).toBe(true);
    expect(dp.guestRead(GUEST, dataGfn(1), 0, 4096).every((b) => b === 0)).toBe(true);
    expect(s.roundTrip([rw("READ", 20, [fullPage(0)])])).toMatchObject([{ statusName: "ERROR" }]); // runs into the error target
    // A file that shrank under its loop device reads as zeros past its end.
    dp.setImageDevice(0, { image: IMAGE, sectors: 64 });
    dp.setTableDevice(1, [{ start: 0, length: 64, type: "linear", device: 0, offset: 0 }]);
    dp.resizeImage(IMAGE, 6 * 512);
    dp.guestWrite(GUEST, dataGfn(2), 0, new Uint8Array(4096).fill(9));
    expect(s.roundTrip([rw("READ", 0, [fullPage(2)])])).toMatchObject([{ statusName: "OKAY" }]);
    expect(dp.guestRead(GUEST, dataGfn(2), 0, 4096)).toEqual(Uint8Array.from({ length: 4096 }, (_, i) => (i < 3072 ? (i * 7) & 0xff : 0)));
  });
});

describe("contiguous pieces move as one copy", () => {
  it("a request over adjacent frames with a hole in the middle still reads the hole as zeros, both ways", async () => {
    const s = await setup();
    s.dp.writeImage(IMAGE, 0, page((i) => i + 1));
    s.dp.writeImage(IMAGE, 2 * 4096, page((i) => i + 3)); // block 1 is a hole
    for (let i = 0; i < 3; i++) s.dp.guestWrite(GUEST, dataGfn(i), 0, new Uint8Array(4096).fill(0xee));
    expect(s.roundTrip([rw("READ", 0, [fullPage(0), fullPage(1), fullPage(2)])])).toMatchObject([{ statusName: "OKAY" }]);
    expect(s.dp.guestRead(GUEST, dataGfn(0), 0, 4096)).toEqual(page((i) => i + 1));
    expect(s.dp.guestRead(GUEST, dataGfn(1), 0, 4096)).toEqual(new Uint8Array(4096));
    expect(s.dp.guestRead(GUEST, dataGfn(2), 0, 4096)).toEqual(page((i) => i + 3));
    // And back: three pages written over the hole land where they belong.
    for (let i = 0; i < 3; i++) s.dp.guestWrite(GUEST, dataGfn(i), 0, page((j) => j * (i + 5)));
    expect(s.roundTrip([rw("WRITE", 8, [fullPage(0), fullPage(1), fullPage(2)])])).toMatchObject([{ statusName: "OKAY" }]);
    for (let i = 0; i < 3; i++) expect(s.dp.readImage(IMAGE, (1 + i) * 4096, 4096)).toEqual(page((j) => j * (i + 5)));
  });
});
