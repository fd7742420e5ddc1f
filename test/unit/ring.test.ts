import { describe, expect, it } from "vitest";
import { DataPlane, encodeRequest, ringEntries, RING_HEADER_BYTES, LAYOUT, RING_OFFSETS, type BlkifRequest } from "../../web/src/core";
import { DOM0, GUEST, IMAGE, RING_GFN, RING_REF, dataRef, fullPage, setup } from "../support/world";

// xen/include/public/io/ring.h, blkif instance: layout, free-running
// indices and the notification rules (docs/xen-protocol.md, "The shared ring").

const u32le = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); return b; };
const readU32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);

describe("ring layout", () => {
  it("holds 32 << order entries of 112 bytes after a 64-byte header", () => {
    expect([0, 1, 2, 3, 4].map((o) => ringEntries(o))).toEqual([32, 64, 128, 256, 512]);
    expect(RING_HEADER_BYTES).toBe(64);
    expect(RING_OFFSETS).toEqual({ req_prod: 0, req_event: 4, rsp_prod: 8, rsp_event: 12 });
    expect(LAYOUT["x86_64-abi"]).toMatchObject({ entry: 112, id: 8, sector: 16, seg: 24 });
  });

  it("the frontend initialises the page: indices 0, both event indices 1, everything else zero", async () => {
    const dp = await DataPlane.create({ maxFrames: 256 });
    dp.createDomain(1, { pages: 4 });
    dp.guestWrite(1, 2, 0, new Uint8Array(4096).fill(0xee));
    const r = dp.frontendInit(1, [2]);
    expect(dp.ringHeader(1, 2)).toEqual({ req_prod: 0, req_event: 1, rsp_prod: 0, rsp_event: 1 });
    expect(dp.guestRead(1, 2, 16, 4080).every((b) => b === 0)).toBe(true);
    expect(dp.frontendIndices(r)).toEqual({ req_prod_pvt: 0, rsp_cons: 0, entries: 32, state: "live" });
  });

  it("requests land at 64 + slot * 112 and responses overwrite them as id@0, operation@8, status@10", async () => {
    const s = await setup();
    const reqs: BlkifRequest[] = [0, 1, 2].map((i) => ({ operation: "READ", id: 0x100 + i, sector: 8 * i, segments: [fullPage(i)] }));
    s.dp.frontendQueue(s.front, reqs.map((r) => encodeRequest(r)));
    expect(s.dp.ringHeader(GUEST, RING_GFN).req_prod).toBe(0); // queued, not yet published
    s.dp.frontendPush(s.front);
    const ring = s.dp.guestRead(GUEST, RING_GFN, 0, 4096);
    expect(readU32(ring, 0)).toBe(3);
    reqs.forEach((r, i) => expect(ring.subarray(64 + 112 * i, 64 + 112 * (i + 1))).toEqual(encodeRequest(r)));
    s.dp.backendProcess(s.back);
    const after = s.dp.guestRead(GUEST, RING_GFN, 0, 4096);
    const v = new DataView(after.buffer);
    for (let i = 0; i < 3; i++) {
      expect(v.getBigUint64(64 + 112 * i, true)).toBe(BigInt(0x100 + i));
      expect(v.getUint8(64 + 112 * i + 8)).toBe(0);
      expect(v.getInt16(64 + 112 * i + 10, true)).toBe(0);
    }
  });

  it("a two-page ring carries slots that straddle the page boundary", async () => {
    const dp = await DataPlane.create({ maxFrames: 2048 });
    dp.createDomain(0);
    dp.createDomain(1, { pages: 64 });
    dp.createImage(0, 1 << 20);
    dp.setImageDevice(0, { image: 0, sectors: 2048 });
    dp.grantAccess(1, 8, 0, 4);
    dp.grantAccess(1, 9, 0, 5);
    dp.grantAccess(1, 16, 0, 16);
    const front = dp.frontendInit(1, [4, 5]);
    expect(dp.frontendIndices(front).entries).toBe(64);
    const conn = dp.backendConnect(0, 1, { grefs: [8, 9], device: 0, sectors: 2048 });
    if (!conn.ok) throw new Error("connect");
    // Slot 36 starts exactly at the second page (64 + 36 * 112 = 4096); slot 72 would straddle a third.
    for (let round = 0; round < 3; round++) {
      const n = 40;
      dp.frontendQueue(front, Array.from({ length: n }, (_, i) => encodeRequest({ operation: "READ", id: round * 100 + i, sector: i, segments: [{ gref: 16, firstSect: 0, lastSect: 0 }] })));
      dp.frontendPush(front);
      expect(dp.backendProcess(conn.ring).answered).toBe(n);
      const rsp = dp.frontendConsume(front);
      if (rsp === "broken") throw new Error("broken");
      expect(rsp.map((r) => [Number(r.id), r.statusName])).toEqual(Array.from({ length: n }, (_, i) => [round * 100 + i, "OKAY"]));
    }
  });
});

/**
 * Drives blkback on a ring whose indices start at `start` (written by hand
 * before connecting, as a frontend may leave them), with the frontend's
 * rsp_event set to `event`, and returns blkback's notify decision after it
 * answers `n` requests.
 */
async function backendNotify(start: number, n: number, event: number): Promise<{ notify: boolean; rspProd: number; reqEvent: number }> {
  const dp = await DataPlane.create({ maxFrames: 1024 });
  dp.createDomain(DOM0);
  dp.createDomain(GUEST, { pages: 64 });
  dp.createImage(IMAGE, 1 << 20);
  dp.setImageDevice(0, { image: IMAGE, sectors: 2048 });
  dp.grantAccess(GUEST, RING_REF, DOM0, RING_GFN);
  dp.grantAccess(GUEST, dataRef(0), DOM0, 16);
  dp.guestWrite(GUEST, RING_GFN, 0, new Uint8Array([...u32le(start), ...u32le(start + 1), ...u32le(start), ...u32le(event)]));
  const conn = dp.backendConnect(DOM0, GUEST, { grefs: [RING_REF], device: 0, sectors: 2048 });
  if (!conn.ok) throw new Error("connect");
  for (let i = 0; i < n; i++) {
    const slot = ((start + i) >>> 0) & 31;
    dp.guestWrite(GUEST, RING_GFN, 64 + 112 * slot, encodeRequest({ operation: "READ", id: i, sector: 0, segments: [fullPage(0)] }));
  }
  dp.guestWrite(GUEST, RING_GFN, 0, u32le(start + n));
  const r = dp.backendProcess(conn.ring);
  expect(r.answered).toBe(n);
  const h = dp.ringHeader(GUEST, RING_GFN);
  return { notify: r.notify, rspProd: h.rsp_prod, reqEvent: h.req_event };
}

describe("notification hold-off: notify iff (u32)(new - rsp_event) < (u32)(new - old)", () => {
  const W = 0xffff_fffe; // two before the 2^32 wrap
  it.each([
    // start, answered, rsp_event, notify
    [0, 3, 1, true], // the consumer asked for the very next response
    [0, 3, 3, true], // event = new: inside (old, new]
    [0, 3, 4, false], // event beyond new: the consumer is not waiting yet
    [0, 3, 0, false], // event = old: already covered
    [5, 2, 3, false], // an event index left behind
    [W, 4, W + 1, true], // across the wrap: event before it, new after it
    [W, 4, (W + 4) >>> 0, true], // event = new = 2, after the wrap
    [W, 4, (W + 5) >>> 0, false],
    [W, 4, W, false],
  ] as const)("start %i, %i answered, rsp_event %i -> notify %s", async (start, n, event, notify) => {
    const r = await backendNotify(start, n, event);
    expect(r.notify).toBe(notify);
    expect(r.rspProd).toBe((start + n) >>> 0);
    expect(r.reqEvent).toBe((start + n + 1) >>> 0); // the final check asks for the next request
  });
});

describe("the frontend side of the rules", () => {
  it("push-and-check on requests: the first push notifies (req_event starts at 1), a push the backend is not waiting for does not", async () => {
    const s = await setup();
    const q = (id: number) => s.dp.frontendQueue(s.front, encodeRequest({ operation: "READ", id, sector: 0, segments: [fullPage(0)] }));
    q(1);
    expect(s.dp.frontendPush(s.front)).toBe(true);
    q(2);
    expect(s.dp.frontendPush(s.front)).toBe(false); // req_event is still 1: blkback has not run
    s.dp.backendProcess(s.back); // drains and sets req_event = 3
    q(3);
    expect(s.dp.frontendPush(s.front)).toBe(true);
  });

  it("the final check for responses re-arms rsp_event and reports responses that raced in", async () => {
    const s = await setup();
    s.dp.frontendQueue(s.front, encodeRequest({ operation: "READ", id: 1, sector: 0, segments: [fullPage(0)] }));
    s.dp.frontendPush(s.front);
    expect(s.dp.frontendFinalCheck(s.front)).toBe(false);
    expect(s.dp.ringHeader(GUEST, RING_GFN).rsp_event).toBe(1);
    s.dp.backendProcess(s.back);
    expect(s.dp.frontendFinalCheck(s.front)).toBe(true);
    expect(s.dp.frontendConsume(s.front)).toHaveLength(1);
    expect(s.dp.frontendFinalCheck(s.front)).toBe(false);
    expect(s.dp.ringHeader(GUEST, RING_GFN).rsp_event).toBe(2);
  });

  it("flow control: the frontend never queues more than the ring holds", async () => {
    const s = await setup();
    const many = Array.from({ length: 40 }, (_, i) => encodeRequest({ operation: "READ", id: i, sector: 0, segments: [fullPage(0)] }));
    expect(s.dp.frontendQueue(s.front, many)).toBe(32);
    expect(s.dp.frontendQueue(s.front, many)).toBe(0);
  });
});

describe("request codec", () => {
  it("decodes what it encodes, in both ABIs, with every field at its offset", async () => {
    const { decodeRequest } = await import("../../web/src/core");
    for (const abi of ["x86_64-abi", "x86_32-abi"] as const) {
      const rwReq = decodeRequest(encodeRequest({ operation: "WRITE", id: 2n ** 63n + 5n, sector: 2 ** 40, handle: 51712, segments: [{ gref: 70000, firstSect: 1, lastSect: 6 }] }, abi), abi);
      expect(rwReq).toEqual({ operation: 1, operationName: "WRITE", id: 2n ** 63n + 5n, sector: 2n ** 40n, handle: 51712, nrSegments: 1, segments: [{ gref: 70000, firstSect: 1, lastSect: 6 }] });
      const ind = decodeRequest(encodeRequest({ operation: "INDIRECT", indirectOp: "READ", id: 9, sector: 3, nrSegments: 600, indirectGrefs: [11, 12], handle: 5 }, abi), abi);
      expect(ind).toMatchObject({ operationName: "INDIRECT", indirectOp: 0, nrSegments: 600, indirectGrefs: [11, 12], handle: 5 });
      const dis = decodeRequest(encodeRequest({ operation: "DISCARD", id: 4, sector: 8, nrSectors: 16, secure: true }, abi), abi);
      expect(dis).toMatchObject({ operationName: "DISCARD", flag: 1, nrSectors: 16n, sector: 8n });
    }
    const b = encodeRequest({ operation: "READ", id: 1, sector: 0x0102030405, segments: [] }, "x86_32-abi");
    expect(Array.from(b.subarray(12, 17))).toEqual([5, 4, 3, 2, 1]); // sector at 12 in the packed i386 layout
  });
});
