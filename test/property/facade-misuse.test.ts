// "Misuse of the facade from TypeScript (bad ids, sizes) throws a clear
// error": every DataPlane method, fed a bad id, size or offset (NaN,
// +-Infinity, fractional, negative, too big, >= 2^32, values that wrap to a
// valid id modulo 2^32, ids that do not exist), throws a CoreUsageError whose
// message names the problem, and leaves the arena exactly as it was.
// Running out of arena frames throws CoreOutOfMemoryError, also without
// changing the state.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeRequest } from "../../web/src/core/abi";
import { DataPlane, type BackendOptions, type Target } from "../../web/src/core/data-plane";
import { CoreOutOfMemoryError, CoreUsageError } from "../../web/src/core/errors";

const int = (min: number, max: number) => fc.integer({ min, max });
const NON_INTEGER = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 1.5, -0.5, 8.25),
  fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
);
const NEGATIVE = fc.oneof(fc.constantFrom(-1, -(2 ** 31), -(2 ** 32) + 1), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: -1 }));
const HUGE = fc.oneof(fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 53, 2 ** 64, 1e300));
/** Integers that are `valid` modulo 2^32: the wasm boundary (ToInt32/ToUint32) turns them into `valid`. */
const wrapsTo = (...valid: number[]) => fc.constantFrom(...valid.flatMap((v) => [2 ** 32 + v, 2 ** 33 + v, v - 2 ** 32]));

/** Bad values for an id or count whose valid range is [min, limit), `valid` being ids that exist. */
function bad(limit: number, valid: number[], opts: { min?: number; missing?: number[] } = {}): fc.Arbitrary<number> {
  const arbs: fc.Arbitrary<number>[] = [NON_INTEGER, NEGATIVE, HUGE, wrapsTo(...valid)];
  if (limit < 2 ** 32) arbs.push(fc.integer({ min: limit, max: 2 ** 32 - 1 }));
  if (opts.min) arbs.push(int(Math.min(0, opts.min - 1), opts.min - 1));
  if (opts.missing?.length) arbs.push(fc.constantFrom(...opts.missing));
  return fc.oneof(...arbs);
}

// The world every call is made against.
const DOM0 = 0, D1 = 1, IMG = 0, LOOP = 0, DM = 1, RING_REF = 8, DATA_REF = 9;
let H = -1; // a live mapping of d1's DATA_REF by dom0
let FRONT = -1, BACK = -1;
const entry = () => encodeRequest({ operation: "READ", id: 1, sector: 0, segments: [{ gref: DATA_REF, firstSect: 0, lastSect: 7 }] });
const backendOptions = (o: Partial<BackendOptions> = {}): BackendOptions => ({ grefs: [RING_REF], device: DM, sectors: 2048, ...o });
const linear = (o: Partial<Extract<Target, { type: "linear" }>> = {}): Target => ({ start: 0, length: 64, type: "linear", device: LOOP, offset: 0, ...o });

interface Case { name: string; values: fc.Arbitrary<number>; call: (dp: DataPlane, x: number) => unknown; message: RegExp }

const DOMAIN = /domain|domid/;
const CASES: Case[] = [
  // domains and guest memory
  { name: "createDomain(domid)", values: bad(64, [5], { missing: [DOM0, D1] }), call: (dp, x) => dp.createDomain(x, { pages: 4 }), message: DOMAIN },
  { name: "createDomain({pages})", values: bad(16385, [4], { min: 1 }), call: (dp, x) => dp.createDomain(5, { pages: x }), message: /pages/ },
  { name: "createDomain({grantFrames})", values: bad(65, [1], { min: 1 }), call: (dp, x) => dp.createDomain(5, { pages: 4, grantFrames: x }), message: /grantFrames/ },
  { name: "destroyDomain(domid)", values: bad(64, [D1], { missing: [5, 63] }), call: (dp, x) => dp.destroyDomain(x), message: DOMAIN },
  { name: "domainState(domid)", values: fc.oneof(NON_INTEGER, NEGATIVE, wrapsTo(DOM0, D1)), call: (dp, x) => dp.domainState(x), message: DOMAIN },
  { name: "guestWrite(domid)", values: bad(64, [D1], { missing: [5] }), call: (dp, x) => dp.guestWrite(x, 1, 0, new Uint8Array(16)), message: DOMAIN },
  { name: "guestWrite(gfn)", values: bad(16, [1]), call: (dp, x) => dp.guestWrite(D1, x, 0, new Uint8Array(16)), message: /gfn/ },
  { name: "guestWrite(offset)", values: fc.oneof(bad(4081, [0]), int(4081, 4096)), call: (dp, x) => dp.guestWrite(D1, 1, x, new Uint8Array(16)), message: /offset/ },
  { name: "guestWrite(bytes longer than a page)", values: int(4097, 70_000), call: (dp, x) => dp.guestWrite(D1, 1, 0, new Uint8Array(x)), message: /page|length/ },
  { name: "guestRead(length)", values: bad(4097, [16]), call: (dp, x) => dp.guestRead(D1, 1, 0, x), message: /length/ },
  // grant tables
  { name: "grantAccess(dom)", values: bad(64, [D1], { missing: [5] }), call: (dp, x) => dp.grantAccess(x, 20, DOM0, 1), message: DOMAIN },
  { name: "grantAccess(ref)", values: bad(512, [20]), call: (dp, x) => dp.grantAccess(D1, x, DOM0, 1), message: /ref/ },
  { name: "grantAccess(grantee)", values: bad(0x10000, [0]), call: (dp, x) => dp.grantAccess(D1, 20, x, 1), message: /grantee/ },
  { name: "grantAccess(gfn)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.grantAccess(D1, 20, DOM0, x), message: /gfn/ },
  { name: "writeGrantEntry(flags)", values: bad(0x10000, [1]), call: (dp, x) => dp.writeGrantEntry(D1, 20, { flags: x, domid: 0, frame: 1 }), message: /flags/ },
  { name: "writeGrantEntry(domid)", values: bad(0x10000, [0]), call: (dp, x) => dp.writeGrantEntry(D1, 20, { flags: 1, domid: x, frame: 1 }), message: /domid/ },
  { name: "writeGrantEntry(frame)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.writeGrantEntry(D1, 20, { flags: 1, domid: 0, frame: x }), message: /frame/ },
  { name: "readGrantEntry(dom)", values: bad(64, [D1], { missing: [5] }), call: (dp, x) => dp.readGrantEntry(x, RING_REF), message: DOMAIN },
  { name: "readGrantEntry(ref)", values: bad(512, [RING_REF]), call: (dp, x) => dp.readGrantEntry(D1, x), message: /ref/ },
  { name: "endForeignAccess(dom)", values: bad(64, [D1], { missing: [5] }), call: (dp, x) => dp.endForeignAccess(x, 20), message: DOMAIN },
  { name: "endForeignAccess(ref)", values: bad(512, [20]), call: (dp, x) => dp.endForeignAccess(D1, x), message: /ref/ },
  { name: "grantPins(ref)", values: bad(512, [RING_REF]), call: (dp, x) => dp.grantPins(D1, x), message: /ref/ },
  { name: "mapGrant(mapper)", values: bad(64, [DOM0], { missing: [5] }), call: (dp, x) => dp.mapGrant(x, D1, DATA_REF), message: DOMAIN },
  { name: "mapGrant(granter) not a u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.mapGrant(DOM0, x, DATA_REF), message: /granter/ },
  { name: "mapGrant(ref) not a u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.mapGrant(DOM0, D1, x), message: /ref/ },
  { name: "unmapGrant(mapper) not a u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.unmapGrant(x, H), message: /mapper/ },
  { name: "unmapGrant(handle) not a u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.unmapGrant(DOM0, x), message: /handle/ },
  { name: "mappedRead(mapper)", values: bad(64, [DOM0], { missing: [D1, 5] }), call: (dp, x) => dp.mappedRead(x, H, 0, 16), message: /mapper|domain|mapped/ },
  { name: "mappedRead(handle)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE, wrapsTo(1), fc.constantFrom(77, 4095)), call: (dp, x) => dp.mappedRead(DOM0, x, 0, 16), message: /handle/ },
  { name: "mappedRead(offset)", values: fc.oneof(bad(4081, [0]), int(4081, 4096)), call: (dp, x) => dp.mappedRead(DOM0, H, x, 16), message: /offset/ },
  { name: "mappedWrite(mapper)", values: bad(64, [DOM0], { missing: [D1, 5] }), call: (dp, x) => dp.mappedWrite(x, H, 0, new Uint8Array([1, 2, 3])), message: /mapper|domain|mapped/ },
  { name: "mappedWrite(handle)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE, wrapsTo(1), fc.constantFrom(77, 4095)), call: (dp, x) => dp.mappedWrite(DOM0, x, 0, new Uint8Array([1, 2, 3])), message: /handle/ },
  { name: "grantCopy(caller)", values: bad(64, [DOM0], { missing: [5] }), call: (dp, x) => dp.grantCopy(x, { ref: DATA_REF, dom: D1, offset: 0 }, { ref: DATA_REF, dom: D1, offset: 512 }, 16), message: /domain|domid|caller|u32/ },
  { name: "grantCopy(length, offsets) not u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.grantCopy(DOM0, { ref: DATA_REF, dom: D1, offset: 0 }, { gfn: 0, offset: 0 }, x), message: /u32|length/ },
  // images
  { name: "createImage(id)", values: bad(256, [5], { missing: [IMG] }), call: (dp, x) => dp.createImage(x, 4096), message: /image/ },
  { name: "createImage(size)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.integer({ min: 2 ** 42 + 1, max: Number.MAX_SAFE_INTEGER })), call: (dp, x) => dp.createImage(5, x), message: /size/ },
  { name: "destroyImage(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.destroyImage(x), message: /image/ },
  { name: "resizeImage(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.resizeImage(x, 4096), message: /image/ },
  { name: "resizeImage(size)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.integer({ min: 2 ** 42 + 1, max: Number.MAX_SAFE_INTEGER })), call: (dp, x) => dp.resizeImage(IMG, x), message: /size/ },
  { name: "imageSize(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.imageSize(x), message: /image/ },
  { name: "imageBlocks(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.imageBlocks(x), message: /image/ },
  { name: "readImage(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.readImage(x, 0, 16), message: /image/ },
  { name: "readImage(offset)", values: fc.oneof(NON_INTEGER, NEGATIVE, int((1 << 20) - 15, 2 ** 40)), call: (dp, x) => dp.readImage(IMG, x, 16), message: /beyond|offset/ },
  { name: "readImage(length)", values: fc.oneof(NON_INTEGER, NEGATIVE, int((1 << 20) + 1, 2 ** 40)), call: (dp, x) => dp.readImage(IMG, 0, x), message: /beyond|length/ },
  { name: "writeImage(id)", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.writeImage(x, 0, new Uint8Array(16)), message: /image/ },
  { name: "writeImage(offset)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.integer({ min: 2 ** 42, max: Number.MAX_SAFE_INTEGER })), call: (dp, x) => dp.writeImage(IMG, x, new Uint8Array(16)), message: /write|offset/ },
  { name: "discardImage(offset, length)", values: fc.oneof(NON_INTEGER, NEGATIVE, int((1 << 20) + 1, 2 ** 40)), call: (dp, x) => dp.discardImage(IMG, 0, x), message: /discard/ },
  // block devices
  { name: "setImageDevice(dev)", values: bad(256, [2]), call: (dp, x) => dp.setImageDevice(x, { image: IMG, sectors: 8 }), message: /device/ },
  { name: "setImageDevice({image})", values: bad(256, [IMG], { missing: [5] }), call: (dp, x) => dp.setImageDevice(2, { image: x, sectors: 8 }), message: /image/ },
  { name: "setImageDevice({offset, sectors})", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(2 ** 60)), call: (dp, x) => dp.setImageDevice(2, { image: IMG, sectors: x }), message: /sectors/ },
  { name: "setTableDevice(dev)", values: bad(256, [2]), call: (dp, x) => dp.setTableDevice(x, [linear()]), message: /device/ },
  { name: "setTableDevice(target length)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(0), fc.constant(2 ** 60)), call: (dp, x) => dp.setTableDevice(2, [linear({ length: x })]), message: /length/ },
  { name: "setTableDevice(linear offset)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(2 ** 60)), call: (dp, x) => dp.setTableDevice(2, [linear({ offset: x })]), message: /offset/ },
  { name: "setTableDevice(linear device)", values: bad(256, [LOOP]), call: (dp, x) => dp.setTableDevice(2, [linear({ device: x })]), message: /device/ },
  { name: "setTableDevice(striped chunkSectors)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(0)), call: (dp, x) => dp.setTableDevice(2, [{ start: 0, length: 64, type: "striped", chunkSectors: x, legs: [{ device: LOOP, offset: 0 }] }]), message: /chunk/ },
  { name: "setTableDevice(striped leg offset)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(2 ** 60)), call: (dp, x) => dp.setTableDevice(2, [{ start: 0, length: 64, type: "striped", chunkSectors: 8, legs: [{ device: LOOP, offset: x }] }]), message: /offset/ },
  { name: "clearDevice(dev)", values: bad(256, [LOOP]), call: (dp, x) => dp.clearDevice(x), message: /device/ },
  { name: "deviceSectors(dev)", values: bad(256, [LOOP]), call: (dp, x) => dp.deviceSectors(x), message: /device/ },
  { name: "readDevice(sector)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE.filter((x) => x > Number.MAX_SAFE_INTEGER)), call: (dp, x) => dp.readDevice(LOOP, x, 1), message: /sector|range/ },
  { name: "readDevice(count)", values: fc.oneof(NON_INTEGER, NEGATIVE, int(8193, 2 ** 40)), call: (dp, x) => dp.readDevice(LOOP, 0, x), message: /sectors|range/ },
  { name: "writeDevice(sector)", values: fc.oneof(NON_INTEGER, NEGATIVE), call: (dp, x) => dp.writeDevice(LOOP, x, new Uint8Array(512)), message: /sector/ },
  { name: "writeDevice(bytes not whole sectors)", values: int(1, 4000).filter((n) => n % 512 !== 0), call: (dp, x) => dp.writeDevice(LOOP, 0, new Uint8Array(x)), message: /sector/ },
  { name: "discardDevice(count)", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.discardDevice(LOOP, 0, x), message: /discard/ },
  // frontend rings
  { name: "frontendInit(dom)", values: bad(64, [D1], { missing: [5] }), call: (dp, x) => dp.frontendInit(x, [2]), message: DOMAIN },
  { name: "frontendInit(gfns)", values: bad(16, [2]), call: (dp, x) => dp.frontendInit(D1, [x]), message: /gfn/ },
  { name: "frontendInit(number of pages)", values: fc.constantFrom(0, 3, 5, 6, 7, 9, 17, 32), call: (dp, x) => dp.frontendInit(D1, Array.from({ length: x }, (_, i) => i % 16)), message: /pages/ },
  { name: "frontendFreeSlots(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendFreeSlots(x), message: /ring/ },
  { name: "frontendQueue(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendQueue(x, entry()), message: /ring/ },
  { name: "frontendQueue(bytes not whole entries)", values: int(1, 1000).filter((n) => n % 112 !== 0), call: (dp, x) => dp.frontendQueue(FRONT, new Uint8Array(x)), message: /entries|bytes/ },
  { name: "frontendPush(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendPush(x), message: /ring/ },
  { name: "frontendConsume(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendConsume(x), message: /ring/ },
  { name: "frontendConsume(max)", values: fc.oneof(NON_INTEGER, NEGATIVE), call: (dp, x) => dp.frontendConsume(FRONT, x), message: /max/ },
  { name: "frontendFinalCheck(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendFinalCheck(x), message: /ring/ },
  { name: "frontendIndices(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendIndices(x), message: /ring/ },
  { name: "frontendFree(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.frontendFree(x), message: /ring/ },
  { name: "ringHeader(gfn)", values: bad(16, [0]), call: (dp, x) => dp.ringHeader(D1, x), message: /gfn/ },
  // backend rings
  { name: "backendConnect(backDom)", values: bad(64, [DOM0], { missing: [5] }), call: (dp, x) => dp.backendConnect(x, D1, backendOptions()), message: DOMAIN },
  { name: "backendConnect(frontDom) not a u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.backendConnect(DOM0, x, backendOptions()), message: /front/ },
  { name: "backendConnect({grefs}) not u32", values: fc.oneof(NON_INTEGER, NEGATIVE, HUGE), call: (dp, x) => dp.backendConnect(DOM0, D1, backendOptions({ grefs: [x] })), message: /gref/ },
  { name: "backendConnect(number of grefs)", values: fc.constantFrom(0, 3, 5, 17, 32), call: (dp, x) => dp.backendConnect(DOM0, D1, backendOptions({ grefs: Array.from({ length: x }, () => RING_REF) })), message: /pages|grefs/ },
  { name: "backendConnect({device})", values: bad(256, [DM]), call: (dp, x) => dp.backendConnect(DOM0, D1, backendOptions({ device: x })), message: /device/ },
  { name: "backendConnect({sectors})", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(2 ** 60)), call: (dp, x) => dp.backendConnect(DOM0, D1, backendOptions({ sectors: x })), message: /size|sectors/ },
  { name: "backendConnect({logicalBlockSize})", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constantFrom(0, 256, 513, 3072, 8192)), call: (dp, x) => dp.backendConnect(DOM0, D1, backendOptions({ logicalBlockSize: x })), message: /block size/ },
  { name: "backendProcess(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.backendProcess(x), message: /ring/ },
  { name: "backendProcess(budget)", values: fc.oneof(NON_INTEGER, NEGATIVE, fc.constant(0), int(2 ** 24, 2 ** 32 + 5)), call: (dp, x) => dp.backendProcess(BACK, x), message: /budget/ },
  { name: "backendIndices(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.backendIndices(x), message: /ring/ },
  { name: "backendStats(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.backendStats(x), message: /ring/ },
  { name: "backendDisconnect(ring)", values: bad(64, [0], { missing: [3] }), call: (dp, x) => dp.backendDisconnect(x), message: /ring/ },
  // checkpoints (restore/release change the open checkpoints, so they get their own data plane below)
  { name: "dirtyFramesSince(id)", values: fc.oneof(NON_INTEGER, NEGATIVE, wrapsTo(1), fc.constantFrom(0, 2, 4096)), call: (dp, x) => dp.dirtyFramesSince(x), message: /checkpoint/ },
];

describe("misuse of the DataPlane facade throws a clear error and changes nothing", () => {
  let dp: DataPlane;
  let base: number;
  let baseDigest: number;
  beforeAll(async () => {
    dp = await DataPlane.create({ maxFrames: 2048 });
    dp.createDomain(DOM0, { pages: 8, grantFrames: 1 });
    dp.createDomain(D1, { pages: 16, grantFrames: 1 });
    dp.createImage(IMG, 1 << 20);
    dp.writeImage(IMG, 0, new Uint8Array(4096).fill(3));
    dp.setImageDevice(LOOP, { image: IMG, sectors: 2048 });
    dp.setTableDevice(DM, [linear({ length: 2048 })]);
    FRONT = dp.frontendInit(D1, [0]);
    dp.grantAccess(D1, RING_REF, DOM0, 0);
    dp.grantAccess(D1, DATA_REF, DOM0, 1);
    const c = dp.backendConnect(DOM0, D1, backendOptions());
    if (!c.ok) throw new Error("connect failed");
    BACK = c.ring;
    const m = dp.mapGrant(DOM0, D1, DATA_REF);
    if (!m.ok) throw new Error("map failed");
    H = m.handle;
    expect([FRONT, BACK, H]).toEqual([0, 0, 1]);
    base = dp.checkpoint();
    baseDigest = dp.digest();
  });

  for (const c of CASES) {
    it(`${c.name}: a bad value throws CoreUsageError naming the problem and leaves the arena unchanged`, () => {
      fc.assert(
        fc.property(c.values, (x) => {
          dp.restore(base);
          let thrown: unknown = null;
          let returned: unknown;
          try {
            returned = c.call(dp, x);
          } catch (e) {
            thrown = e;
          }
          expect(thrown, `returned ${JSON.stringify(returned, (_, v) => (typeof v === "bigint" ? `${v}n` : v))} instead of throwing`).toBeInstanceOf(CoreUsageError);
          expect((thrown as Error).message).toMatch(c.message);
          expect(dp.digest(), "the arena changed").toBe(baseDigest);
        }),
        { numRuns: 60 },
      );
    });
  }

  it("restore(id) and release(id): a bad or closed checkpoint id throws CoreUsageError and neither rolls back nor closes anything", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("restore", "release") as fc.Arbitrary<"restore">, fc.oneof(NON_INTEGER, NEGATIVE, wrapsTo(1, 2), fc.constantFrom(0, 3, 4095, 4096)), async (op, x) => {
        const p = await DataPlane.create({ maxFrames: 64 });
        p.checkpoint();
        p.createDomain(1, { pages: 1, grantFrames: 1 });
        p.checkpoint();
        p.createImage(0, 4096);
        const digest = p.digest();
        expect(() => p[op](x)).toThrow(CoreUsageError);
        expect(() => p[op](x)).toThrow(/checkpoint/);
        expect([p.checkpointDepth, p.digest()]).toEqual([2, digest]);
      }),
      { numRuns: 40 },
    );
  });

  it("DataPlane.create({maxFrames}): a bad size throws CoreUsageError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(NON_INTEGER, NEGATIVE, int(0, 15), int(0xf0001, 2 ** 32 + 20)), async (x) => {
        await expect(DataPlane.create({ maxFrames: x })).rejects.toThrow(CoreUsageError);
        await expect(DataPlane.create({ maxFrames: x })).rejects.toThrow(/maxFrames/);
      }),
      { numRuns: 40 },
    );
  });
});

describe("running out of arena frames throws CoreOutOfMemoryError and changes nothing", () => {
  it("createDomain in a full arena throws CoreOutOfMemoryError and takes no frames", async () => {
    await fc.assert(
      fc.asyncProperty(int(1, 64), int(1, 2048), async (grantFrames, pages) => {
        const p = await DataPlane.create({ maxFrames: 64 });
        const frames = p.framesInUse;
        const digest = p.digest();
        try {
          p.createDomain(1, { pages, grantFrames });
        } catch (e) {
          expect(e).toBeInstanceOf(CoreOutOfMemoryError);
          expect([p.framesInUse, p.digest(), p.domainState(1)]).toEqual([frames, digest, "free"]);
        }
      }),
      { numRuns: 60, examples: [[10, 1]] },
    );
  });

  it("guestWrite and createImage in a full arena throw CoreOutOfMemoryError and change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(int(1, 8), async (gfn) => {
        const p = await DataPlane.create({ maxFrames: 64 });
        p.createDomain(1, { pages: 64, grantFrames: 1 });
        // Fill the arena with guest pages.
        let g = 10;
        try {
          for (; g < 64; g++) p.guestWrite(1, g, 0, new Uint8Array([1]));
        } catch (e) {
          expect(e).toBeInstanceOf(CoreOutOfMemoryError);
        }
        const digest = p.digest();
        expect(() => p.guestWrite(1, gfn, 0, new Uint8Array([9]))).toThrow(CoreOutOfMemoryError);
        expect(() => p.createImage(0, 4096)).toThrow(CoreOutOfMemoryError);
        expect(p.digest()).toBe(digest);
      }),
      { numRuns: 8 },
    );
  });

  it("writeImage past the end of a file that runs out of frames throws CoreOutOfMemoryError and leaves nothing past the end that growing the file would reveal", async () => {
    await fc.assert(
      fc.asyncProperty(int(0, 12), int(0, 64 << 10), int(0, 64 << 10), int(1, 40 << 10), async (free, size0, offset, length) => {
        const p = await DataPlane.create({ maxFrames: 64 });
        p.createImage(0, size0);
        p.createDomain(1, { pages: 64, grantFrames: 1 });
        for (let g = 0; p.framesInUse < p.framesLimit - free; g++) p.guestWrite(1, g, 0, new Uint8Array([1]));
        try {
          p.writeImage(0, offset, new Uint8Array(length).fill(0xee));
        } catch (e) {
          expect(e).toBeInstanceOf(CoreOutOfMemoryError);
        }
        const size = p.imageSize(0);
        p.resizeImage(0, 1 << 20);
        const tail = p.readImage(0, size, (1 << 20) - size);
        expect(tail.findIndex((b) => b !== 0), `bytes past the end (${size}) after growing the file`).toBe(-1);
      }),
      { numRuns: 60, examples: [[3, 0, 0, 4097]] },
    );
  });
});
