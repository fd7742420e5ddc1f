import { beforeEach, describe, expect, it } from "vitest";
import { DataPlane } from "../../web/src/core";

const S = 512;
const stamp = (sector: number, n: number) => {
  // Every sector carries its own number, so a misplaced sector is visible.
  const out = new Uint8Array(n * S);
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) v.setUint32(i * S, sector + i, true);
  return out;
};
const sectorsOf = (b: Uint8Array) => Array.from({ length: b.length / S }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(i * S, true));

/** dm-stripe's stripe_map_sector, as a reference. */
function stripeMap(o: number, chunk: number, stripes: number) {
  const c = Math.floor(o / chunk);
  return { stripe: c % stripes, sector: Math.floor(c / stripes) * chunk + (o % chunk) };
}

describe("block mapping", () => {
  let dp: DataPlane;
  beforeEach(async () => {
    dp = await DataPlane.create({ maxFrames: 8192 });
    for (let i = 0; i < 4; i++) {
      dp.createImage(i, 4 << 20);
      dp.setImageDevice(i, { image: i, sectors: (4 << 20) / S });
      dp.writeImage(i, 0, stamp(i * 100_000, (4 << 20) / S));
    }
  });

  it("loop: lo_offset shifts every sector and the size limit ends the device", () => {
    dp.setImageDevice(10, { image: 1, offset: 3 * S, sectors: 100 });
    expect(sectorsOf(dp.readDevice(10, 0, 4)!)).toEqual([100_003, 100_004, 100_005, 100_006]);
    expect(dp.readDevice(10, 98, 2)).not.toBeNull();
    expect(dp.readDevice(10, 99, 2)).toBeNull(); // crosses the end
    expect(dp.writeDevice(10, 100, new Uint8Array(S))).toBe(false);
  });

  it("loop: a byte offset that is not sector aligned is honoured", () => {
    dp.setImageDevice(11, { image: 0, offset: 100, sectors: 8 });
    const raw = dp.readImage(0, 100, 2 * S);
    expect(dp.readDevice(11, 0, 2)).toEqual(raw);
  });

  it("dm-linear over loop: a request crossing targets is split at the boundary", () => {
    dp.setTableDevice(20, [
      { start: 0, length: 10, type: "linear", device: 0, offset: 1000 },
      { start: 10, length: 10, type: "linear", device: 1, offset: 50 },
      { start: 20, length: 5, type: "zero" },
      { start: 25, length: 5, type: "error" },
    ]);
    expect(dp.deviceSectors(20)).toBe(30);
    expect(sectorsOf(dp.readDevice(20, 8, 4)!)).toEqual([1008, 1009, 100_050, 100_051]);
    expect(sectorsOf(dp.readDevice(20, 19, 2)!)).toEqual([100_059, 0]);
    expect(dp.readDevice(20, 24, 2)).toBeNull(); // into the error target
    expect(dp.writeDevice(20, 20, new Uint8Array(5 * S).fill(1))).toBe(true); // zero target swallows writes
    expect(dp.readDevice(20, 20, 5)!.every((b) => b === 0)).toBe(true);
    dp.writeDevice(20, 9, stamp(7, 2));
    expect(sectorsOf(dp.readImage(0, 1009 * S, S))).toEqual([7]);
    expect(sectorsOf(dp.readImage(1, 50 * S, S))).toEqual([8]);
  });

  it("dm-striped follows dm-stripe's formula across chunk and stripe boundaries", () => {
    const chunk = 8, stripes = 3;
    const legs = [0, 1, 2].map((d) => ({ device: d, offset: 16 }));
    dp.setTableDevice(30, [{ start: 0, length: 3 * 64, type: "striped", chunkSectors: chunk, legs }]);
    const got = sectorsOf(dp.readDevice(30, 0, 3 * 64)!);
    const want = Array.from({ length: 3 * 64 }, (_, o) => {
      const m = stripeMap(o, chunk, stripes);
      return m.stripe * 100_000 + 16 + m.sector;
    });
    expect(got).toEqual(want);
    // A non-power-of-two chunk and an odd start inside the table.
    dp.setTableDevice(31, [
      { start: 0, length: 7, type: "zero" },
      { start: 7, length: 60, type: "striped", chunkSectors: 5, legs: [{ device: 3, offset: 0 }, { device: 1, offset: 2 }] },
    ]);
    const got2 = sectorsOf(dp.readDevice(31, 9, 20)!);
    const want2 = Array.from({ length: 20 }, (_, i) => {
      const m = stripeMap(2 + i, 5, 2);
      return m.stripe === 0 ? 300_000 + m.sector : 100_000 + 2 + m.sector;
    });
    expect(got2).toEqual(want2);
  });

  it("stacks: dm over dm over loop over a file, with offsets at every level", () => {
    dp.setImageDevice(40, { image: 2, offset: 4 * S, sectors: 1000 });
    dp.setTableDevice(41, [{ start: 0, length: 500, type: "linear", device: 40, offset: 10 }]);
    dp.setTableDevice(42, [{ start: 0, length: 100, type: "linear", device: 41, offset: 200 }]);
    expect(sectorsOf(dp.readDevice(42, 5, 1)!)).toEqual([200_000 + 4 + 10 + 200 + 5]);
  });

  it("refuses malformed tables, cycles and read-only writes", () => {
    expect(() => dp.setTableDevice(50, [{ start: 1, length: 4, type: "zero" }])).toThrow(/contiguous from sector 0/);
    expect(() => dp.setTableDevice(50, [{ start: 0, length: 0, type: "zero" }])).toThrow(/length 0/);
    expect(() => dp.setTableDevice(50, [{ start: 0, length: 8, type: "linear", device: 999, offset: 0 }])).toThrow(/device id/);
    dp.setTableDevice(51, [{ start: 0, length: 8, type: "linear", device: 51, offset: 0 }]); // maps onto itself
    expect(dp.readDevice(51, 0, 1)).toBeNull();
    dp.setTableDevice(52, [{ start: 0, length: 8, type: "linear", device: 0, offset: 0 }], { readOnly: true });
    expect(dp.writeDevice(52, 0, new Uint8Array(S))).toBe(false);
    dp.setImageDevice(53, { image: 0, sectors: 8, readOnly: true });
    dp.setTableDevice(54, [{ start: 0, length: 8, type: "linear", device: 53, offset: 0 }]);
    expect(dp.writeDevice(54, 0, new Uint8Array(S))).toBe(false); // read-only below
    expect(dp.readDevice(99, 0, 1)).toBeNull(); // no such device
  });

  it("discard through the stack punches holes in the image", () => {
    dp.setTableDevice(60, [{ start: 0, length: 64, type: "linear", device: 0, offset: 8 }]);
    const blocks = dp.imageBlocks(0);
    expect(dp.discardDevice(60, 0, 16)).toBe(true);
    expect(dp.imageBlocks(0)).toBe(blocks - 2); // image sectors 8..23 = blocks 1 and 2
    expect(dp.readImage(0, 8 * S, 16 * S).every((b) => b === 0)).toBe(true);
    expect(sectorsOf(dp.readImage(0, 24 * S, S))).toEqual([24]);
  });
});
