// The world the hostile-frontend properties run in, and the hostile guest's
// actions as fast-check arbitraries.
//
//   dom0 (backend, 8 pages with secrets)
//   d1  hostile guest, 24 pages: its ring on gfn 0 (and gfn 7 for a 2-page
//       ring), data pages 1..6 granted to dom0 by refs 10..15 (14, 15
//       read-only), an indirect descriptor page on gfn 8 (ref 16, read-only).
//       Its vbd: dm-1 = two dm-linear targets over loop-1 (lo_offset 5732,
//       not even sector-aligned) over image 1. Loop sectors 0..9, 110..149
//       and 270..299 are outside the dm table.
//   d2  victim guest: a healthy ring served by blkback over loop-4 over
//       image 2; its pages, data grants to dom0, ring and image hold secrets.
//   image 3: a secret file attached to nothing.
//
// A per-run config picks the d1 ring's ABI, size and start index (near the
// 2^32 wrap too) and the vbd's flags and logical block size.

import fc from "fast-check";
import { DataPlane } from "../../web/src/core/data-plane";
import type { BlkifAbi } from "../../web/src/core/abi";
import { GuestRing, PAGE, SECTOR, SPEC, U64, pattern, u32 } from "./harness";

export const DOM0 = 0, D1 = 1, D2 = 2;
export const DOM0_PAGES = 8, D1_PAGES = 24, D2_PAGES = 16;
export const RING_GFNS: Record<0 | 1, number[]> = { 0: [0], 1: [0, 7] };
export const RING_REFS = [8, 9];
export const DATA = [
  { ref: 10, gfn: 1, ro: false }, { ref: 11, gfn: 2, ro: false }, { ref: 12, gfn: 3, ro: false },
  { ref: 13, gfn: 4, ro: false }, { ref: 14, gfn: 5, ro: true }, { ref: 15, gfn: 6, ro: true },
];
export const INDIRECT = { ref: 16, gfn: 8 };
export const GRANT_ENTRIES = 512; // one grant frame
export const IMG1 = 1, IMG2 = 2, IMG3 = 3;
export const LOOP1 = 2, DM1 = 3, LOOP2 = 4;
export const LO = 5732;
export const LOOP1_SECTORS = 300;
export const TARGETS = [
  { start: 0, length: 120, offset: 150 },
  { start: 120, length: 100, offset: 10 },
];
export const VBD_SECTORS = 220;
export const IMG1_BYTES = LO + LOOP1_SECTORS * SECTOR;
export const IMG2_BYTES = 64 << 10, IMG3_BYTES = 32 << 10;
export const D2_RING_REF = 8;
export const D2_DATA = [9, 10, 11, 12].map((ref, i) => ({ ref, gfn: i + 1 }));

/** Device sector of d1's vbd -> byte offset in image 1 (dm-linear over loop with lo_offset). */
export function vbdSectorToImage(s: number): number {
  const t = s < TARGETS[0].length ? TARGETS[0] : TARGETS[1];
  return LO + (t.offset + (s - t.start)) * SECTOR;
}

export interface Config {
  abi: BlkifAbi;
  order: 0 | 1;
  readOnly: boolean;
  discard: boolean;
  lbs: 512 | 4096;
  start: number; // initial req_prod = rsp_prod
  /** Image 1 truncated to this many bytes under its loop device before connecting (reads past it see zeros, writes grow it). */
  img1Size?: number;
}

export const configArb: fc.Arbitrary<Config> = fc.record({
  abi: fc.constantFrom<BlkifAbi>("x86_64-abi", "x86_32-abi"),
  order: fc.constantFrom<0 | 1>(0, 1),
  readOnly: fc.constantFrom(false, false, true),
  discard: fc.boolean(),
  lbs: fc.constantFrom<512 | 4096>(512, 512, 4096),
  start: fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 0xffff_ffc0, max: 0xffff_ffff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  ),
});

export const initialPage = (dom: number, gfn: number): Uint8Array => pattern(PAGE, 1000 * dom + gfn + 1);
export const initialImage = (img: number, bytes: number): Uint8Array => pattern(bytes, 77_000 + img);

/** The indirect page starts with 512 well-formed descriptors over the writable data grants. */
export function initialIndirectPage(): Uint8Array {
  const b = new Uint8Array(PAGE);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 512; i++) {
    v.setUint32(i * 8, DATA[i % 4].ref, true);
    v.setUint8(i * 8 + 4, 0);
    v.setUint8(i * 8 + 5, 7);
  }
  return b;
}

export class World {
  ring!: GuestRing;
  r1 = -1;
  r2 = -1;
  d2front = -1;
  cfg!: Config;
  private base = 0;
  private constructor(readonly dp: DataPlane) {}

  static async create(): Promise<World> {
    const dp = await DataPlane.create({ maxFrames: 4096 });
    dp.createDomain(DOM0, { pages: DOM0_PAGES, grantFrames: 1 });
    dp.createDomain(D1, { pages: D1_PAGES, grantFrames: 1 });
    dp.createDomain(D2, { pages: D2_PAGES, grantFrames: 1 });
    for (let g = 0; g < DOM0_PAGES; g++) dp.guestWrite(DOM0, g, 0, initialPage(DOM0, g));
    for (let g = 0; g < D1_PAGES; g++) dp.guestWrite(D1, g, 0, initialPage(D1, g));
    for (let g = 0; g < D2_PAGES; g++) dp.guestWrite(D2, g, 0, initialPage(D2, g));
    dp.guestWrite(D1, INDIRECT.gfn, 0, initialIndirectPage());

    dp.createImage(IMG1, IMG1_BYTES);
    dp.writeImage(IMG1, 0, initialImage(IMG1, IMG1_BYTES));
    dp.createImage(IMG2, IMG2_BYTES);
    dp.writeImage(IMG2, 0, initialImage(IMG2, IMG2_BYTES));
    dp.createImage(IMG3, IMG3_BYTES);
    dp.writeImage(IMG3, 0, initialImage(IMG3, IMG3_BYTES));
    dp.setImageDevice(LOOP1, { image: IMG1, offset: LO, sectors: LOOP1_SECTORS });
    dp.setTableDevice(DM1, TARGETS.map((t) => ({ start: t.start, length: t.length, type: "linear" as const, device: LOOP1, offset: t.offset })));
    dp.setImageDevice(LOOP2, { image: IMG2, sectors: IMG2_BYTES / SECTOR });

    // d1's grants to dom0.
    dp.grantAccess(D1, RING_REFS[0], DOM0, RING_GFNS[1][0]);
    dp.grantAccess(D1, RING_REFS[1], DOM0, RING_GFNS[1][1]);
    for (const d of DATA) dp.grantAccess(D1, d.ref, DOM0, d.gfn, { readonly: d.ro });
    dp.grantAccess(D1, INDIRECT.ref, DOM0, INDIRECT.gfn, { readonly: true });

    // d2: a healthy frontend and its backend.
    const w = new World(dp);
    w.d2front = dp.frontendInit(D2, [0]);
    dp.grantAccess(D2, D2_RING_REF, DOM0, 0);
    for (const d of D2_DATA) dp.grantAccess(D2, d.ref, DOM0, d.gfn);
    const c2 = dp.backendConnect(DOM0, D2, { grefs: [D2_RING_REF], device: LOOP2, sectors: IMG2_BYTES / SECTOR });
    if (!c2.ok) throw new Error(`d2 connect failed: ${JSON.stringify(c2)}`);
    w.r2 = c2.ring;
    w.base = dp.checkpoint();
    return w;
  }

  /** Rolls the arena back to the base world and connects d1's ring per `cfg`. */
  reset(cfg: Config): void {
    this.dp.restore(this.base);
    this.cfg = cfg;
    if (cfg.img1Size !== undefined) this.dp.resizeImage(IMG1, cfg.img1Size);
    this.ring = new GuestRing(this.dp, D1, RING_GFNS[cfg.order], cfg.abi);
    this.ring.init(cfg.start);
    const c = this.dp.backendConnect(DOM0, D1, {
      grefs: RING_REFS.slice(0, 1 << cfg.order), abi: cfg.abi, device: DM1, sectors: VBD_SECTORS,
      readOnly: cfg.readOnly, discard: cfg.discard, logicalBlockSize: cfg.lbs,
    });
    if (!c.ok) throw new Error(`d1 connect failed: ${JSON.stringify(c)}`);
    this.r1 = c.ring;
  }
}

// ---------------------------------------------------------------------------
// The hostile guest's actions.

export interface Seg { gref: number; first: number; last: number }

export interface ReqSpec {
  raw?: Uint8Array; // random bytes for the whole slot
  op: number;
  b1: number; // nr_segments (rw), flag (discard) or indirect_op
  nseg16: number; // indirect nr_segments
  handle: number;
  id: bigint;
  sector: bigint;
  nr: bigint;
  segs: Seg[];
  igrefs: number[];
  noise: [number, number][];
}

export type Action =
  | { k: "slot"; base: "prod" | "cons"; rel: number; req: ReqSpec }
  | { k: "publish"; req: ReqSpec }
  | { k: "index"; field: 0 | 1 | 2 | 3; rel: number | null; abs: number }
  | { k: "bump"; n: number }
  | { k: "grant"; ref: number; flags: number; domid: number; frame: number }
  | { k: "end"; ref: number }
  | { k: "regrant"; ref: number; gfn: number; ro: boolean }
  | { k: "page"; gfn: number; off: number; bytes: Uint8Array }
  | { k: "indirect"; at: number; segs: Seg[] }
  | { k: "process"; budget: number };

/** Encodes a request spec into one slot's bytes for `abi`, from the spec's offsets. */
export function encodeSpec(r: ReqSpec, abi: BlkifAbi): Uint8Array {
  const L = SPEC[abi];
  const out = new Uint8Array(L.entry);
  if (r.raw) {
    out.set(r.raw.subarray(0, L.entry));
    return out;
  }
  const v = new DataView(out.buffer);
  v.setUint8(0, r.op);
  v.setBigUint64(L.id, r.id, true);
  v.setBigUint64(L.sector, r.sector, true);
  if (r.op === 6) {
    v.setUint8(1, r.b1);
    v.setUint16(2, r.nseg16, true);
    v.setUint16(L.indirectHandle, r.handle, true);
    r.igrefs.forEach((g, i) => v.setUint32(L.indirectGrefs + 4 * i, g, true));
  } else if (r.op === 5) {
    v.setUint8(1, r.b1);
    v.setBigUint64(L.discardNr, r.nr, true);
  } else {
    v.setUint8(1, r.b1);
    v.setUint16(2, r.handle, true);
    r.segs.forEach((s, i) => {
      v.setUint32(L.seg + 8 * i, s.gref, true);
      v.setUint8(L.seg + 8 * i + 4, s.first);
      v.setUint8(L.seg + 8 * i + 5, s.last);
    });
  }
  for (const [at, b] of r.noise) out[at % L.entry] = b;
  return out;
}

const int = (min: number, max: number) => fc.integer({ min, max });
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export interface ActionOptions {
  /** Let the guest write GTF_reading / GTF_writing (bits Xen owns) into its grant entries. */
  forgeXenBits: boolean;
  /** Let the guest rewrite the grant entries of its ring pages while blkback maps them. */
  touchRingGrants: boolean;
  maxActions?: number;
}

export function grefArb(): fc.Arbitrary<number> {
  return fc.oneof(
    w(10, fc.constantFrom(...DATA.filter((d) => !d.ro).map((d) => d.ref))),
    w(2, fc.constantFrom(...DATA.filter((d) => d.ro).map((d) => d.ref))),
    w(1, fc.constantFrom(...RING_REFS)),
    w(1, fc.constant(INDIRECT.ref)),
    w(1, int(17, 24)), // never granted, unless the guest does it
    w(1, fc.constantFrom(0, 511, 512, 513, 0xffff, 0xffff_ffff)),
    w(1, fc.integer({ min: 0, max: 0xffff_ffff })),
  );
}

export function segArb(gref: fc.Arbitrary<number> = grefArb()): fc.Arbitrary<Seg> {
  return fc.oneof(
    w(10, fc.record({ gref, first: int(0, 7), len: int(0, 7) }).map(({ gref, first, len }) => ({ gref, first, last: Math.min(7, first + len) }))),
    w(5, fc.record({ gref, first: fc.constant(0), last: fc.constant(7) })),
    w(1, fc.record({ gref, first: int(0, 255), last: int(0, 255) })),
  );
}

function sectorArb(): fc.Arbitrary<bigint> {
  return fc.oneof(
    w(5, int(0, VBD_SECTORS + 8).map(BigInt)),
    w(4, int(0, Math.floor(VBD_SECTORS / 8) + 1).map((k) => BigInt(k * 8))),
    w(1, fc.constantFrom(VBD_SECTORS - 8, VBD_SECTORS - 1, VBD_SECTORS, 119, 120, 112).map(BigInt)),
    w(1, fc.bigInt({ min: U64 - 64n, max: U64 - 1n })),
    w(1, fc.bigInt({ min: 0n, max: U64 - 1n })),
  );
}

export function reqSpecArb(): fc.Arbitrary<ReqSpec> {
  const structured = fc.record({
    op: fc.oneof(w(4, fc.constant(0)), w(4, fc.constant(1)), w(2, fc.constant(6)), w(1, fc.constant(5)), w(1, fc.constantFrom(2, 3)), w(1, int(4, 255))),
    nsegRw: fc.oneof(w(8, int(1, 3)), w(2, int(4, 11)), w(1, fc.constantFrom(0, 12, 255))),
    iop: fc.oneof(w(4, fc.constantFrom(0, 1)), w(1, int(0, 255))),
    flag: int(0, 255),
    nseg16: fc.oneof(w(6, int(1, 8)), w(1, int(9, 256)), w(1, fc.constantFrom(0, 256, 257, 512, 0xffff))),
    handle: int(0, 0xffff),
    id: fc.bigInt({ min: 0n, max: U64 - 1n }),
    sector: sectorArb(),
    nr: fc.oneof(w(4, int(0, VBD_SECTORS).map(BigInt)), w(1, fc.bigInt({ min: U64 - 64n, max: U64 - 1n })), w(1, fc.bigInt({ min: 0n, max: U64 - 1n }))),
    segs: fc.oneof(
      w(2, fc.array(segArb(), { minLength: 11, maxLength: 11 })),
      w(3, grefArb().chain((g) => fc.array(segArb(fc.constant(g)), { minLength: 11, maxLength: 11 }))),
    ),
    igrefs: fc.array(fc.oneof(w(6, fc.constant(INDIRECT.ref)), w(1, grefArb())), { minLength: 8, maxLength: 8 }),
    noise: fc.oneof(w(4, fc.constant([] as [number, number][])), w(1, fc.array(fc.tuple(int(0, 111), int(0, 255)), { minLength: 1, maxLength: 2 }))),
  }).map((r): ReqSpec => ({
    op: r.op,
    b1: r.op === 6 ? r.iop : r.op === 5 ? r.flag : r.nsegRw,
    nseg16: r.nseg16, handle: r.handle, id: r.id, sector: r.sector, nr: r.nr, segs: r.segs, igrefs: r.igrefs, noise: r.noise,
  }));
  const raw = fc.uint8Array({ minLength: 112, maxLength: 112 }).map((raw): ReqSpec => ({
    raw, op: raw[0], b1: 0, nseg16: 0, handle: 0, id: 0n, sector: 0n, nr: 0n, segs: [], igrefs: [], noise: [],
  }));
  return fc.oneof(w(6, structured), w(1, raw));
}

export function flagsArb(forge: boolean): fc.Arbitrary<number> {
  const typeBits = fc.record({
    type: fc.oneof(w(6, fc.constant(1)), w(1, fc.constantFrom(0, 2, 3))),
    ro: fc.boolean(),
    sub: fc.oneof(w(5, fc.constant(false)), w(1, fc.constant(true))),
    cache: fc.constantFrom(0, 0x20, 0x40, 0x80),
    xen: forge ? fc.constantFrom(0, 8, 16, 24) : fc.constant(0),
  }).map(({ type, ro, sub, cache, xen }) => type | (ro ? 4 : 0) | (sub ? 256 : 0) | cache | xen);
  return forge
    ? fc.oneof(w(5, typeBits), w(1, int(0, 0xffff)))
    : fc.oneof(w(5, typeBits), w(1, int(0, 0xffff).map((f) => f & ~0x18)));
}

export function actionArb(o: ActionOptions): fc.Arbitrary<Action> {
  const grantRefs = o.touchRingGrants ? fc.oneof(w(6, int(10, 24)), w(1, fc.constantFrom(...RING_REFS)), w(1, int(0, 511))) : fc.oneof(w(6, int(10, 24)), w(1, int(25, 511)));
  const gfnArb = fc.oneof(w(6, int(0, D1_PAGES - 1)), w(1, fc.constantFrom(D1_PAGES, D1_PAGES + 1, 0xffff, 0xffff_ffff)), w(1, fc.integer({ min: 0, max: 0xffff_ffff })));
  return fc.oneof(
    w(8, fc.record({ k: fc.constant("publish" as const), req: reqSpecArb() })),
    w(4, fc.record({
      k: fc.constant("slot" as const),
      base: fc.constantFrom<"prod" | "cons">("prod", "cons"),
      rel: fc.oneof(w(6, int(-2, 2)), w(1, int(-70, 70))),
      req: reqSpecArb(),
    })),
    w(5, fc.record({ k: fc.constant("process" as const), budget: fc.oneof(w(6, int(1, 3)), w(1, fc.constant(1000))) })),
    w(2, fc.record({ k: fc.constant("bump" as const), n: fc.oneof(w(8, int(1, 3)), w(1, int(0, 70))) })),
    w(1, fc.record({
      k: fc.constant("index" as const),
      field: fc.constantFrom<0 | 1 | 2 | 3>(0, 0, 1, 2, 3),
      rel: fc.option(int(-4, 70), { freq: 3 }),
      abs: fc.oneof(fc.integer({ min: 0xffff_fff0, max: 0xffff_ffff }), int(0, 16), fc.integer({ min: 0, max: 0xffff_ffff })),
    })),
    w(2, fc.record({ k: fc.constant("grant" as const), ref: grantRefs, flags: flagsArb(o.forgeXenBits), domid: fc.oneof(w(6, fc.constant(0)), w(1, fc.constantFrom(1, 2, 0x7ff0)), w(1, int(0, 0xffff))), frame: gfnArb })),
    w(1, fc.record({ k: fc.constant("end" as const), ref: grantRefs })),
    w(1, fc.record({ k: fc.constant("regrant" as const), ref: grantRefs, gfn: gfnArb, ro: fc.boolean() })),
    w(1, fc.record({ k: fc.constant("page" as const), gfn: int(1, D1_PAGES - 1).filter((g) => g !== 7), off: int(0, PAGE - 64), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) })),
    w(1, fc.record({ k: fc.constant("indirect" as const), at: int(0, 255), segs: fc.array(segArb(), { minLength: 1, maxLength: 4 }) })),
  );
}

export function actionsArb(o: ActionOptions): fc.Arbitrary<Action[]> {
  return fc.array(actionArb(o), { minLength: 1, maxLength: o.maxActions ?? 40, size: "medium" });
}

/** The guest's CPU and grant-table writes for one action (everything but "process"). */
export function applyGuestAction(w: World, a: Exclude<Action, { k: "process" }>, reqCons = w.dp.backendIndices(w.r1).req_cons): { endResult?: boolean } {
  const { dp, ring } = w;
  switch (a.k) {
    case "slot":
      ring.writeSlot(u32((a.base === "cons" ? reqCons : ring.readU32(0)) + a.rel), encodeSpec(a.req, w.cfg.abi));
      return {};
    case "publish": {
      const prod = ring.readU32(0);
      ring.writeSlot(prod, encodeSpec(a.req, w.cfg.abi));
      ring.writeU32(0, u32(prod + 1));
      return {};
    }
    case "index":
      ring.writeU32(a.field * 4, a.rel === null ? a.abs : u32(reqCons + a.rel));
      return {};
    case "bump":
      ring.writeU32(0, u32(ring.readU32(0) + a.n));
      return {};
    case "grant":
      dp.writeGrantEntry(D1, a.ref, { flags: a.flags, domid: a.domid, frame: u32(a.frame) });
      return {};
    case "end":
      return { endResult: dp.endForeignAccess(D1, a.ref) };
    case "regrant":
      dp.grantAccess(D1, a.ref, DOM0, u32(a.gfn), { readonly: a.ro });
      return {};
    case "page":
      if (RING_GFNS[w.cfg.order].includes(a.gfn)) return {};
      dp.guestWrite(D1, a.gfn, a.off, a.bytes);
      return {};
    case "indirect": {
      const b = new Uint8Array(8 * a.segs.length);
      const v = new DataView(b.buffer);
      a.segs.forEach((s, i) => {
        v.setUint32(8 * i, u32(s.gref), true);
        v.setUint8(8 * i + 4, s.first);
        v.setUint8(8 * i + 5, s.last);
      });
      const at = Math.min(a.at, 512 - a.segs.length) * 8;
      dp.guestWrite(D1, INDIRECT.gfn, at, b);
      return {};
    }
  }
}
