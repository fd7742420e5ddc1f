import { describe, expect, it } from "vitest";
import {
  ConfigError,
  KERNEL_IDS,
  PATCHES,
  PATCH_IDS,
  PRESETS,
  checkOverrides,
  describeConfig,
  patchSelectionFromText,
  resolveConfig,
} from "../../web/src/api/config";

const on = (p: Record<string, unknown>) => PATCH_IDS.filter((id) => p[id] === true);

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("kernels, switches and presets", () => {
  it("knows the three base kernels and every switch of the series, each with its patch and an explanation", () => {
    expect(KERNEL_IDS).toEqual(["linux-6.1", "linux-6.1.192", "linux-6.12"]);
    expect(PATCH_IDS).toEqual([
      "bdev-file", "dm-fd", "blkback-diskseq", "loop-release-diskseq",
      "loop-autoclear-delete", "blkback-cleanups", "blkback-opened", "rfc-dm-refcount-bug",
    ]);
    for (const id of PATCH_IDS) {
      expect(PATCHES[id].patch.length).toBeGreaterThan(5);
      expect(PATCHES[id].explains.length).toBeGreaterThan(10);
    }
    expect(PATCHES["dm-fd"].patch).toMatch(/^2\/7/);
  });

  it("presets: none is all off; rfc-v1 all seven on (reject, inline); v2 is 3, 4, 7 (strict-v5, node)", () => {
    expect(on(PRESETS.none.patches)).toEqual([]);
    expect(PRESETS.none.patches).toMatchObject({ dmFlagPolicy: "ignore", diskseqFormat: "node" });
    expect(on(PRESETS["rfc-v1"].patches)).toEqual(PATCH_IDS.filter((id) => id !== "rfc-dm-refcount-bug"));
    expect(PRESETS["rfc-v1"].patches).toMatchObject({ dmFlagPolicy: "reject", diskseqFormat: "inline" });
    expect(on(PRESETS.v2.patches)).toEqual(["blkback-diskseq", "loop-release-diskseq", "blkback-opened"]);
    expect(PRESETS.v2.patches).toMatchObject({ "dm-fd": false, dmFlagPolicy: "strict-v5", diskseqFormat: "node" });
  });
});

describe("resolveConfig", () => {
  it("defaults to linux-6.1 with no patches, and lists every switch and setting in a fixed order", () => {
    const c = resolveConfig(undefined, undefined);
    expect(c.kernel).toBe("linux-6.1");
    expect(c.patches).toEqual(PRESETS.none.patches);
    expect(Object.keys(c.patches)).toEqual([...PATCH_IDS, "dmFlagPolicy", "diskseqFormat"]);
  });

  it("takes a preset, a list of ids, or a map on top of a preset", () => {
    expect(resolveConfig("linux-6.12", "v2")).toEqual({ kernel: "linux-6.12", patches: PRESETS.v2.patches });
    expect(on(resolveConfig(undefined, ["bdev-file", "dm-fd"]).patches)).toEqual(["bdev-file", "dm-fd"]);
    const m = resolveConfig(undefined, { preset: "v2", "loop-autoclear-delete": "on", "blkback-opened": false });
    expect(on(m.patches)).toEqual(["blkback-diskseq", "loop-release-diskseq", "loop-autoclear-delete"]);
    expect(m.patches.dmFlagPolicy).toBe("strict-v5");
  });

  it("a sub-setting value turns its switch on; an explicit setting wins", () => {
    const a = resolveConfig(undefined, { "bdev-file": true, "dm-fd": "reject", "blkback-diskseq": "inline" });
    expect(a.patches).toMatchObject({ "dm-fd": true, dmFlagPolicy: "reject", "blkback-diskseq": true, diskseqFormat: "inline" });
    const b = resolveConfig(undefined, { "bdev-file": true, "dm-fd": "reject", dmFlagPolicy: "strict-v5" });
    expect(b.patches.dmFlagPolicy).toBe("strict-v5");
  });

  it("overrides win: kernel, the whole selection, then single switches in order", () => {
    const c = resolveConfig("linux-6.1", "rfc-v1", {
      kernel: "linux-6.1.192",
      patches: "v2",
      patch: [["loop-autoclear-delete", "on"], ["blkback-opened", "off"], ["diskseqFormat", "inline"], ["loop-autoclear-delete", "off"]],
    });
    expect(c.kernel).toBe("linux-6.1.192");
    expect(on(c.patches)).toEqual(["blkback-diskseq", "loop-release-diskseq"]);
    expect(c.patches.diskseqFormat).toBe("inline");
    // Single switches alone keep the scenario's selection underneath.
    expect(on(resolveConfig(undefined, "v2", { patch: [["blkback-cleanups", true]] }).patches)).toContain("blkback-diskseq");
  });

  it("dm-fd needs bdev-file, whoever turned it on; the teaching switch needs dm-fd", () => {
    const s = configError(() => resolveConfig(undefined, ["dm-fd"]));
    expect(s.source).toBe("scenario");
    expect(s.message).toMatch(/"dm-fd" \(2\/7\) needs "bdev-file" \(1\/7\)/);
    const o = configError(() => resolveConfig(undefined, "none", { patch: [["dm-fd", "on"]] }));
    expect(o.source).toBe("overrides");
    expect(resolveConfig(undefined, "none", { patch: [["bdev-file", "on"], ["dm-fd", "on"]] }).patches["dm-fd"]).toBe(true);
    // Turning bdev-file off under rfc-v1 breaks dm-fd.
    expect(configError(() => resolveConfig(undefined, "rfc-v1", { patch: [["bdev-file", "off"]] })).message).toMatch(/needs "bdev-file"/);
    expect(configError(() => resolveConfig(undefined, ["rfc-dm-refcount-bug"])).message).toMatch(/needs "dm-fd"/);
    expect(resolveConfig(undefined, { preset: "rfc-v1", "rfc-dm-refcount-bug": "on" }).patches["rfc-dm-refcount-bug"]).toBe(true);
  });

  it("names unknown kernels, ids, presets and values clearly", () => {
    expect(configError(() => resolveConfig("linux-5.10", undefined)).message).toBe(
      'unknown kernel "linux-5.10" (known: linux-6.1, linux-6.1.192, linux-6.12)',
    );
    expect(configError(() => resolveConfig(undefined, ["dm-fdd"])).message).toMatch(/unknown patch id "dm-fdd" \(known: .*\); did you mean "dm-fd"\?/);
    expect(configError(() => resolveConfig(undefined, "rfc-v3")).message).toMatch(/unknown patch preset "rfc-v3"/);
    expect(configError(() => resolveConfig(undefined, { "blkback-opened": "maybe" })).message).toBe('patch "blkback-opened": "maybe" is not a value (use on, off)');
    expect(configError(() => resolveConfig(undefined, { "bdev-file": true, "dm-fd": "inline" })).message).toMatch(/use on, off, or a dmFlagPolicy: ignore, reject, strict-v5/);
    expect(configError(() => resolveConfig(undefined, { dmFlagPolicy: "lenient" })).message).toBe('dmFlagPolicy: "lenient" is not one of ignore, reject, strict-v5');
    expect(configError(() => resolveConfig(undefined, 42)).message).toMatch(/patches must be a preset/);
    const o = configError(() => resolveConfig(undefined, undefined, { kernel: "linux-7" }));
    expect(o.source).toBe("overrides");
  });

  it("checkOverrides catches unknown ids and values before any scenario is loaded", () => {
    expect(() => checkOverrides({ patch: [["dm-fd", "on"]] })).not.toThrow(); // needs bdev-file, but the scenario may have it
    expect(() => checkOverrides({ patch: [["nope", "on"]] })).toThrow(ConfigError);
    expect(() => checkOverrides({ kernel: "linux-6.13" })).toThrow(/unknown kernel/);
  });

  it("reads the --patches flag and describes configurations shortly", () => {
    expect(patchSelectionFromText("v2")).toBe("v2");
    expect(patchSelectionFromText("bdev-file, dm-fd")).toEqual(["bdev-file", "dm-fd"]);
    expect(() => patchSelectionFromText("v3")).toThrow(/unknown patch id or preset "v3"/);
    expect(describeConfig(resolveConfig(undefined, "rfc-v1"))).toBe("linux-6.1, patches rfc-v1");
    expect(describeConfig(resolveConfig("linux-6.12", { preset: "v2", "loop-autoclear-delete": true }))).toBe(
      "linux-6.12, patches blkback-diskseq, loop-release-diskseq, loop-autoclear-delete, blkback-opened, dmFlagPolicy=strict-v5",
    );
    expect(describeConfig(resolveConfig(undefined, { "bdev-file": true, "dm-fd": "reject" }))).toBe("linux-6.1, patches bdev-file, dm-fd=reject");
  });
});
