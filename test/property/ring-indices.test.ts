// Ring index arithmetic across the 2^32 wrap (docs/xen-protocol.md, "Index
// arithmetic and sanity checks", "Push-and-check and the final check"):
// free-running u32 indices, push-and-check (notify iff the peer's event lies
// in (old, new]), the final check, and the overflow checks on both sides.
// blkback starts from the rsp_prod it finds in the shared page, so a ring
// whose header is written near 0xFFFFFFFF before the backend connects runs
// across the wrap; the frontend side is driven by hand (guestWrite) and
// checked against a tiny reference model.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { BlkifAbi } from "../../web/src/core/abi";
import { DataPlane } from "../../web/src/core/data-plane";
import { GuestRing, SPEC, U64, pushNotify, specEntries, u32 } from "./harness";

const DOM0 = 0, GUEST = 1, IMG = 0, LOOP = 0;
const RING_GFNS = [0, 1], DATA_GFN = 2, RING_REFS = [8, 9], DATA_REF = 10;
const int = (min: number, max: number) => fc.integer({ min, max });
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
/** Start indices: around the wrap mostly, anywhere sometimes. */
const startArb = fc.oneof(
  { weight: 4, arbitrary: int(1, 64).map((k) => u32(0x1_0000_0000 - k)) },
  { weight: 1, arbitrary: int(0, 600).map((k) => u32(0x1_0000_0000 - 300 + k)) },
  { weight: 1, arbitrary: u32Arb },
);
const ringArb = fc.record({ abi: fc.constantFrom<BlkifAbi>("x86_64-abi", "x86_32-abi"), order: fc.constantFrom(0, 1) });

describe("ring indices are free-running u32 and wrap", () => {
  let dp: DataPlane;
  let base: number;
  beforeAll(async () => {
    dp = await DataPlane.create({ maxFrames: 1024 });
    dp.createDomain(DOM0, { pages: 4, grantFrames: 1 });
    dp.createDomain(GUEST, { pages: 8, grantFrames: 1 });
    dp.createImage(IMG, 64 << 10);
    dp.writeImage(IMG, 0, new Uint8Array(64 << 10).map((_, i) => (i * 7 + (i >> 9)) & 255));
    dp.setImageDevice(LOOP, { image: IMG, sectors: 128 });
    RING_REFS.forEach((ref, i) => dp.grantAccess(GUEST, ref, DOM0, RING_GFNS[i]));
    dp.grantAccess(GUEST, DATA_REF, DOM0, DATA_GFN);
    base = dp.checkpoint();
  });

  /** A guest ring written by hand with all four indices at `start`, then blkback connected to it. */
  function connectAt(start: number, abi: BlkifAbi, order: number, header?: { req_prod: number; rsp_prod: number }) {
    dp.restore(base);
    const ring = new GuestRing(dp, GUEST, RING_GFNS.slice(0, 1 << order), abi);
    ring.init(start);
    if (header) {
      ring.writeU32(0, header.req_prod);
      ring.writeU32(8, header.rsp_prod);
    }
    const conn = dp.backendConnect(DOM0, GUEST, { grefs: RING_REFS.slice(0, 1 << order), abi, device: LOOP, sectors: 128 });
    return { ring, conn };
  }

  it("the reference model's push-and-check notifies exactly when the peer's event index lies in (old, new] modulo 2^32", () => {
    fc.assert(
      fc.property(u32Arb, int(0, 600), u32Arb, fc.integer({ min: -3, max: 600 }), (old, n, anyEvent, rel) => {
        const nu = u32(old + n);
        const inWindow = (e: number) => u32(e - old - 1) < u32(nu - old);
        expect(pushNotify(old, nu, anyEvent)).toBe(inWindow(anyEvent));
        const near = u32(old + rel);
        expect(pushNotify(old, nu, near)).toBe(rel >= 1 && rel <= n);
      }),
      { numRuns: 500 },
    );
  });

  it("backendConnect refuses a ring whose req_prod - rsp_prod > ring size (xen_blkif_map), in u32 arithmetic across the wrap, and otherwise starts req_cons = rsp_prod_pvt = rsp_prod", () => {
    fc.assert(
      fc.property(ringArb, u32Arb, fc.oneof(int(-3, 70), u32Arb.map((x) => x - 0x8000_0000)), ({ abi, order }, rspProd, delta) => {
        const reqProd = u32(rspProd + delta);
        const entries = specEntries(order, abi);
        const { conn } = connectAt(rspProd, abi, order, { req_prod: reqProd, rsp_prod: rspProd });
        if (u32(reqProd - rspProd) > entries) {
          expect(conn).toEqual({ ok: false, reason: "bogus-ring" });
          expect(dp.grantPins(GUEST, RING_REFS[0]), "a refused ring is unmapped again").toBe(0);
        } else {
          expect(conn.ok).toBe(true);
          if (conn.ok) expect(dp.backendIndices(conn.ring)).toEqual({ req_cons: rspProd, rsp_prod_pvt: rspProd, entries, state: "connected" });
        }
      }),
      { numRuns: 300 },
    );
  });

  it("blkback halts the ring as bogus exactly when req_prod - rsp_prod_pvt > ring size in u32 arithmetic (never for a legal window straddling 2^32), and otherwise answers exactly req_prod - req_cons requests", () => {
    fc.assert(
      fc.property(ringArb, startArb, fc.oneof(int(0, 70), u32Arb), ({ abi, order }, start, delta) => {
        const { ring, conn } = connectAt(start, abi, order);
        if (!conn.ok) throw new Error("connect failed");
        const entries = specEntries(order, abi);
        ring.writeU32(0, u32(start + delta));
        const r = dp.backendProcess(conn.ring, 1 << 20);
        const bogus = u32(delta) > entries;
        expect(r.bogus).toBe(bogus);
        expect(r.answered).toBe(bogus ? 0 : u32(delta));
        expect(dp.backendIndices(conn.ring).state).toBe(bogus ? "bogus" : "connected");
      }),
      { numRuns: 300, examples: [[{ abi: "x86_64-abi", order: 0 }, 0xffff_fff0, 32], [{ abi: "x86_64-abi", order: 0 }, 0xffff_fff0, 33]] },
    );
  });

  // ---- a well-behaved frontend driven by hand, against a reference model of both sides ----

  type Step = { k: "queue"; n: number; kinds: number[] } | { k: "push" } | { k: "process"; budget: number } | { k: "consume" };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ k: fc.constant("queue" as const), n: int(1, 70), kinds: fc.array(int(0, 2), { minLength: 70, maxLength: 70 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("push" as const) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("process" as const), budget: fc.oneof(int(1, 5), fc.constant(1 << 20)) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("consume" as const) }) },
  );

  it("a frontend and blkback exchanging requests across the 2^32 wrap: indices, req_event/rsp_event, notify and more match the reference model, responses come back in order with their u64 ids (wrapping too), and no wakeup is ever lost", () => {
    fc.assert(
      fc.property(ringArb, startArb, fc.bigInt({ min: U64 - 200n, max: U64 - 1n }), fc.array(stepArb, { minLength: 1, maxLength: 60, size: "medium" }), ({ abi, order }, start, id0, steps) => {
        const { ring, conn } = connectAt(start, abi, order);
        if (!conn.ok) throw new Error("connect failed");
        const L = SPEC[abi];
        const entries = specEntries(order, abi);
        // Reference model: the frontend's private indices and in-flight requests; blkback's private indices.
        let reqProdPvt = start, rspCons = start, reqCons = start, rspProdPvt = start;
        let nextId = id0;
        const inFlight: { id: bigint; op: number; status: number }[] = [];
        let frontWaiting = false; // the frontend asked to be woken (rsp_event = rsp_cons + 1) and found nothing
        let backIdle = false; // blkback's final check found nothing and set req_event = req_cons + 1
        for (const s of steps) {
          const hdr = ring.header();
          if (s.k === "queue") {
            const free = entries - u32(reqProdPvt - rspCons);
            for (let i = 0; i < Math.min(s.n, free); i++) {
              const slot = new Uint8Array(L.entry);
              const v = new DataView(slot.buffer);
              const kind = s.kinds[i]; // 0: READ 1 sector (OKAY), 1: RESERVED_1 (EOPNOTSUPP), 2: READ with 0 segments (ERROR)
              v.setUint8(0, kind === 1 ? 4 : 0);
              v.setUint8(1, kind === 0 ? 1 : 0);
              v.setBigUint64(L.id, nextId, true);
              v.setBigUint64(L.sector, 3n, true);
              v.setUint32(L.seg, DATA_REF, true);
              v.setUint8(L.seg + 4, 2);
              v.setUint8(L.seg + 5, 2);
              ring.writeSlot(reqProdPvt, slot);
              inFlight.push({ id: nextId, op: kind === 1 ? 4 : 0, status: [0, -2, -1][kind] });
              nextId = (nextId + 1n) % U64;
              reqProdPvt = u32(reqProdPvt + 1);
            }
          } else if (s.k === "push") {
            // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY
            ring.writeU32(0, reqProdPvt);
            const notify = pushNotify(hdr.req_prod, reqProdPvt, hdr.req_event);
            if (backIdle && reqProdPvt !== hdr.req_prod) expect(notify, "lost wakeup: new requests after an idle backend must notify").toBe(true);
            if (notify) backIdle = false;
          } else if (s.k === "process") {
            const avail = u32(hdr.req_prod - reqCons);
            const answered = Math.min(avail, s.budget);
            const more = avail > s.budget;
            const r = dp.backendProcess(conn.ring, s.budget);
            reqCons = u32(reqCons + answered);
            rspProdPvt = u32(rspProdPvt + answered);
            const notify = answered > 0 && pushNotify(hdr.rsp_prod, rspProdPvt, hdr.rsp_event);
            expect(r).toEqual({ answered, notify, more, bogus: false });
            if (frontWaiting && answered > 0) expect(notify, "lost wakeup: responses for a waiting frontend must notify").toBe(true);
            if (notify) frontWaiting = false;
            const after = ring.header();
            expect(after).toEqual({
              req_prod: hdr.req_prod,
              req_event: more ? hdr.req_event : u32(reqCons + 1), // the final check asks to be woken by the next request
              rsp_prod: answered > 0 ? rspProdPvt : hdr.rsp_prod,
              rsp_event: hdr.rsp_event,
            });
            backIdle = !more;
          } else {
            // blkfront's interrupt handler: consume up to rsp_prod, then ask to be woken by the next response.
            expect(u32(hdr.rsp_prod - rspCons)).toBeLessThanOrEqual(entries);
            while (rspCons !== hdr.rsp_prod) {
              const want = inFlight.shift()!;
              expect(ring.response(rspCons), `response at ${rspCons}`).toEqual(want);
              rspCons = u32(rspCons + 1);
            }
            ring.writeU32(12, u32(rspCons + 1));
            frontWaiting = ring.readU32(8) === rspCons && rspCons !== reqProdPvt;
          }
          expect(dp.backendIndices(conn.ring)).toEqual({ req_cons: reqCons, rsp_prod_pvt: rspProdPvt, entries, state: "connected" });
        }
      }),
      { numRuns: 200 },
    );
  });

  // ---- blkfront's own checks, through the facade ----

  it("blkfront's push notifies exactly when the backend's req_event lies in (old, new], for any req_event the backend wrote", () => {
    fc.assert(
      fc.property(int(1, 32), u32Arb, fc.integer({ min: -2, max: 34 }), fc.boolean(), (n, anyEvent, rel, useRel) => {
        dp.restore(base);
        const front = dp.frontendInit(GUEST, [RING_GFNS[0]]);
        const entry = new Uint8Array(SPEC["x86_64-abi"].entry);
        dp.frontendQueue(front, Array.from({ length: n }, () => entry));
        const event = useRel ? u32(rel) : anyEvent;
        dp.guestWrite(GUEST, RING_GFNS[0], 4, new Uint8Array(new Uint32Array([event]).buffer));
        expect(dp.frontendPush(front)).toBe(pushNotify(0, n, event));
        expect(dp.ringHeader(GUEST, RING_GFNS[0]).req_prod).toBe(n);
      }),
      { numRuns: 300 },
    );
  });

  it("blkfront consumes exactly rsp_prod - rsp_cons responses, marks the ring broken (for good) when a backend publishes more than the ring holds, and its final check sets rsp_event = rsp_cons + 1", () => {
    fc.assert(
      fc.property(fc.oneof(int(0, 40), u32Arb), fc.oneof(int(0, 40), u32Arb), (first, second) => {
        dp.restore(base);
        const front = dp.frontendInit(GUEST, [RING_GFNS[0]]);
        const entries = dp.frontendIndices(front).entries;
        const setRspProd = (v: number) => dp.guestWrite(GUEST, RING_GFNS[0], 8, new Uint8Array(new Uint32Array([v]).buffer));
        setRspProd(first);
        const r1 = dp.frontendConsume(front);
        if (first > entries) {
          expect(r1).toBe("broken");
          setRspProd(0);
          expect(dp.frontendConsume(front), "a broken ring stays broken").toBe("broken");
          expect(dp.frontendIndices(front).state).toBe("broken");
          return;
        }
        expect(r1 !== "broken" && r1.length).toBe(first);
        expect(dp.frontendIndices(front).rsp_cons).toBe(first);
        setRspProd(second);
        const more = dp.frontendFinalCheck(front);
        expect(more).toBe(second !== first);
        if (second === first) expect(dp.ringHeader(GUEST, RING_GFNS[0]).rsp_event).toBe(u32(first + 1));
        const r2 = dp.frontendConsume(front);
        if (u32(second - first) > entries) expect(r2).toBe("broken");
        else expect(r2 !== "broken" && r2.length).toBe(u32(second - first));
      }),
      { numRuns: 300 },
    );
  });
});

