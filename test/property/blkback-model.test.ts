// Differential test: after every step of a hostile guest's action sequence,
// the core's state of d1's world must equal what Linux blkback over Xen's
// grant tables would leave (model.ts): every response byte, every byte of
// d1's pages (responses, self-modifying READs into the ring, req_event), every
// byte of d1's image, ring indices, notify/more/bogus, statistics, grant
// entries and pin counts. This is the strong form of "d1's image only changed
// in ways explained by WRITE requests whose grants were valid".

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { PAGE, equalBytes, firstDiff } from "./harness";
import { Model } from "./model";
import { D1, D1_PAGES, GRANT_ENTRIES, IMG1, IMG1_BYTES, World, actionsArb, applyGuestAction, configArb, type Action, type Config, type ReqSpec } from "./world";

const CFG0: Config = { abi: "x86_64-abi", order: 0, readOnly: false, discard: false, lbs: 512, start: 0 };
const rw = (op: number, gref: number, first: number, last: number, sector = 0n): ReqSpec => ({
  op, b1: 1, nseg16: 0, handle: 0, id: 0x1234n, sector, nr: 0n, noise: [], igrefs: [],
  segs: Array.from({ length: 11 }, () => ({ gref, first, last })),
});

/** Pinned examples, always run first. */
const EXAMPLES: [Config, Action[]][] = [
  // The first counterexample fast-check shrank to (seed 493302947), against the code before GTF_writing was
  // kept on a read-only unmap: the indirect page's grant with GTF_reading|GTF_writing forged, mapped read-only.
  [CFG0, [
    { k: "grant", ref: 16, flags: 25, domid: 0, frame: 0 },
    { k: "publish", req: { op: 6, b1: 0, nseg16: 1, handle: 0, id: 0n, sector: 18446744073709551552n, nr: 0n, noise: [],
      segs: Array.from({ length: 11 }, () => ({ gref: 10, first: 0, last: 0 })), igrefs: [16, 16, 10, 10, 16, 16, 16, 16] } },
  ]],
  // The guest sets GTF_readonly on its ring page's grant, which blkback maps writable, then READs into that page:
  // Xen does not re-check an entry that already has a writable pin, so the READ is OKAY.
  [CFG0, [{ k: "grant", ref: 8, flags: 1 | 4 | 8 | 16, domid: 0, frame: 0 }, { k: "publish", req: rw(0, 8, 7, 7) }]],
  // A first map that fails because the grant's frame is outside d1's memory: Xen clears GTF_reading (unlock_out_clear).
  [CFG0, [{ k: "grant", ref: 10, flags: 1 | 8, domid: 0, frame: 100 }, { k: "publish", req: rw(1, 10, 0, 7) }]],
];
function compare(w: World, m: Model, step: number, full: boolean): void {
  const { dp } = w;
  const at = `after step ${step}`;
  const idx = dp.backendIndices(w.r1);
  expect({ req_cons: idx.req_cons, rsp_prod_pvt: idx.rsp_prod_pvt, state: idx.state }, `${at}: backend indices`)
    .toEqual({ req_cons: m.reqCons, rsp_prod_pvt: m.rspProdPvt, state: m.state });
  expect(dp.backendStats(w.r1), `${at}: backend statistics`).toEqual(m.stats);
  for (let g = 0; g < D1_PAGES; g++) {
    const got = dp.guestRead(D1, g, 0, PAGE);
    if (!equalBytes(got, m.mem[g])) {
      const o = firstDiff(got, m.mem[g]);
      expect.fail(`${at}: d1 gfn ${g} differs first at byte ${o}: core ${got[o]}, model ${m.mem[g][o]}`);
    }
  }
  expect(dp.imageSize(IMG1), `${at}: image 1's size`).toBe(m.imgSize);
  const img = dp.readImage(IMG1, 0, m.imgSize);
  const want = m.img.subarray(0, m.imgSize);
  if (!equalBytes(img, want)) {
    const o = firstDiff(img, want);
    expect.fail(`${at}: image 1 differs first at byte ${o}: core ${img[o]}, model ${want[o]}`);
  }
  const refs = full ? GRANT_ENTRIES : 32;
  for (let r = 0; r < refs; r++) {
    const me = m.gt[r];
    const pins = dp.grantPins(D1, r);
    if (pins !== m.act[r].pin) expect.fail(`${at}: pins of d1 grant ref ${r}: core ${pins}, model ${m.act[r].pin}`);
    // readGrantEntry packs the entry into an f64 and is exact only for frames < 2^21
    // (grant-entries.test.ts shows the bug); larger frames are compared through their effects.
    if (me.frame >= 2 ** 21) continue;
    const e = dp.readGrantEntry(D1, r);
    if (e.flags !== me.flags || e.domid !== me.domid || e.frame !== me.frame) {
      expect([e.flags, e.domid, e.frame], `${at}: d1 grant ref ${r} [flags, domid, frame]`).toEqual([me.flags, me.domid, me.frame]);
    }
  }
}

function runDifferential(w: World, cfg: Config, actions: Action[]): void {
  w.reset(cfg);
  const m = new Model(cfg);
  compare(w, m, 0, true);
  actions.forEach((a, i) => {
    const step = i + 1;
    if (a.k === "process") {
      const got = w.dp.backendProcess(w.r1, a.budget);
      const want = m.process(a.budget);
      expect(got, `step ${step}: backendProcess(${a.budget})`).toEqual(want);
      compare(w, m, step, false);
    } else {
      const got = applyGuestAction(w, a);
      const want = m.guest(a);
      expect(got, `step ${step}: ${a.k}`).toEqual(want);
    }
  });
  const got = w.dp.backendProcess(w.r1);
  expect(got, "final drain").toEqual(m.process(1 << 20));
  compare(w, m, actions.length + 1, true);
}

/** Configs for the differential runs: a third of them with image 1 truncated under its loop device. */
const diffConfigArb: fc.Arbitrary<Config> = fc.tuple(configArb, fc.option(fc.integer({ min: 0, max: IMG1_BYTES }), { freq: 2 }))
  .map(([c, size]) => (size === null ? c : { ...c, img1Size: size }));

describe("blkback and the grant table, step by step against a model of Linux blkback over Xen", () => {
  let w: World;
  beforeAll(async () => {
    w = await World.create();
  });

  it("match the model for a hostile guest that rewrites slots, indices, pages and grant entries at any moment, but leaves alone the bits Xen owns (GTF_reading/GTF_writing) and its ring grants", () => {
    fc.assert(
      fc.property(diffConfigArb, actionsArb({ forgeXenBits: false, touchRingGrants: false }), (cfg, actions) => runDifferential(w, cfg, actions)),
      { numRuns: 2500 },
    );
  }, 120_000); // 2,500 runs take ~5 s alone; a shared machine may take several times that

  it("match the model (Xen's grant bookkeeping) also when the guest forges GTF_reading/GTF_writing and rewrites the grant entries of its mapped ring pages", () => {
    fc.assert(
      fc.property(diffConfigArb, actionsArb({ forgeXenBits: true, touchRingGrants: true }), (cfg, actions) => runDifferential(w, cfg, actions)),
      { numRuns: 400, examples: EXAMPLES },
    );
  });
});
