import { beforeAll, describe, expect, it } from "vitest";
import { DataPlane } from "../../web/src/core";

/** Bit-at-a-time CRC-32C, the definition the table-driven WASM version must agree with. */
function crc32cReference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("crc32c", () => {
  let dp: DataPlane;
  beforeAll(async () => { dp = await DataPlane.create({ maxFrames: 64 }); });

  it("matches the check value and the RFC 3720 (iSCSI) test vectors", () => {
    expect(dp.crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(dp.crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(dp.crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(dp.crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(dp.crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(dp.crc32c(new Uint8Array(0))).toBe(0);
  });

  it("agrees with the bitwise definition at every length and alignment, and chains", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff);
    for (let len = 0; len < 64; len++) {
      for (let start = 0; start < 9; start++) {
        const part = data.subarray(start, start + len);
        expect(dp.crc32c(part)).toBe(crc32cReference(part));
      }
    }
    expect(dp.crc32c(data.subarray(100), dp.crc32c(data.subarray(0, 100)))).toBe(crc32cReference(data));
  });
});
