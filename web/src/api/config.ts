// Kernel configurations: the base kernels, the patch switches of the series
// "Allow race-free block device handling", their two sub-settings and the
// presets (docs/patch-series.md). A scenario names its own
// configuration; the CLI and the UI may override it; resolveConfig merges the
// two into every switch's value, which is what a run reports and a shared
// link carries.

import { formatValue } from "../sim/format-value";
import type { Config, DiskseqFormat, DmFlagPolicy, KernelId, PatchId, PatchSelection, PresetId, ResolvedPatches } from "./types";

/** A configuration that cannot be resolved. `source` says whose it was: the scenario's, or the caller's overrides. */
export class ConfigError extends Error {
  constructor(message: string, readonly source: "scenario" | "overrides") {
    super(message);
    this.name = "ConfigError";
  }
}

export interface KernelInfo {
  title: string;
  /** What differs from the others. */
  explains: string;
}

export const KERNELS: Record<KernelId, KernelInfo> = {
  "linux-6.1": {
    title: "Linux 6.1.0 to 6.1.51, the kernel of the RFC's time",
    explains: "loop attach and detach keep the device's diskseq; LOOP_CLR_FD as sole opener detaches at once, with other openers it sets autoclear; dm accepts the names control, . and ..",
  },
  "linux-6.1.192": {
    title: "Linux 6.1.192, Debian 12's LTS kernel",
    explains: "with \"block: increment diskseq on all media change events\" (backported in 6.1.52): loop attach, change-fd and detach each take the next diskseq",
  },
  "linux-6.12": {
    title: "Linux 6.12 LTS, Debian 13's kernel",
    explains: "as 6.1.192, and dm refuses the names control, . and .. (EINVAL); LOOP_CLR_FD is always lazy (the detach happens at the last close); dm interface 4.48.0",
  },
};

export const DEFAULT_KERNEL: KernelId = "linux-6.1";
export const KERNEL_IDS = Object.keys(KERNELS) as KernelId[];

export type SettingId = "dmFlagPolicy" | "diskseqFormat";

export interface PatchInfo {
  /** The patch it stands for, as the series numbers and titles it. */
  patch: string;
  /** One line: what turns on with it. */
  explains: string;
  /** A switch that must be on too. */
  requires?: PatchId;
  /** The sub-setting that belongs to this switch. */
  setting?: SettingId;
}

export const PATCHES: Record<PatchId, PatchInfo> = {
  "bdev-file": {
    patch: "1/7 block: Support creating a struct file from a block device",
    explains: "the kernel can hand userspace an fd for a device object it holds (what dm-fd builds on)",
  },
  "dm-fd": {
    patch: "2/7 Allow userspace to get an FD to a newly-created DM device",
    explains: "DM_DEV_CREATE with DM_FILE_DESCRIPTOR_FLAG (1<<20) returns an fd; with DM_DEFERRED_REMOVE the device dies with its last opener",
    requires: "bdev-file",
    setting: "dmFlagPolicy",
  },
  "blkback-diskseq": {
    patch: "3/7 Implement diskseq checks in blkback",
    explains: "blkback compares the opened disk's diskseq with the one userspace wrote; on a mismatch: ENODEV, an error node, Closing, nothing exported",
    setting: "diskseqFormat",
  },
  "loop-release-diskseq": {
    patch: "4/7 Increment diskseq when releasing a loop device",
    explains: "detaching a loop device (LOOP_CLR_FD, autoclear) bumps its diskseq, so an old (dev_t, diskseq) pair stops matching",
  },
  "loop-autoclear-delete": {
    patch: "5/7 If autoclear is set, delete a no-longer-used loop device",
    explains: "at the last close of an autoclear loop device the device is unbound and deleted, so its dev_t then gives ENXIO",
  },
  "blkback-cleanups": {
    patch: "6/7 Minor blkback cleanups",
    explains: "no change in behaviour (segment bounds are validated before use)",
  },
  "blkback-opened": {
    patch: "7/7 xen/blkback: Inform userspace that device has been opened",
    explains: "blkback writes opened = \"0\" at probe and \"1\" once it holds the checked device, so the hotplug script knows when to let go",
  },
  "rfc-dm-refcount-bug": {
    patch: "teaching switch: a reading of the RFC's patch 2",
    explains: "the create-with-fd path counts the open twice, so the device never removes itself (the cover letter says the refcounting may be wrong)",
    requires: "dm-fd",
  },
};

export const PATCH_IDS = Object.keys(PATCHES) as PatchId[];

export interface SettingInfo<V extends string> {
  of: PatchId;
  values: Record<V, string>;
  default: V;
}

export const SETTINGS: { dmFlagPolicy: SettingInfo<DmFlagPolicy>; diskseqFormat: SettingInfo<DiskseqFormat> } = {
  dmFlagPolicy: {
    of: "dm-fd",
    values: {
      ignore: "v4 behaviour: unknown flag bits are ignored",
      reject: "the RFC: flag bits above 20 give EINVAL",
      "strict-v5": "the v2 answer to the review: callers opt in by passing major version 5",
    },
    default: "ignore",
  },
  diskseqFormat: {
    of: "blkback-diskseq",
    values: {
      node: "a separate diskseq node beside physical-device (v2, Qubes)",
      inline: "the RFC's seq@major:minor in physical-device",
    },
    default: "node",
  },
};

export const SETTING_IDS = Object.keys(SETTINGS) as SettingId[];

function all(on: boolean): { [id in PatchId]: boolean } {
  return Object.fromEntries(PATCH_IDS.map((id) => [id, on])) as { [id in PatchId]: boolean };
}

export interface PresetInfo {
  explains: string;
  patches: ResolvedPatches;
}

export const PRESETS: Record<PresetId, PresetInfo> = {
  none: {
    explains: "every switch off: the base kernel as it is",
    patches: { ...all(false), dmFlagPolicy: "ignore", diskseqFormat: "node" },
  },
  "rfc-v1": {
    explains: "the RFC as posted: all seven patches, unknown dm flags rejected, diskseq inline",
    patches: { ...all(true), "rfc-dm-refcount-bug": false, dmFlagPolicy: "reject", diskseqFormat: "inline" },
  },
  v2: {
    explains: "the later shape: patches 3, 4 and 7, dm-fd off, strict-v5 dm flags, a diskseq node",
    patches: {
      ...all(false),
      "blkback-diskseq": true,
      "loop-release-diskseq": true,
      "blkback-opened": true,
      dmFlagPolicy: "strict-v5",
      diskseqFormat: "node",
    },
  },
};

export const PRESET_IDS = Object.keys(PRESETS) as PresetId[];

// ---- resolving ----

/** What a caller (the CLI's flags, the UI's switches) puts on top of a scenario's configuration. */
export interface ConfigOverrides {
  kernel?: string;
  /** Replaces the scenario's selection. */
  patches?: PatchSelection;
  /** Single switches or settings, applied last, in order: `["dm-fd", "reject"]`, `["loop-autoclear-delete", "on"]`. */
  patch?: [string, string | boolean][];
}

/** A setting as the scenario or the caller wrote it, for messages: it may be any value at all. */
const quote = (s: unknown) => formatValue(s);

/** The closest known name, when one is close enough to be a typo. */
function suggest(word: string, known: readonly string[]): string {
  let best = "";
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) { best = k; bestD = d; }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 4)) ? `; did you mean "${best}"?` : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function unknown(what: string, word: unknown, known: readonly string[], hint = true): string {
  return `unknown ${what} ${quote(word)} (known: ${known.join(", ")})${hint && typeof word === "string" ? suggest(word, known) : ""}`;
}

export function isKernelId(k: unknown): k is KernelId {
  return typeof k === "string" && Object.hasOwn(KERNELS, k);
}
export function isPatchId(k: unknown): k is PatchId {
  return typeof k === "string" && Object.hasOwn(PATCHES, k);
}
export function isPresetId(k: unknown): k is PresetId {
  return typeof k === "string" && Object.hasOwn(PRESETS, k);
}
function isSettingId(k: unknown): k is SettingId {
  return typeof k === "string" && Object.hasOwn(SETTINGS, k);
}

function checkKernel(k: unknown): KernelId {
  // No "did you mean": kernel versions a digit apart are different kernels, not typos.
  if (!isKernelId(k)) throw new Error(unknown("kernel", k, KERNEL_IDS, false));
  return k;
}

function settingValue(setting: SettingId, v: unknown): string {
  const values = Object.keys(SETTINGS[setting].values);
  if (typeof v !== "string" || !values.includes(v)) throw new Error(`${setting}: ${quote(v)} is not one of ${values.join(", ")}`);
  return v;
}

/** Sets one switch or setting on `into`; `v` is on/off/true/false or a sub-setting value. */
function applyOne(into: ResolvedPatches, id: string, v: unknown): void {
  if (isSettingId(id)) {
    (into as Record<string, unknown>)[id] = settingValue(id, v);
    return;
  }
  if (!isPatchId(id)) throw new Error(unknown("patch id", id, [...PATCH_IDS, ...SETTING_IDS]));
  if (v === true || v === "on") into[id] = true;
  else if (v === false || v === "off") into[id] = false;
  else {
    const setting = PATCHES[id].setting;
    const values = setting ? Object.keys(SETTINGS[setting].values) : [];
    if (setting && typeof v === "string" && values.includes(v)) {
      into[id] = true;
      (into as Record<string, unknown>)[setting] = v;
    } else {
      throw new Error(`patch ${quote(id)}: ${quote(v)} is not a value (use on, off${values.length ? `, or a ${setting}: ${values.join(", ")}` : ""})`);
    }
  }
}

/** Every switch's value for a selection, on top of the presets' "none". */
export function resolvePatches(sel: unknown): ResolvedPatches {
  if (sel === undefined) return { ...PRESETS.none.patches };
  if (typeof sel === "string") {
    if (!isPresetId(sel)) throw new Error(unknown("patch preset", sel, PRESET_IDS));
    return { ...PRESETS[sel].patches };
  }
  if (Array.isArray(sel)) {
    const out = { ...PRESETS.none.patches };
    for (const id of sel) {
      if (!isPatchId(id)) throw new Error(unknown("patch id", id, PATCH_IDS));
      out[id] = true;
    }
    return out;
  }
  if (typeof sel === "object" && sel !== null) {
    const map = sel as Record<string, unknown>;
    let out = { ...PRESETS.none.patches };
    if (map.preset !== undefined) {
      if (!isPresetId(map.preset)) throw new Error(unknown("patch preset", map.preset, PRESET_IDS));
      out = { ...PRESETS[map.preset].patches };
    }
    // Switches first, then explicit settings, so `dmFlagPolicy: "x"` wins over `"dm-fd": "y"`.
    for (const [id, v] of Object.entries(map)) if (id !== "preset" && !isSettingId(id)) applyOne(out, id, v);
    for (const [id, v] of Object.entries(map)) if (isSettingId(id)) applyOne(out, id, v);
    return out;
  }
  throw new Error(`patches must be a preset (${PRESET_IDS.join(", ")}), a list of patch ids, or a map of id to on/off/setting; got ${quote(sel)}`);
}

/** Switches whose required switch is off. */
function checkRequires(p: ResolvedPatches): void {
  for (const id of PATCH_IDS) {
    const req = PATCHES[id].requires;
    if (req && p[id] && !p[req]) {
      throw new Error(`patch "${id}" (${PATCHES[id].patch.split(" ")[0]}) needs "${req}" (${PATCHES[req].patch.split(" ")[0]}) on too: ${PATCHES[req].explains}`);
    }
  }
}

function wrap<T>(source: ConfigError["source"], f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError((e as Error).message, source);
  }
}

/**
 * The configuration a run uses: the scenario's kernel and patches (checked
 * even when overridden), then the caller's overrides, which win. Throws a
 * ConfigError naming whose setting was wrong.
 */
export function resolveConfig(scenarioKernel: unknown, scenarioPatches: unknown, overrides: ConfigOverrides = {}): Config {
  const kernel0 = wrap("scenario", () => (scenarioKernel === undefined ? DEFAULT_KERNEL : checkKernel(scenarioKernel)));
  const patches0 = wrap("scenario", () => {
    const p = resolvePatches(scenarioPatches);
    checkRequires(p);
    return p;
  });
  return wrap("overrides", () => {
    const kernel = overrides.kernel === undefined ? kernel0 : checkKernel(overrides.kernel);
    const patches = overrides.patches === undefined ? { ...patches0 } : resolvePatches(overrides.patches);
    for (const [id, v] of overrides.patch ?? []) applyOne(patches, id, v);
    checkRequires(patches);
    // A fixed key order: equal configurations print and encode alike.
    const ordered = Object.fromEntries([...PATCH_IDS, ...SETTING_IDS].map((k) => [k, patches[k]])) as ResolvedPatches;
    return { kernel, patches: ordered };
  });
}

/**
 * Checks overrides on their own (known kernel, ids and values), so that a
 * caller can report its own mistakes before loading any scenario. Whether a
 * switch's requirement is met is only known once merged with the scenario.
 */
export function checkOverrides(overrides: ConfigOverrides): void {
  wrap("overrides", () => {
    if (overrides.kernel !== undefined) checkKernel(overrides.kernel);
    const scratch = overrides.patches === undefined ? { ...PRESETS.none.patches } : resolvePatches(overrides.patches);
    for (const [id, v] of overrides.patch ?? []) applyOne(scratch, id, v);
  });
}

/** The text of a `--patches` flag: a preset, or patch ids separated by commas. */
export function patchSelectionFromText(text: string): PatchSelection {
  if (isPresetId(text)) return text;
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const id of ids) if (!isPatchId(id)) throw new ConfigError(unknown("patch id or preset", id, [...PRESET_IDS, ...PATCH_IDS]), "overrides");
  return ids as PatchId[];
}

/** A short description of a configuration: `linux-6.1, patches none` or `linux-6.1, patches v2 + loop-autoclear-delete`. */
export function describeConfig(c: Config): string {
  const same = (a: ResolvedPatches, b: ResolvedPatches) => [...PATCH_IDS, ...SETTING_IDS].every((k) => a[k] === b[k]);
  for (const id of PRESET_IDS) if (same(c.patches, PRESETS[id].patches)) return `${c.kernel}, patches ${id}`;
  const on = PATCH_IDS.filter((id) => c.patches[id]).map((id) => {
    const s = PATCHES[id].setting;
    return s && c.patches[s] !== SETTINGS[s].default ? `${id}=${c.patches[s]}` : id;
  });
  for (const s of SETTING_IDS) {
    if (!c.patches[SETTINGS[s].of] && c.patches[s] !== SETTINGS[s].default) on.push(`${s}=${c.patches[s]}`);
  }
  return `${c.kernel}, patches ${on.length ? on.join(", ") : "none"}`;
}
