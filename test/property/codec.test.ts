// The blkif codec and the data path.
//  1. encodeRequest (abi.ts) lays every request out at the offsets of the
//     spec, for both ABIs (docs/xen-protocol.md, "The x86_64 layout";
//     reference-checks.md §7, packed x86_32), with every byte not named by a
//     field left zero.
//  2. blkback reads what the frontend wrote: random valid READ, WRITE,
//     INDIRECT and DISCARD requests through the real ring are answered OKAY
//     with id and operation echoed, and move exactly the bytes a pure-TS model
//     of dm-linear (several targets, with offsets) over loop (any lo_offset)
//     over an image predicts.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { BLKIF_OP, LAYOUT, encodeRequest, type BlkifAbi, type BlkifRequest } from "../../web/src/core/abi";
import { DataPlane } from "../../web/src/core/data-plane";
import { ABIS, PAGE, SECTOR, SPEC, U64, equalBytes, firstDiff, pattern } from "./harness";

const int = (min: number, max: number) => fc.integer({ min, max });
const abiArb = fc.constantFrom<BlkifAbi>(...ABIS);
const idArb = fc.oneof(fc.bigInt({ min: 0n, max: U64 - 1n }), fc.nat().map((n) => n as number | bigint));
const sectorArb = fc.oneof(int(0, 1 << 20), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const segArb = fc.record({ gref: fc.integer({ min: 0, max: 0xffff_ffff }), firstSect: int(0, 7), lastSect: int(0, 7) });

/** Bytes of `out` outside the listed [offset, length) fields must be zero. */
function expectZeroOutside(out: Uint8Array, fields: [number, number][]): void {
  const named = new Uint8Array(out.length);
  for (const [o, n] of fields) named.fill(1, o, o + n);
  out.forEach((b, i) => { if (!named[i] && b !== 0) expect.fail(`byte ${i} is ${b}, expected 0 (padding)`); });
}

describe("encodeRequest lays requests out as the spec says", () => {
  it("abi.ts's LAYOUT table equals the spec's offsets (native: id 8, sector 16, seg 24; x86_32 packed: id 4, sector 12, seg 20; entries 112 and 108 bytes)", () => {
    for (const abi of ABIS) {
      const L = LAYOUT[abi], S = SPEC[abi];
      expect({ entry: L.entry, id: L.id, sector: L.sector, seg: L.seg, discardNr: L.discardNr, indirectHandle: L.indirectHandle, indirectGrefs: L.indirectGrefs }).toEqual(S);
    }
  });

  it("READ/WRITE/WRITE_BARRIER/FLUSH_DISKCACHE: operation 0, nr_segments 1, handle 2, id, sector_number, then 8-byte segments (gref u32, first_sect, last_sect, 2 bytes padding)", () => {
    fc.assert(
      fc.property(abiArb, fc.constantFrom("READ", "WRITE", "WRITE_BARRIER", "FLUSH_DISKCACHE") as fc.Arbitrary<"READ">, idArb, sectorArb, int(0, 0xffff),
        fc.array(segArb, { minLength: 0, maxLength: 11 }), (abi, operation, id, sector, handle, segments) => {
          const out = encodeRequest({ operation, id, sector, handle, segments }, abi);
          const S = SPEC[abi];
          const v = new DataView(out.buffer);
          expect(out.length).toBe(S.entry);
          expect(v.getUint8(0)).toBe(BLKIF_OP[operation]);
          expect(v.getUint8(1)).toBe(segments.length);
          expect(v.getUint16(2, true)).toBe(handle);
          expect(v.getBigUint64(S.id, true)).toBe(BigInt(id));
          expect(v.getBigUint64(S.sector, true)).toBe(BigInt(sector));
          segments.forEach((s, i) => {
            expect([v.getUint32(S.seg + 8 * i, true), v.getUint8(S.seg + 8 * i + 4), v.getUint8(S.seg + 8 * i + 5)]).toEqual([s.gref, s.firstSect, s.lastSect]);
          });
          expectZeroOutside(out, [[0, 4], [S.id, 8], [S.sector, 8], ...segments.map((_, i): [number, number] => [S.seg + 8 * i, 6])]);
        }),
      { numRuns: 300 },
    );
  });

  it("DISCARD: operation 5, flag 1 (BLKIF_DISCARD_SECURE), id, sector_number, nr_sectors (native 24, x86_32 20)", () => {
    fc.assert(
      fc.property(abiArb, idArb, sectorArb, sectorArb, fc.boolean(), (abi, id, sector, nrSectors, secure) => {
        const out = encodeRequest({ operation: "DISCARD", id, sector, nrSectors, secure }, abi);
        const S = SPEC[abi];
        const v = new DataView(out.buffer);
        expect([out.length, v.getUint8(0), v.getUint8(1)]).toEqual([S.entry, 5, secure ? 1 : 0]);
        expect([v.getBigUint64(S.id, true), v.getBigUint64(S.sector, true), v.getBigUint64(S.discardNr, true)]).toEqual([BigInt(id), BigInt(sector), BigInt(nrSectors)]);
        expectZeroOutside(out, [[0, 2], [S.id, 8], [S.sector, 8], [S.discardNr, 8]]);
      }),
      { numRuns: 200 },
    );
  });

  it("INDIRECT: operation 6, indirect_op 1, nr_segments u16 at 2, id, sector_number, handle (native 24, x86_32 20), indirect_grefs[8] (native 28, x86_32 24)", () => {
    fc.assert(
      fc.property(abiArb, idArb, sectorArb, int(0, 0xffff), int(0, 0xffff), fc.constantFrom("READ", "WRITE") as fc.Arbitrary<"READ">,
        fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 8 }), (abi, id, sector, nrSegments, handle, indirectOp, indirectGrefs) => {
          const out = encodeRequest({ operation: "INDIRECT", indirectOp, id, sector, nrSegments, handle, indirectGrefs }, abi);
          const S = SPEC[abi];
          const v = new DataView(out.buffer);
          expect([out.length, v.getUint8(0), v.getUint8(1), v.getUint16(2, true)]).toEqual([S.entry, 6, BLKIF_OP[indirectOp], nrSegments]);
          expect([v.getBigUint64(S.id, true), v.getBigUint64(S.sector, true), v.getUint16(S.indirectHandle, true)]).toEqual([BigInt(id), BigInt(sector), handle]);
          indirectGrefs.forEach((g, i) => expect(v.getUint32(S.indirectGrefs + 4 * i, true)).toBe(g));
          expectZeroOutside(out, [[0, 4], [S.id, 8], [S.sector, 8], [S.indirectHandle, 2], [S.indirectGrefs, 4 * indirectGrefs.length]]);
        }),
      { numRuns: 200 },
    );
  });

  it("an unknown operation code keeps the caller's raw bytes and sets only operation and id", () => {
    fc.assert(
      fc.property(abiArb, int(7, 255), idArb, fc.uint8Array({ minLength: 112, maxLength: 112 }), (abi, operation, id, raw) => {
        const out = encodeRequest({ operation, id, raw }, abi);
        const S = SPEC[abi];
        const want = raw.slice(0, S.entry);
        want[0] = operation;
        new DataView(want.buffer).setBigUint64(S.id, BigInt(id), true);
        expect(equalBytes(out, want)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

// ---- through the real ring ----

const DOM0 = 0, GUEST = 1, IMG = 0, LOOP = 0, DM = 1;
const NDATA = 40; // data pages: gfns 1..40, granted by refs 10..49
const dataRef = (i: number) => 10 + i;
const dataGfn = (i: number) => 1 + i;
const INDIRECT_GFN = 50, INDIRECT_REF = 60, RING_GFN = 0, RING_REF = 8;
const IMG_BYTES = 512 << 10;

interface Stack { lo: number; targets: { length: number; offset: number }[] }
const stackArb: fc.Arbitrary<Stack> = fc.record({
  lo: int(0, 12_000), // lo_offset in bytes: any, not only whole sectors
  targets: fc.array(fc.record({ length: int(1, 200), offset: int(0, 400) }), { minLength: 1, maxLength: 3 }),
});
const vbdSectors = (s: Stack) => s.targets.reduce((n, t) => n + t.length, 0);

/** The model: device sector of the dm device -> byte offset in the image. */
function imageOffset(stack: Stack, sector: number): number {
  let start = 0;
  for (const t of stack.targets) {
    if (sector < start + t.length) return stack.lo + (t.offset + sector - start) * SECTOR;
    start += t.length;
  }
  throw new Error("beyond the table");
}

interface Seg { page: number; first: number; last: number }
type Req = { kind: "READ" | "WRITE" | "INDIRECT_READ" | "INDIRECT_WRITE"; sector: number; segs: Seg[]; id: bigint } | { kind: "DISCARD"; sector: number; nr: number; id: bigint };

/** A valid request on `stack`'s device: distinct pages per segment, any first <= last within a page. */
function reqArb(stack: Stack): fc.Arbitrary<Req> {
  const vbd = vbdSectors(stack);
  const segs = (max: number) => fc.shuffledSubarray(Array.from({ length: NDATA }, (_, i) => i), { minLength: 1, maxLength: max }).chain((pages) =>
    fc.tuple(...pages.map((page) => fc.tuple(int(0, 7), int(0, 7)).map(([a, b]): Seg => ({ page, first: Math.min(a, b), last: Math.max(a, b) })))));
  const rw = (fc.constantFrom("READ", "WRITE", "INDIRECT_READ", "INDIRECT_WRITE") as fc.Arbitrary<"READ">)
    .chain((kind) => segs(kind.startsWith("INDIRECT") ? 32 : 11).map((s) => [kind, s] as const))
    .filter(([, s]) => s.reduce((n, x) => n + x.last - x.first + 1, 0) <= vbd)
    .chain(([kind, s]) => {
      const n = s.reduce((acc, x) => acc + x.last - x.first + 1, 0);
      return fc.record({ kind: fc.constant(kind), sector: int(0, vbd - n), segs: fc.constant(s), id: fc.bigInt({ min: 0n, max: U64 - 1n }) });
    });
  const discard = int(0, vbd).chain((sector) => fc.record({ kind: fc.constant("DISCARD" as const), sector: fc.constant(sector), nr: int(0, vbd - sector), id: fc.bigInt({ min: 0n, max: U64 - 1n }) }));
  return fc.oneof({ weight: 6, arbitrary: rw as fc.Arbitrary<Req> }, { weight: 1, arbitrary: discard });
}

describe("blkback reads what blkfront wrote and moves exactly the right bytes", () => {
  let dp: DataPlane;
  let base: number;
  beforeAll(async () => {
    dp = await DataPlane.create({ maxFrames: 4096 });
    dp.createDomain(DOM0, { pages: 4, grantFrames: 1 });
    dp.createDomain(GUEST, { pages: 64, grantFrames: 1 });
    dp.createImage(IMG, IMG_BYTES);
    dp.writeImage(IMG, 0, pattern(IMG_BYTES, 5));
    for (let i = 0; i < NDATA; i++) {
      dp.guestWrite(GUEST, dataGfn(i), 0, pattern(PAGE, 100 + i));
      dp.grantAccess(GUEST, dataRef(i), DOM0, dataGfn(i));
    }
    dp.grantAccess(GUEST, RING_REF, DOM0, RING_GFN);
    dp.grantAccess(GUEST, INDIRECT_REF, DOM0, INDIRECT_GFN, { readonly: true });
    base = dp.checkpoint();
  });

  /** Runs random valid requests through the ring; with `truncate`, the image is first cut short under the loop device. */
  function dataPath(truncate: boolean): void {
    const scenario = fc.record({ abi: abiArb, stack: stackArb, size: truncate ? int(0, 330_000) : fc.constant(IMG_BYTES) }).chain(({ abi, stack, size }) =>
      fc.record({ abi: fc.constant(abi), stack: fc.constant(stack), size: fc.constant(size), rounds: fc.array(reqArb(stack), { minLength: 1, maxLength: 4 }) }));
    fc.assert(
      fc.property(scenario, ({ abi, stack, size: size0, rounds }) => {
        dp.restore(base);
        dp.setImageDevice(LOOP, { image: IMG, offset: stack.lo, sectors: Math.floor((IMG_BYTES - stack.lo) / SECTOR) });
        let start = 0;
        dp.setTableDevice(DM, stack.targets.map((t) => {
          const target = { start, length: t.length, type: "linear" as const, device: LOOP, offset: t.offset };
          start += t.length;
          return target;
        }));
        // The backing file shrinks under the loop device (as after a truncate): reads past its end see
        // zeros, writes past its end grow it.
        dp.resizeImage(IMG, size0);
        let size = size0;
        const front = dp.frontendInit(GUEST, [RING_GFN], { abi });
        const conn = dp.backendConnect(DOM0, GUEST, { grefs: [RING_REF], abi, device: DM, sectors: vbdSectors(stack), discard: true });
        if (!conn.ok) throw new Error("connect failed");
        const img = pattern(IMG_BYTES, 5);
        img.fill(0, size);
        const pages = Array.from({ length: NDATA }, (_, i) => pattern(PAGE, 100 + i));

        rounds.forEach((r, round) => {
          const at = `round ${round} (${r.kind})`;
          let req: BlkifRequest;
          if (r.kind === "DISCARD") {
            req = { operation: "DISCARD", id: r.id, sector: r.sector, nrSectors: r.nr };
          } else {
            const segments = r.segs.map((s) => ({ gref: dataRef(s.page), firstSect: s.first, lastSect: s.last }));
            if (r.kind === "READ" || r.kind === "WRITE") {
              req = { operation: r.kind, id: r.id, sector: r.sector, segments };
            } else {
              const ind = new Uint8Array(8 * segments.length);
              const v = new DataView(ind.buffer);
              segments.forEach((s, i) => { v.setUint32(8 * i, s.gref, true); v.setUint8(8 * i + 4, s.firstSect); v.setUint8(8 * i + 5, s.lastSect); });
              dp.guestWrite(GUEST, INDIRECT_GFN, 0, ind);
              req = { operation: "INDIRECT", indirectOp: r.kind === "INDIRECT_READ" ? "READ" : "WRITE", id: r.id, sector: r.sector, nrSegments: segments.length, indirectGrefs: [INDIRECT_REF] };
            }
          }
          expect(dp.frontendQueue(front, encodeRequest(req, abi))).toBe(1);
          dp.frontendPush(front);
          expect(dp.backendProcess(conn.ring).answered, at).toBe(1);
          const rsp = dp.frontendConsume(front);
          const op = r.kind === "DISCARD" ? 5 : r.kind.endsWith("READ") ? 0 : 1;
          expect(rsp !== "broken" && rsp.map((x) => [x.id, x.operation, x.statusName]), at).toEqual([[r.id, op, "OKAY"]]);

          // The model of the same request.
          if (r.kind === "DISCARD") {
            for (let s = r.sector; s < r.sector + r.nr; s++) img.fill(0, imageOffset(stack, s), imageOffset(stack, s) + SECTOR);
          } else {
            let s = r.sector;
            for (const seg of r.segs) {
              for (let k = seg.first; k <= seg.last; k++, s++) {
                const io = imageOffset(stack, s);
                if (op === 0) {
                  pages[seg.page].set(img.subarray(io, io + SECTOR), k * SECTOR); // beyond `size` the model holds zeros
                } else {
                  img.set(pages[seg.page].subarray(k * SECTOR, (k + 1) * SECTOR), io);
                  size = Math.max(size, io + SECTOR);
                }
              }
            }
          }
          expect(dp.imageSize(IMG), `${at}: image size`).toBe(size);
          const gotImg = dp.readImage(IMG, 0, size);
          if (!equalBytes(gotImg, img.subarray(0, size))) expect.fail(`${at}: image differs first at byte ${firstDiff(gotImg, img.subarray(0, size))}`);
          for (let i = 0; i < NDATA; i++) {
            const got = dp.guestRead(GUEST, dataGfn(i), 0, PAGE);
            if (!equalBytes(got, pages[i])) expect.fail(`${at}: data page ${i} differs first at byte ${firstDiff(got, pages[i])}`);
          }
        });
      }),
      { numRuns: 300 },
    );
  }

  it("random valid READ, WRITE, INDIRECT and DISCARD requests, queued by blkfront in either ABI, are answered OKAY with id and operation echoed, and the image and the guest's pages end exactly as the dm-linear -> loop(lo_offset) -> image model says", () => {
    dataPath(false);
  });

  it("the same when the backing file was truncated under the loop device: READs past its end see zeros, WRITEs past its end grow it (and only to the end of what was written)", () => {
    dataPath(true);
  });
});
