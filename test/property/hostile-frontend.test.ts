// "A hostile frontend can write anything into its ring and its granted pages
// at any moment. Nothing it writes may crash the core, touch memory that was
// not granted, or wedge the backend: it gets BLKIF_RSP_ERROR, or the ring is
// marked bogus as Linux does."
//
// Guest d1 writes random slots (any op, nseg, sector, grefs, first/last, or
// plain random bytes), random shared indices (huge jumps, across the 2^32
// wrap), random grant entries (any flags incl. the bits Xen owns, other
// grantees, frames outside its memory, its ring grants while mapped),
// revokes and re-grants, and rewrites published-but-unconsumed slots between
// backendProcess calls with budgets of 1..3. See world.ts for the setup.
//   (a)+(b) no trap, isolation of everything d1 was not granted, no leak of secrets into d1
//   (c) every answer is OKAY/ERROR/EOPNOTSUPP with id and operation echoed
//   (d) no wedge: bogus only when justified, and otherwise a good READ is served next
//   (e) no leaked grant mapping
//   (f) reconnects and the guest's death mid-stream leave nothing behind
//   (g) exhausting the arena gets ERROR and leaves nothing past a file's end
// blkback-model.test.ts checks the same hostile sequences byte for byte against a model.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeRequest } from "../../web/src/core/abi";
import { DataPlane } from "../../web/src/core/data-plane";
import { PAGE, SECTOR, equalBytes, u32 } from "./harness";
import {
  D1, D1_PAGES, VBD_SECTORS, actionArb, D2, D2_DATA, D2_PAGES, DATA, DM1, DOM0, DOM0_PAGES, IMG1, IMG1_BYTES, IMG2, IMG2_BYTES, IMG3, IMG3_BYTES,
  LO, RING_REFS, World, actionsArb, applyGuestAction, configArb, initialImage, type Action, type Config,
} from "./world";

const RUNS = 1000;
const HOSTILE = { forgeXenBits: true, touchRingGrants: true };

interface ProcessObservation {
  budget: number;
  before: { req_cons: number; rsp_prod_pvt: number; state: string };
  after: { req_cons: number; rsp_prod_pvt: number; state: string; entries: number };
  result: { answered: number; notify: boolean; more: boolean; bogus: boolean };
  /** id and operation of the slot at req_cons, read just before a budget-1 call. */
  expect1?: { id: bigint; op: number };
  lastResponse?: { id: bigint; op: number; status: number };
  headerAfter: { req_prod: number; rsp_prod: number };
  ringBefore: Uint8Array;
  ringAfter: Uint8Array;
  statsDelta: number;
}

/** Runs the actions; calls `onProcess` after every backendProcess. */
function run(w: World, cfg: Config, actions: Action[], onProcess: (o: ProcessObservation) => void, forged?: Set<number>): void {
  w.reset(cfg);
  const { dp, ring } = w;
  const L = { id: cfg.abi === "x86_32-abi" ? 4 : 8 };
  const ringBytes = () => ring.read(0, PAGE << cfg.order);
  for (const a of actions) {
    if (a.k !== "process") {
      if (a.k === "grant" && (a.flags & 0x18) !== 0) forged?.add(a.ref);
      applyGuestAction(w, a);
      continue;
    }
    const before = dp.backendIndices(w.r1);
    const statsBefore = dp.backendStats(w.r1);
    let expect1: ProcessObservation["expect1"];
    if (a.budget === 1) {
      const slot = ring.readSlot(before.req_cons);
      const v = new DataView(slot.buffer);
      expect1 = { id: v.getBigUint64(L.id, true), op: slot[0] === 6 ? slot[1] : slot[0] };
    }
    const ringBefore = ringBytes();
    const result = dp.backendProcess(w.r1, a.budget);
    const after = dp.backendIndices(w.r1);
    const s = dp.backendStats(w.r1);
    const hdr = ring.header();
    onProcess({
      budget: a.budget, before, after, result, expect1,
      lastResponse: result.answered > 0 ? ring.response(u32(after.rsp_prod_pvt - 1)) : undefined,
      headerAfter: { req_prod: hdr.req_prod, rsp_prod: hdr.rsp_prod },
      ringBefore, ringAfter: ringBytes(),
      statsDelta: s.okay + s.error + s.eopnotsupp - (statsBefore.okay + statsBefore.error + statsBefore.eopnotsupp),
    });
  }
}

// ---- what must not change, and the secrets that must not leak ----

function pages(w: World, dom: number, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, g) => w.dp.guestRead(dom, g, 0, PAGE));
}

/** Everything outside d1's reach, as one comparable record. */
function others(w: World): Record<string, unknown> {
  const { dp } = w;
  const crc = (b: Uint8Array) => dp.crc32c(b);
  const img1 = dp.readImage(IMG1, 0, dp.imageSize(IMG1));
  return {
    dom0Pages: pages(w, DOM0, DOM0_PAGES).map(crc),
    d2Pages: pages(w, D2, D2_PAGES).map(crc),
    img2: crc(dp.readImage(IMG2, 0, dp.imageSize(IMG2))),
    img3: crc(dp.readImage(IMG3, 0, dp.imageSize(IMG3))),
    imageSizes: [dp.imageSize(IMG1), dp.imageSize(IMG2), dp.imageSize(IMG3)],
    // Loop-1 sectors 0..9, 110..149 and 270..299 and the bytes before lo_offset are outside the dm table.
    img1OutsideVbd: [
      crc(img1.subarray(0, LO + 10 * SECTOR)),
      crc(img1.subarray(LO + 110 * SECTOR, LO + 150 * SECTOR)),
      crc(img1.subarray(LO + 270 * SECTOR)),
    ],
    d2Grants: Array.from({ length: 16 }, (_, r) => [dp.readGrantEntry(D2, r), dp.grantPins(D2, r)]),
    dom0Grants: Array.from({ length: 16 }, (_, r) => dp.readGrantEntry(DOM0, r)),
    d2Backend: [dp.backendIndices(w.r2), dp.backendStats(w.r2)],
    d2Frontend: dp.frontendIndices(w.d2front),
    domains: [0, 2, 3].map((d) => dp.domainState(d)),
  };
}

const key = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, 16).toString("latin1");

/** The first 16 bytes of every sector of every secret (random-pattern) region. */
function secretMarkers(w: World): Set<string> {
  const set = new Set<string>();
  const add = (b: Uint8Array) => { for (let o = 0; o + 16 <= b.length; o += SECTOR) set.add(key(b.subarray(o))); };
  pages(w, DOM0, DOM0_PAGES).forEach(add);
  pages(w, D2, D2_PAGES).slice(1).forEach(add); // d2's gfn 0 is its (zeroed) ring
  add(initialImage(IMG2, IMG2_BYTES));
  add(initialImage(IMG3, IMG3_BYTES));
  return set;
}

function leakedMarker(w: World, secrets: Set<string>): string | null {
  const check = (b: Uint8Array, start: number, where: string) => {
    for (let o = start; o + 16 <= b.length; o += SECTOR) if (secrets.has(key(b.subarray(o)))) return `${where}+${o}`;
    return null;
  };
  for (let g = 0; g < D1_PAGES; g++) {
    const hit = check(w.dp.guestRead(D1, g, 0, PAGE), 0, `d1 gfn ${g}`);
    if (hit) return hit;
  }
  const img1 = w.dp.readImage(IMG1, 0, w.dp.imageSize(IMG1));
  return check(img1, LO % SECTOR, "image 1") ?? check(img1, 0, "image 1");
}

describe("blkback against a hostile frontend (d1) that writes anything into its ring and grants at any moment", () => {
  let w: World;
  let baseline: Record<string, unknown>;
  let secrets: Set<string>;
  beforeAll(async () => {
    w = await World.create();
    baseline = others(w);
    secrets = secretMarkers(w);
  });

  it("(a)+(b) never traps or throws, and never touches memory that was not granted: dom0's pages, d2's pages, grants, ring and image, other images and d1's image outside its vbd stay byte-identical, and no secret reaches d1", () => {
    fc.assert(
      fc.property(configArb, actionsArb(HOSTILE), (cfg, actions) => {
        const img1Before = initialImage(IMG1, IMG1_BYTES);
        run(w, cfg, actions, () => {});
        w.dp.backendProcess(w.r1); // drain whatever is still published
        expect(others(w)).toEqual(baseline);
        if (cfg.readOnly) expect(equalBytes(w.dp.readImage(IMG1, 0, IMG1_BYTES), img1Before), "a read-only vbd's image changed").toBe(true);
        expect(leakedMarker(w, secrets)).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it("(c) answers every request it consumes with OKAY, ERROR or EOPNOTSUPP, echoing the id and operation the slot held when it was consumed, and publishes what it answered", () => {
    fc.assert(
      fc.property(configArb, actionsArb(HOSTILE), (cfg, actions) => {
        run(w, cfg, actions, (o) => {
          const { result, before, after } = o;
          expect(result.answered).toBeLessThanOrEqual(o.budget);
          expect(o.statsDelta).toBe(result.answered);
          expect(u32(after.rsp_prod_pvt - before.rsp_prod_pvt)).toBe(result.answered);
          expect(u32(after.req_cons - before.req_cons)).toBe(result.answered);
          if (result.answered === 0) return;
          expect(o.headerAfter.rsp_prod).toBe(after.rsp_prod_pvt);
          // The last response of a call cannot have been overwritten by a later READ of the same call.
          expect([0, -1, -2]).toContain(o.lastResponse!.status);
          if (o.expect1) {
            expect(o.lastResponse!.id).toBe(o.expect1.id);
            expect(o.lastResponse!.op).toBe(o.expect1.op);
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("(d) is never wedged: the ring is halted as bogus only when req_prod - rsp_prod_pvt > ring size was published, stays halted without touching the ring, and otherwise a well-formed READ published next is answered OKAY within one call; d2's ring keeps working", () => {
    fc.assert(
      fc.property(configArb, actionsArb(HOSTILE), (cfg, actions) => {
        const checkProcess = (o: ProcessObservation) => {
          if (o.before.state === "bogus") {
            expect(o.result).toEqual({ answered: 0, notify: false, more: false, bogus: true });
            expect(equalBytes(o.ringBefore, o.ringAfter), "a halted ring was written").toBe(true);
          } else if (o.after.state === "bogus") {
            expect(o.result.bogus).toBe(true);
            expect(u32(o.headerAfter.req_prod - o.after.rsp_prod_pvt)).toBeGreaterThan(o.after.entries);
          } else {
            expect(o.result.bogus).toBe(false);
          }
        };
        run(w, cfg, actions, checkProcess);
        const { dp, ring } = w;
        // The guest reforms: drain, then one fresh, correct READ.
        const before = dp.backendIndices(w.r1);
        const ringBefore = ring.read(0, PAGE << cfg.order);
        const drain = dp.backendProcess(w.r1);
        const idx = dp.backendIndices(w.r1);
        const hdr = ring.header();
        checkProcess({
          budget: 1 << 20, before, after: idx, result: drain, headerAfter: hdr,
          ringBefore, ringAfter: ring.read(0, PAGE << cfg.order), statsDelta: 0,
        });
        if (idx.state === "connected") {
          expect(drain.more).toBe(false);
          expect(hdr.req_prod, "a drained backend has caught up with req_prod").toBe(idx.req_cons);
          dp.grantAccess(D1, DATA[0].ref, DOM0, DATA[0].gfn);
          const slot = idx.req_cons;
          ring.writeSlot(slot, encodeRequest({ operation: "READ", id: 0xfeedn, sector: 8, segments: [{ gref: DATA[0].ref, firstSect: 0, lastSect: 7 }] }, cfg.abi));
          ring.writeU32(0, u32(slot + 1));
          const r = dp.backendProcess(w.r1, 1);
          expect(r.answered).toBe(1);
          expect(ring.response(slot)).toEqual({ id: 0xfeedn, op: 0, status: 0 });
          expect(equalBytes(dp.guestRead(D1, DATA[0].gfn, 0, PAGE), dp.readDevice(DM1, 8, 8)!)).toBe(true);
        }
        // The victim's ring is served as ever.
        const data = new Uint8Array(PAGE).fill(0x5a);
        dp.guestWrite(D2, D2_DATA[0].gfn, 0, data);
        dp.frontendQueue(w.d2front, [
          encodeRequest({ operation: "WRITE", id: 1, sector: 16, segments: [{ gref: D2_DATA[0].ref, firstSect: 0, lastSect: 7 }] }),
          encodeRequest({ operation: "READ", id: 2, sector: 16, segments: [{ gref: D2_DATA[1].ref, firstSect: 0, lastSect: 7 }] }),
        ]);
        dp.frontendPush(w.d2front);
        expect(dp.backendProcess(w.r2).answered).toBe(2);
        const rsp = dp.frontendConsume(w.d2front);
        expect(rsp !== "broken" && rsp.map((x) => [x.id, x.statusName])).toEqual([[1n, "OKAY"], [2n, "OKAY"]]);
        expect(equalBytes(dp.guestRead(D2, D2_DATA[1].gfn, 0, PAGE), data)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("(e) leaks no grant mapping: after processing, d1's grants hold no pins but the ring's, dom0 maps only the two rings, and end-access succeeds on every grant whose Xen-owned bits the guest did not forge (and on all after re-granting)", () => {
    fc.assert(
      fc.property(configArb, actionsArb(HOSTILE), (cfg, actions) => {
        const { dp } = w;
        const forged = new Set<number>();
        run(w, cfg, actions, () => {}, forged);
        dp.backendProcess(w.r1);
        const ringRefs = RING_REFS.slice(0, 1 << cfg.order);
        const pins = Array.from({ length: 512 }, (_, r) => dp.grantPins(D1, r));
        const wrong = pins.map((p, r) => [r, p]).filter(([r, p]) => p !== (ringRefs.includes(r) ? 1 : 0));
        expect(wrong, "[ref, pins] of d1 grants holding pins other than the ring's one").toEqual([]);
        const staging = 0; // any address works for a 0-byte read
        let mapped = 0;
        for (let h = 0; h < 1024; h++) if (dp.raw.mappedRead(DOM0, h, 0, staging, 0) === 0) mapped++;
        expect(mapped, "dom0's live grant mappings").toBe(ringRefs.length + 1);
        for (let r = 10; r <= 24; r++) {
          if (ringRefs.includes(r)) continue;
          if (!forged.has(r)) expect(dp.endForeignAccess(D1, r), `end access of d1 ref ${r}`).toBe(true);
          dp.grantAccess(D1, r, DOM0, 1);
          expect(dp.endForeignAccess(D1, r), `end access of re-granted d1 ref ${r}`).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("(f) disconnecting and reconnecting at any moment, to whatever indices and ring grants the guest left, and the guest dying mid-stream, leave nothing behind: no trap, others untouched, every pin dropped at disconnect, and a dead guest's memory freed and never seen again", () => {
    type Life = Action | { k: "reconnect" } | { k: "die" };
    const lifeArb: fc.Arbitrary<Life[]> = fc.array(
      fc.oneof(
        { weight: 20, arbitrary: actionArb(HOSTILE) as fc.Arbitrary<Life> },
        { weight: 2, arbitrary: fc.constant({ k: "reconnect" as const }) },
        { weight: 1, arbitrary: fc.constant({ k: "die" as const }) },
      ),
      { minLength: 1, maxLength: 40, size: "medium" },
    );
    fc.assert(
      fc.property(configArb, lifeArb, (cfg, life) => {
        w.reset(cfg);
        const { dp } = w;
        const forged = new Set<number>();
        let connected = true, dead = false;
        const connect = () => dp.backendConnect(DOM0, D1, {
          grefs: RING_REFS.slice(0, 1 << cfg.order), abi: cfg.abi, device: DM1, sectors: VBD_SECTORS,
          readOnly: cfg.readOnly, discard: cfg.discard, logicalBlockSize: cfg.lbs,
        });
        for (const a of life) {
          if (a.k === "reconnect") {
            if (dead) continue;
            if (connected) dp.backendDisconnect(w.r1);
            const c = connect();
            connected = c.ok;
            if (c.ok) w.r1 = c.ring;
            else if (c.reason === "bogus-ring") {
              const h = w.ring.header(); // only checkable when the ring grants still point at the ring pages
              if (dp.readGrantEntry(D1, RING_REFS[0]).frame === 0) expect(u32(h.req_prod - h.rsp_prod)).toBeGreaterThan(w.ring.entries);
            }
          } else if (a.k === "die") {
            if (dead) continue;
            expect(dp.destroyDomain(D1)).toBe(connected ? "dying" : "freed");
            dead = true;
          } else if (a.k === "process") {
            if (connected) dp.backendProcess(w.r1, a.budget);
          } else if (!dead) {
            if (a.k === "grant" && (a.flags & 0x18) !== 0) forged.add(a.ref);
            applyGuestAction(w, a, connected ? undefined : 0);
          }
        }
        if (connected) {
          dp.backendProcess(w.r1);
          dp.backendDisconnect(w.r1);
        }
        expect(others(w)).toEqual(baseline);
        let mapped = 0;
        for (let h = 0; h < 1024; h++) if (dp.raw.mappedRead(DOM0, h, 0, 0, 0) === 0) mapped++;
        expect(mapped, "dom0's live grant mappings: d2's ring only").toBe(1);
        if (dead) {
          expect(dp.domainState(D1), "a destroyed guest is freed once blkback lets go of its ring").toBe("free");
          dp.createDomain(D1, { pages: D1_PAGES, grantFrames: 1 });
          for (let g = 0; g < D1_PAGES; g++) expect(equalBytes(dp.guestRead(D1, g, 0, PAGE), new Uint8Array(PAGE)), `new d1's gfn ${g} is zeroed`).toBe(true);
          for (let r = 0; r < 32; r++) expect(dp.readGrantEntry(D1, r)).toEqual({ flags: 0, domid: 0, frame: 0 });
        } else {
          const wrong = Array.from({ length: 512 }, (_, r) => [r, dp.grantPins(D1, r)]).filter(([, p]) => p !== 0);
          expect(wrong, "[ref, pins] of d1 grants still pinned after disconnect").toEqual([]);
          for (let r = 8; r <= 24; r++) if (!forged.has(r)) expect(dp.endForeignAccess(D1, r), `end access of d1 ref ${r}`).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("(g) a frontend whose WRITEs run the arena out of frames gets BLKIF_RSP_ERROR, nothing traps, the ring keeps working, and a failed write past the end of the backing file leaves nothing there that growing the file would reveal", async () => {
    const writeArb = fc.record({ sector: fc.integer({ min: 0, max: 4000 }), nseg: fc.integer({ min: 1, max: 11 }) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 64 << 10 }), fc.array(writeArb, { minLength: 1, maxLength: 8 }), async (free, size0, writes) => {
        const dp = await DataPlane.create({ maxFrames: 256 });
        dp.createDomain(DOM0, { pages: 4, grantFrames: 1 });
        dp.createDomain(D1, { pages: 16, grantFrames: 1 });
        dp.createImage(0, size0); // sparse: every block written costs an arena frame
        dp.setImageDevice(0, { image: 0, sectors: 4096 }); // the loop device reaches well past the file's end
        for (let g = 0; g < 12; g++) dp.guestWrite(D1, g, 0, new Uint8Array(PAGE).fill(0xa0 + g));
        dp.grantAccess(D1, 8, DOM0, 0);
        for (let i = 0; i < 11; i++) dp.grantAccess(D1, 10 + i, DOM0, 1 + i);
        const front = dp.frontendInit(D1, [0]);
        const c = dp.backendConnect(DOM0, D1, { grefs: [8], device: 0, sectors: 4096 });
        if (!c.ok) throw new Error("connect failed");
        // Leave exactly `free` frames: a filler domain takes the rest.
        dp.createDomain(5, { pages: 256, grantFrames: 1 });
        for (let g = 0; dp.framesInUse < dp.framesLimit - free; g++) dp.guestWrite(5, g, 0, new Uint8Array([1]));
        let id = 1;
        const run = (req: Parameters<typeof encodeRequest>[0]) => {
          dp.frontendQueue(front, encodeRequest(req));
          dp.frontendPush(front);
          expect(dp.backendProcess(c.ring).answered).toBe(1);
          const r = dp.frontendConsume(front);
          if (r === "broken" || r.length !== 1) throw new Error("no response");
          return r[0].statusName;
        };
        for (const wr of writes) {
          const segments = Array.from({ length: wr.nseg }, (_, i) => ({ gref: 10 + i, firstSect: 0, lastSect: 7 }));
          expect(["OKAY", "ERROR"]).toContain(run({ operation: "WRITE", id: id++, sector: wr.sector, segments }));
        }
        // Not wedged: a READ (which needs no new frame) is answered OKAY.
        expect(run({ operation: "READ", id: id++, sector: 0, segments: [{ gref: 10, firstSect: 0, lastSect: 7 }] })).toBe("OKAY");
        // Whatever lies past the file's end must read as zeros once the file grows (image.ts: "Bytes past the new end
        // must read as zeros if the file grows again").
        const size = dp.imageSize(0);
        dp.resizeImage(0, 4096 * SECTOR);
        const tail = dp.readImage(0, size, 4096 * SECTOR - size);
        const at = tail.findIndex((b) => b !== 0);
        expect(at, `a byte past the file's end (${size}) at offset ${size + at} is not zero after growing the file`).toBe(-1);
      }),
      { numRuns: 60, examples: [[3, 0, [{ sector: 0, nseg: 2 }]]] },
    );
  });
});
