// The kernel's sscanf as xenbus readers use it (xenbus-scanf.ts), value by
// value against lib/vsprintf.c's vsscanf: what each conversion makes of the
// strings a hostile guest writes.

import { describe, expect, it } from "vitest";
import { kstrtoul, vsscanf } from "../../web/src/xen/xenbus-scanf";

const U32 = 2n ** 32n;

describe("vsscanf", () => {
  it.each<[string, string, (bigint | string)[]]>([
    // %u: decimal digits only, no sign at all, trailing junk ignored, wraps to 32 bits.
    ["%u", "12", [12n]],
    ["%u", " \t\n12", [12n]],
    ["%u", "12abc", [12n]],
    ["%u", "1e300", [1n]],
    ["%u", "0x10", [0n]],
    ["%u", "-1", []],
    ["%u", "+1", []],
    ["%u", "", []],
    ["%u", "   ", []],
    ["%u", "abc", []],
    ["%u", "4294967295", [U32 - 1n]],
    ["%u", "4294967296", [0n]],
    ["%u", "4294967297", [1n]],
    ["%u", "18446744073709551616", [0n]], // 2^64 wraps to 0 in simple_strtoull, then to the u32
    ["%u", "99999999999999999999999", [BigInt.asUintN(32, BigInt.asUintN(64, 99999999999999999999999n))]],
    ["%u", "7\u00007", [7n]], // a C string ends at NUL
    ["%u", "\u00a012", []], // U+00A0 is two bytes in UTF-8 (c2 a0): c2 is no blank
    ["%u", "\u0661", []], // an Arabic-Indic digit is no digit
    // %d and %i: a '-' is taken, the value wraps to an int.
    ["%d", "-1", [-1n]],
    ["%d", "--1", []],
    ["%d", "- 1", []],
    ["%d", "2147483648", [-(2n ** 31n)]],
    ["%d", "4294967300", [4n]],
    ["%i", "0x10", [16n]],
    ["%i", "-0x10", [-16n]],
    ["%i", "010", [8n]],
    ["%i", "08", [0n]],
    ["%i", "0x", [0n]],
    ["%i", "65536", [65536n]],
    // %x: hex digits, an optional 0x, no sign.
    ["%x", "fd", [0xfdn]],
    ["%x", "0xfd", [0xfdn]],
    ["%x", "0xg", [0n]],
    ["%x", "-1", []],
    ["%x:%x", "7:0", [7n, 0n]],
    ["%x:%x", "7", [7n]],
    ["%x:%x", "7:", [7n]],
    ["%x:%x", "7 :0", [7n]],
    ["%x:%x", "7: 0", [7n, 0n]],
    ["%x:%x", "100000000:1", [0n, 1n]],
    // 64-bit conversions keep 64 bits.
    ["%llu", "18446744073709551615", [2n ** 64n - 1n]],
    ["%llu", "18446744073709551616", [0n]],
    ["%Lu", "4294967296", [U32]],
    ["%lu", "4294967296", [U32]],
    // %Ns: a word of at most N bytes after blanks.
    ["%63s", " x86_64-abi junk", ["x86_64-abi"]],
    ["%63s", " ", [""]],
    ["%63s", "", []],
    ["%3s", "abcdef", ["abc"]],
  ])("%s of %j", (format, value, items) => {
    expect(vsscanf(value, format)).toEqual(items);
  });

  it("refuses a directive the model does not implement: a bug of the caller, not data", () => {
    expect(() => vsscanf("1", "%c")).toThrow(/not modelled/);
  });
});

describe("kstrtoul(s, 0)", () => {
  it.each<[string, bigint | undefined]>([
    ["51712", 51712n],
    ["+1", 1n],
    ["0x10", 16n],
    ["010", 8n],
    ["12\n", 12n],
    ["12 ", undefined],
    ["-1", undefined],
    ["", undefined],
    ["18446744073709551616", undefined],
  ])("%j", (value, out) => {
    expect(kstrtoul(value)).toEqual(out);
  });
});
