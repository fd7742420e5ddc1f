// How a Linux xenbus driver reads a number or a word out of a xenstore
// value another domain wrote: the kernel's sscanf (lib/vsprintf.c vsscanf
// with lib/kstrtox.c's _parse_integer), and the xenbus readers built on it
// (drivers/xen/xenbus/xenbus_xs.c xenbus_scanf, xenbus_gather,
// xenbus_read_unsigned). What a guest, a driver domain or a script writes
// reaches blkback and blkfront only through these, so a value the data
// plane cannot hold never gets past them: it is what Linux makes of it.
//
// vsscanf, as read [V] (docs/xen-model.md, "Values another domain writes"):
// - the value ends at its first NUL byte (xenbus_read hands a C string);
//   bytes, not characters: a value is read as its UTF-8;
// - a blank in the format matches any run of blanks (isspace: \t\n\v\f\r,
//   space and 0xa0), other format bytes must match exactly, else the scan
//   stops;
// - before any conversion an empty rest stops the scan;
// - integers: leading blanks skipped; a '-' only for %d and %i (is_sign),
//   never for %u or %x, and no '+' at all; the first digit must suit the
//   base (%x: a hex digit, %u %d: a decimal one, %i: a decimal one, then
//   "0x" + hex digit means base 16 and a leading "0" base 8); %x skips a
//   "0x" prefix; digits are taken while they suit the base, the rest is
//   left (trailing junk is ignored); the value wraps modulo 2^64
//   (_parse_integer flags the overflow but simple_strntoull ignores the
//   flag) and is then stored in the conversion's C type, truncated
//   (%u %x: unsigned int, %d %i: int, %l*: 64-bit long, %ll* and %L*:
//   long long);
// - %Ns: leading blanks skipped, then up to N bytes up to the next blank.
// The result is the number of conversions made.
//
// Not modelled: the conversions no xenbus reader of the model uses (%c,
// %[, %n, %*, %o, widths on integers, h and z qualifiers).

import { ERRNO } from "../linux/errno";
import type { XsConn } from "./xs-conn";

/** A converted item: an integer (in its C type's range) or a word. */
export type Scanned = bigint | string;

/** lib/ctype.c: isspace is true for \t \n \v \f \r, space and Latin-1's no-break space. */
function isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0xa0;
}
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isXdigit = (c: number): boolean => isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
/** _parse_integer's digit value of a byte (16 or more: not a digit of any base it takes). */
const digitOf = (c: number): number => (isDigit(c) ? c - 0x30 : isXdigit(c) ? (c | 0x20) - 0x61 + 10 : 16);

const U64 = (1n << 64n) - 1n;

/** The value as the C string a driver reads: its UTF-8, up to the first NUL. */
function cString(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/** _parse_integer_fixup_radix: base 0 picks 16, 8 or 10 from the prefix; base 16 skips "0x". */
function fixupRadix(s: Uint8Array, at: number, base: number): { at: number; base: number } {
  const x = (i: number) => ((s[i] ?? 0) | 0x20) === 0x78;
  if (base === 0) {
    if (s[at] === 0x30) base = x(at + 1) && isXdigit(s[at + 2] ?? 0) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && s[at] === 0x30 && x(at + 1)) at += 2;
  return { at, base };
}

/** simple_strntoull without a width: the digits that suit the base, the value modulo 2^64, where the digits end. */
function strtoull(s: Uint8Array, at: number, base0: number): { value: bigint; next: number } {
  const { at: start, base } = fixupRadix(s, at, base0);
  let value = 0n;
  let i = start;
  for (; i < s.length; i++) {
    const digit = digitOf(s[i]!);
    if (digit >= base) break;
    value = (value * BigInt(base) + BigInt(digit)) & U64;
  }
  return { value, next: i };
}

/**
 * vsscanf(value, format): the items converted, in order (their count is
 * what sscanf returns). `format` is a driver's constant, never data: a
 * directive outside the supported set is a bug of the model.
 */
export function vsscanf(value: string, format: string): Scanned[] {
  const s = cString(value);
  const out: Scanned[] = [];
  let p = 0;
  let f = 0;
  const fc = (i: number) => format.charCodeAt(i);
  while (f < format.length) {
    if (isSpace(fc(f))) {
      while (f < format.length && isSpace(fc(f))) f++;
      while (p < s.length && isSpace(s[p]!)) p++;
    }
    if (f < format.length && format[f] !== "%") {
      if (fc(f++) !== (s[p++] ?? 0)) break;
      continue;
    }
    if (f >= format.length) break;
    f++;
    let width = -1;
    const w = /^\d+/.exec(format.slice(f));
    if (w) {
      width = Number(w[0]);
      f += w[0].length;
    }
    let qualifier = "";
    const q = /^(ll|l|L)/.exec(format.slice(f));
    if (q) {
      qualifier = q[0] === "l" ? "l" : "L";
      f += q[0].length;
    }
    if (p >= s.length) break; // if (!*str) break;
    const conv = format[f++];
    if (conv === "s") {
      let n = width < 0 ? 0x7fff : width;
      while (p < s.length && isSpace(s[p]!)) p++;
      const from = p;
      while (p < s.length && !isSpace(s[p]!) && n-- > 0) p++;
      out.push(new TextDecoder().decode(s.subarray(from, p)));
      continue;
    }
    if (width >= 0) throw new Error(`vsscanf: a width on %${conv} is not modelled`);
    const base = conv === "x" || conv === "X" ? 16 : conv === "i" ? 0 : conv === "d" || conv === "u" ? 10 : -1;
    if (base < 0) throw new Error(`vsscanf: %${conv ?? ""} is not modelled`);
    const isSign = conv === "d" || conv === "i";
    while (p < s.length && isSpace(s[p]!)) p++;
    let digit = s[p] ?? 0;
    if (isSign && digit === 0x2d) digit = s[p + 1] ?? 0;
    if (digit === 0 || (base === 16 ? !isXdigit(digit) : !isDigit(digit))) break;
    const negative = isSign && s[p] === 0x2d;
    const r = strtoull(s, negative ? p + 1 : p, base);
    const raw = negative ? (-r.value) & U64 : r.value;
    const bits = qualifier === "" ? 32 : 64;
    out.push(isSign ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw));
    p = r.next;
  }
  return out;
}

/** What a xenbus read answers: the items (at least one), or a negative errno as the kernel returns it. */
export type XenbusScan = { ok: true; items: Scanned[] } | { ok: false; err: number };

/**
 * xenbus_scanf: the node's value through vsscanf; a missing (or, for the
 * model's kernel connection, unreadable) node is -ENOENT, no conversion at
 * all -ERANGE ("Distinctive errno").
 */
export function xenbusScanf(xs: XsConn, dir: string, node: string, format: string): XenbusScan {
  const v = xs.read(`${dir}/${node}`);
  if (v === undefined) return { ok: false, err: -ERRNO.ENOENT };
  const items = vsscanf(v, format);
  return items.length === 0 ? { ok: false, err: -ERRNO.ERANGE } : { ok: true, items };
}

/** XENBUS_EXIST_ERR: the errors that mean "not written (yet)". */
export function xenbusExistErr(err: number): boolean {
  return err === -ERRNO.ENOENT || err === -ERRNO.ERANGE;
}

/**
 * xenbus_gather: each node in turn, stopping at the first error: a missing
 * node is -ENOENT, one that converts nothing -EINVAL; a node without a
 * format is taken as it is.
 */
export function xenbusGather(xs: XsConn, dir: string, fields: readonly [node: string, format: string | null][]): { ok: true; values: Scanned[] } | { ok: false; err: number } {
  const values: Scanned[] = [];
  for (const [node, format] of fields) {
    const v = xs.read(`${dir}/${node}`);
    if (v === undefined) return { ok: false, err: -ERRNO.ENOENT };
    if (format === null) {
      values.push(v);
      continue;
    }
    const items = vsscanf(v, format);
    if (items.length === 0) return { ok: false, err: -ERRNO.EINVAL };
    values.push(items[0]!);
  }
  return { ok: true, values };
}

/** xenbus_read_unsigned: "%u", or the default when that fails. */
export function xenbusReadUnsigned(xs: XsConn, dir: string, node: string, fallback: number): number {
  const r = xenbusScanf(xs, dir, node, "%u");
  return r.ok ? Number(r.items[0]) : fallback;
}

/**
 * kstrtoul(s, 0): the whole string as one unsigned number (an optional
 * '+', the base from the prefix, one trailing newline), or undefined
 * (-EINVAL, or -ERANGE past 64 bits) (lib/kstrtox.c).
 */
export function kstrtoul(value: string): bigint | undefined {
  const s = cString(value);
  let at = s[0] === 0x2b ? 1 : 0;
  const { at: start, base } = fixupRadix(s, at, 0);
  let v = 0n;
  for (at = start; at < s.length; at++) {
    const digit = digitOf(s[at]!);
    if (digit >= base) break;
    v = v * BigInt(base) + BigInt(digit);
  }
  if (at === start || v > U64) return undefined;
  if (s[at] === 0x0a) at++;
  return at === s.length ? v : undefined;
}
