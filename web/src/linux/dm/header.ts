// struct dm_ioctl as the kernel sees it (the `param` every handler fills
// in), decoded from the API's DmIoctlArg and encoded back into a
// DmIoctlResult. A bad JavaScript value stands in for a bad user pointer
// (EFAULT in C); the model says EINVAL (docs/linux-model.md §9.1).
//
// Strings live in fixed arrays: name[128] and uuid[129]. The API's strings
// are cut to what fits the array; validate_params later forces the last
// byte to NUL, which is when an over-long name loses its 128th byte.

import type { DmIoctlResult } from "blocklab";
import { fail } from "../kernel";
import {
  DEFAULT_DATA_SIZE, DM_DATA_OFFSET, DM_FLAGS, DM_NAME_LEN, DM_RESULT_START, DM_UUID_LEN, dmFlagBit, dmFlagNames,
} from "./uapi";

export interface DevT {
  major: number;
  minor: number;
}

/** A target line as the API passes it (struct dm_target_spec plus its parameter string). */
export interface DmTargetSpec {
  sector_start: number;
  length: number;
  target_type: string;
  params: string;
  status?: string;
}

export interface DmNameEntry {
  name: string;
  dev: DevT;
  event_nr: number;
  uuid?: string;
}

/** What a command writes after the header, when data_size says it was copied back. */
export interface DmPayloadOut {
  names?: DmNameEntry[];
  deps?: DevT[];
  targets?: DmTargetSpec[];
  versions?: { name: string; version: [number, number, number] }[];
  message?: string;
}

/** The in-kernel copy of struct dm_ioctl, plus the input payload the handler reads. */
export interface DmParam {
  version: [number, number, number];
  data_size: number;
  data_start: number;
  target_count: number;
  open_count: number;
  /** u32 */
  flags: number;
  event_nr: number;
  /** The u32 at offset 36 (the RFC's file_descriptor; strict-v5's diskseq_low). */
  padding: number;
  dev: DevT;
  name: string;
  uuid: string;
  // ---- input payload (after the header, at data_start) ----
  targets: DmTargetSpec[];
  newName: string | undefined;
  message: string | undefined;
  sector: number;
  geometry: string | undefined;
  /** strict-v5: the diskseq the caller expects (0: any). */
  expectDiskseq: number;
  // ---- output ----
  out: DmPayloadOut;
  /** The fd made by DM_DEV_CREATE with DM_FILE_DESCRIPTOR_FLAG (`dm-fd`). */
  fd?: number;
  /** strict-v5: the device's diskseq in status replies. */
  diskseq?: number;
}

/** What a dm ioctl answers: the public DmIoctlResult (blocklab.d.ts), with the payloads as this model builds them. */
export type DmResult = DmIoctlResult & DmPayloadOut;

/** A handler's failure that still copies the header back (strict-v5's DM_EXISTS_FLAG). */
export class CopiedBack {
  constructor(readonly param: DmParam) {}
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A C string in a char[size] array: cut at the first NUL and at `size` bytes (no terminator if it fills the array). */
export function cString(v: unknown, size: number, what: string): string {
  if (v === undefined) return "";
  if (typeof v !== "string") fail("EINVAL", `${what} must be a string, got ${JSON.stringify(v)}`);
  const nul = v.indexOf("\0");
  const s = nul >= 0 ? v.slice(0, nul) : v;
  const bytes = utf8.encode(s);
  return bytes.length <= size ? s : fromUtf8.decode(bytes.subarray(0, size));
}

export function byteLength(s: string): number {
  return utf8.encode(s).length;
}

/** Cuts a string to `bytes` bytes (validate_params' forced NUL). */
export function truncateBytes(s: string, bytes: number): string {
  const b = utf8.encode(s);
  return b.length <= bytes ? s : fromUtf8.decode(b.subarray(0, bytes));
}

function uint(v: unknown, what: string, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) fail("EINVAL", `${what} must be an integer in 0..${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** Flags in: a number (u32) or a list of names. */
export function dmFlagsIn(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return uint(v, "flags", 0xffff_ffff, 0);
  if (Array.isArray(v)) {
    let n = 0;
    for (const name of v) {
      const bit = dmFlagBit(name);
      if (bit === undefined) fail("EINVAL", `unknown dm flag ${JSON.stringify(name)} (known: ${Object.keys(DM_FLAGS).join(", ")})`);
      n |= bit;
    }
    return n >>> 0;
  }
  return fail("EINVAL", "flags must be a number or a list of DM_*_FLAG names");
}

function devIn(v: unknown): DevT {
  if (v === undefined || v === null) return { major: 0, minor: 0 };
  if (typeof v !== "object") fail("EINVAL", `dev must be { major, minor }, got ${JSON.stringify(v)}`);
  const o = v as { major?: unknown; minor?: unknown };
  return { major: uint(o.major, "dev.major", 4095, 0), minor: uint(o.minor, "dev.minor", (1 << 20) - 1, 0) };
}

function targetsIn(v: unknown): DmTargetSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail("EINVAL", "targets must be a list of { sector_start, length, target_type, params }");
  return v.map((t, i) => {
    if (typeof t !== "object" || t === null) fail("EINVAL", `targets[${i}] must be an object`);
    const o = t as Record<string, unknown>;
    const params = o.params ?? "";
    if (typeof params !== "string") fail("EINVAL", `targets[${i}].params must be a string`);
    return {
      sector_start: uint(o.sector_start, `targets[${i}].sector_start`, Number.MAX_SAFE_INTEGER, 0),
      length: uint(o.length, `targets[${i}].length`, Number.MAX_SAFE_INTEGER, 0),
      // target_type is char[16]: a longer name is cut, and then matches no target.
      target_type: cString(o.target_type, 16, `targets[${i}].target_type`),
      params,
    };
  });
}

function optString(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail("EINVAL", `${what} must be a string`);
  return v;
}

export function isDevZero(dev: DevT): boolean {
  return dev.major === 0 && dev.minor === 0;
}

/**
 * The caller's struct dm_ioctl. `defaults` are what a libdevmapper of the
 * caller's interface version sends for the fields the scenario leaves out.
 */
export function decodeParam(arg: unknown, defaults: { dataSize: number; dataStart: number } = { dataSize: DEFAULT_DATA_SIZE, dataStart: DM_RESULT_START }): DmParam {
  if (arg === undefined || arg === null) arg = {};
  if (typeof arg !== "object" || Array.isArray(arg)) fail("EINVAL", "a dm ioctl takes a struct dm_ioctl object");
  const a = arg as Record<string, unknown>;
  let version: [number, number, number] = [4, 0, 0];
  if (a.version !== undefined) {
    if (!Array.isArray(a.version) || a.version.length !== 3) fail("EINVAL", "version must be [major, minor, patchlevel]");
    version = a.version.map((x, i) => uint(x, `version[${i}]`, 0xffff_ffff, 0)) as [number, number, number];
  }
  return {
    version,
    data_size: uint(a.data_size, "data_size", 0xffff_ffff, defaults.dataSize),
    data_start: uint(a.data_start, "data_start", 0xffff_ffff, defaults.dataStart),
    target_count: uint(a.target_count, "target_count", 0xffff_ffff, Array.isArray(a.targets) ? a.targets.length : 0),
    open_count: uint(a.open_count, "open_count", 0xffff_ffff, 0),
    flags: dmFlagsIn(a.flags),
    event_nr: uint(a.event_nr, "event_nr", 0xffff_ffff, 0),
    padding: uint(a.padding, "padding", 0xffff_ffff, 0),
    dev: devIn(a.dev),
    name: cString(a.name, DM_NAME_LEN, "name"),
    uuid: cString(a.uuid, DM_UUID_LEN, "uuid"),
    targets: targetsIn(a.targets),
    newName: optString(a.new_name, "new_name"),
    message: optString(a.message, "message"),
    sector: uint(a.sector, "sector", Number.MAX_SAFE_INTEGER, 0),
    geometry: optString(a.geometry, "geometry"),
    expectDiskseq: uint(a.diskseq, "diskseq", Number.MAX_SAFE_INTEGER, 0),
    out: {},
  };
}

export function cloneParam(p: DmParam): DmParam {
  return { ...p, version: [...p.version], dev: { ...p.dev }, targets: p.targets.map((t) => ({ ...t })), out: { ...p.out } };
}

/** What the caller reads back: the header, and the payload when data_size covers it. */
export function encodeResult(p: DmParam): DmResult {
  const flags = p.flags >>> 0;
  const r: DmResult = {
    version: [...p.version],
    flags,
    flag_names: dmFlagNames(flags),
    dev: { ...p.dev },
    open_count: p.open_count,
    event_nr: p.event_nr,
    target_count: p.target_count,
    name: p.name,
    uuid: p.uuid,
    padding: p.padding,
    data_start: p.data_start,
    data_size: p.data_size,
  };
  if (p.data_size > DM_DATA_OFFSET) Object.assign(r, p.out);
  if (p.diskseq !== undefined) r.diskseq = p.diskseq;
  if (p.fd !== undefined) r.fd = p.fd;
  return r;
}
