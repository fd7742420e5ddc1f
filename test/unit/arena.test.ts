import { describe, expect, it } from "vitest";
import { DataPlane } from "../../web/src/core";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe("arena checkpoints", () => {
  it("restore gives a byte-identical arena, however much was written, allocated or freed since", async () => {
    const dp = await DataPlane.create({ maxFrames: 4096 });
    dp.createDomain(0);
    dp.createImage(0, 1 << 20);
    dp.writeImage(0, 0, bytes(100_000, 1));
    const before = dp.digest();
    const inUse = dp.framesInUse;
    const cp = dp.checkpoint();
    dp.writeImage(0, 50_000, bytes(300_000, 2)); // overwrites and grows the file
    dp.createImage(1, 8 << 20);
    dp.writeImage(1, 4 << 20, bytes(10_000, 3));
    dp.discardImage(0, 0, 65536); // frees blocks
    dp.createDomain(5, { pages: 16 });
    dp.guestWrite(5, 3, 100, bytes(50, 4));
    expect(dp.digest()).not.toBe(before);
    dp.restore(cp);
    expect(dp.digest()).toBe(before);
    expect(dp.framesInUse).toBe(inUse);
    expect(dp.readImage(0, 0, 100_000)).toEqual(bytes(100_000, 1));
    expect(dp.imageSize(0)).toBe(1 << 20);
    expect(() => dp.imageSize(1)).toThrow(/image 1 does not exist/);
    expect(dp.domainState(5)).toBe("free");
  });

  it("restore copies back only the frames written since the checkpoint", async () => {
    const dp = await DataPlane.create({ maxFrames: 70_000 });
    dp.createImage(0, 256 << 20);
    dp.writeImage(0, 0, new Uint8Array(4 << 20).fill(7)); // 1024 data frames
    const cp = dp.checkpoint();
    expect(dp.dirtyFramesSince(cp)).toBe(0);
    for (let i = 0; i < 10; i++) dp.writeImage(0, i * 100 * 4096, bytes(16, i)); // 10 blocks, one frame each
    expect(dp.dirtyFramesSince(cp)).toBe(10);
    dp.writeImage(0, 0, bytes(16, 99)); // the same frame again: saved once per checkpoint
    expect(dp.dirtyFramesSince(cp)).toBe(10);
    dp.restore(cp);
    expect(dp.dirtyFramesSince(cp)).toBe(0);
    expect(dp.readImage(0, 0, 4 << 20).every((b) => b === 7)).toBe(true);
  });

  it("nested checkpoints restore to any level, and release keeps the current state", async () => {
    const dp = await DataPlane.create({ maxFrames: 1024 });
    dp.createImage(0, 65536);
    const read = () => dp.readImage(0, 0, 4)[0];
    dp.writeImage(0, 0, Uint8Array.of(1));
    const a = dp.checkpoint();
    dp.writeImage(0, 0, Uint8Array.of(2));
    const b = dp.checkpoint();
    dp.writeImage(0, 0, Uint8Array.of(3));
    const c = dp.checkpoint();
    dp.writeImage(0, 0, Uint8Array.of(4));
    dp.restore(c);
    expect(read()).toBe(3);
    dp.restore(b); // closes c
    expect(read()).toBe(2);
    expect(dp.checkpointDepth).toBe(2);
    expect(() => dp.restore(c)).toThrow(/no open checkpoint 3/);
    dp.writeImage(0, 0, Uint8Array.of(5));
    dp.release(b); // 5 stays; a is still open
    expect(read()).toBe(5);
    dp.writeImage(0, 0, Uint8Array.of(6));
    dp.restore(a);
    expect(read()).toBe(1);
    dp.release(a);
    expect(dp.checkpointDepth).toBe(0);
    dp.writeImage(0, 0, Uint8Array.of(7)); // no checkpoint: nothing is saved
    expect(read()).toBe(7);
  });

  it("replaying the same operations after a restore reaches the same state (re-execution from a snapshot)", async () => {
    const dp = await DataPlane.create({ maxFrames: 2048 });
    dp.createDomain(0);
    dp.createImage(0, 1 << 20);
    const cp = dp.checkpoint();
    const run = () => {
      dp.createDomain(3, { pages: 8 });
      dp.grantAccess(3, 9, 0, 2);
      const m = dp.mapGrant(0, 3, 9);
      if (!m.ok) throw new Error("map");
      dp.mappedWrite(0, m.handle, 0, bytes(4096, 5));
      dp.writeImage(0, 4096, dp.guestRead(3, 2, 0, 4096));
      return dp.digest();
    };
    const first = run();
    for (let i = 0; i < 5; i++) {
      dp.restore(cp);
      expect(run()).toBe(first);
    }
  });

  it("an 8 GiB image costs nothing until written", async () => {
    const dp = await DataPlane.create({ maxFrames: 1024 });
    const before = dp.framesInUse;
    dp.createImage(0, 8 * 2 ** 30);
    expect(dp.framesInUse - before).toBe(1); // the radix root
    dp.writeImage(0, 7 * 2 ** 30 + 123, Uint8Array.of(42));
    expect(dp.imageBlocks(0)).toBe(1);
    expect(dp.framesInUse - before).toBe(4); // root, two interior nodes, one data block
    expect(dp.readImage(0, 7 * 2 ** 30 + 120, 8)).toEqual(Uint8Array.of(0, 0, 0, 42, 0, 0, 0, 0));
    dp.discardImage(0, 7 * 2 ** 30, 4096);
    expect(dp.imageBlocks(0)).toBe(0);
    expect(dp.readImage(0, 7 * 2 ** 30 + 123, 1)).toEqual(Uint8Array.of(0));
  });

  it("running out of arena frames is an error, not a crash", async () => {
    const dp = await DataPlane.create({ maxFrames: 64 });
    dp.createImage(0, 1 << 20);
    expect(() => dp.writeImage(0, 0, new Uint8Array(1 << 20))).toThrow(/no arena frames left/);
    expect(dp.readImage(0, 0, 16)).toBeInstanceOf(Uint8Array);
  });
});
