import { describe, expect, it } from "vitest";
import { ScenarioError, parseSize, scenario } from "../../web/src/api/scenario";
import type { ScenarioDefinition } from "../../web/src/api/types";

const ok: ScenarioDefinition = {
  title: "ok",
  kernel: "linux-6.12",
  patches: { preset: "v2", "loop-autoclear-delete": "on" },
  domains: { work: {}, vault: {} },
  files: {
    "/var/lib/images/work.img": { size: "8M", owner: "work" },
    "/run/state": { content: "0" },
    "/etc/guest-only": { content: "x", domain: "work" },
  },
  actors: {
    toolstack: async () => {},
    guest: { domain: "work", run: async () => {}, mayCrash: true },
    udev: { run: async () => {}, daemon: true },
  },
  invariants: ["isolation", "progress", { name: "mine", atEnd: true, check: () => undefined }],
  sometimes: [{ name: "reached", check: () => true }],
};

/** The problems scenario() reports for a definition (which is malformed on purpose). */
function problems(def: unknown): string[] {
  try {
    scenario(def as ScenarioDefinition);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).problems;
  }
  throw new Error("expected a ScenarioError");
}

const base = { actors: { a: async () => {} } };

describe("scenario()", () => {
  it("returns a well-formed definition itself", () => {
    expect(scenario(ok)).toBe(ok);
    expect(scenario({ actors: { a: async () => {} } })).toBeTruthy();
  });

  it("rejects an unknown kernel or patch id, naming the known ones", () => {
    expect(problems({ ...base, kernel: "linux-6.2" })).toEqual(['unknown kernel "linux-6.2" (known: linux-6.1, linux-6.1.192, linux-6.12)']);
    expect(problems({ ...base, patches: ["blkback-open"] })[0]).toMatch(/^unknown patch id "blkback-open" \(known: .*\); did you mean "blkback-opened"\?$/);
    expect(problems({ ...base, patches: ["dm-fd"] })[0]).toMatch(/needs "bdev-file"/);
  });

  it("rejects bad sizes, paths and file shapes", () => {
    expect(problems({ ...base, files: { "/img": { size: "8MB" } } })).toEqual([
      'files["/img"]: bad size "8MB": use bytes or a number with K, M or G, e.g. "8M"',
    ]);
    expect(problems({ ...base, files: { "/img": { size: -1 } } })[0]).toMatch(/not a whole number of bytes/);
    expect(problems({ ...base, files: { "img": { content: "" } } })[0]).toMatch(/must be absolute/);
    expect(problems({ ...base, files: { "/x": { content: "a", size: 1 } } })[0]).toMatch(/either size \(a disk image\) or content/);
    expect(problems({ ...base, files: { "/x": {} } })[0]).toMatch(/either size/);
    expect(problems({ ...base, files: { "/x": { content: "a", owner: "dom0" } } })[0]).toMatch(/owner belongs to a disk image/);
  });

  it("rejects actors that are not functions", () => {
    expect(problems({ actors: { a: 42 } })).toEqual(["actors.a must be an async function (sys) => { ... } or { domain, run }"]);
    expect(problems({ actors: { a: { domain: "dom0" } } })).toEqual(["actors.a.run must be a function (sys) => { ... }"]);
    expect(problems({ actors: {} })).toEqual(["a scenario needs at least one actor"]);
    expect(problems({})).toEqual(["actors must be an object of name -> async (sys) => { ... }"]);
    expect(problems({ actors: { a: { run: async () => {}, mayCrush: true } } })[0]).toMatch(/actors.a: unknown field "mayCrush"/);
  });

  it("rejects unknown domains wherever a domain is named", () => {
    const p = problems({
      domains: { work: {} },
      files: { "/img": { size: 512, owner: "vault" }, "/t": { content: "", domain: "nowhere" } },
      actors: { a: { domain: "guest", run: async () => {} } },
    });
    expect(p).toEqual([
      'files["/img"].owner: unknown domain "vault" (known: dom0, work)',
      'files["/t"].domain: unknown domain "nowhere" (known: dom0, work)',
      'actors.a.domain: unknown domain "guest" (known: dom0, work)',
    ]);
    expect(problems({ ...base, domains: { dom0: {} } })[0]).toMatch(/dom0 always exists/);
  });

  it("names any value it quotes, even one JSON and String() cannot write", () => {
    expect(problems({ ...base, files: { "/img": { size: Object.create(null) } } })).toEqual(['files["/img"]: bad size {}: use bytes or a string such as "8M"']);
    expect(problems({ actors: { a: { domain: 5n, run: async () => {} } } })).toEqual(["actors.a.domain: unknown domain 5n (known: dom0)"]);
    expect(problems({ ...base, patches: { "dm-fd": Object.create(null) } })[0]).toMatch(/^patch "dm-fd": \{\} is not a value/);
  });

  it("rejects bad invariants: unknown built-ins, missing checks, taken names, misplaced fields", () => {
    expect(problems({ ...base, invariants: ["isolaton"] })[0]).toMatch(/unknown built-in invariant "isolaton"/);
    expect(problems({ ...base, invariants: [{ name: "x" }] })).toEqual(["invariants[0].check must be a function (world) => message | undefined"]);
    expect(problems({ ...base, invariants: [{ name: "x", check: () => 1 }], sometimes: [{ name: "x", check: () => 1 }] })[0]).toMatch(/name "x" is already taken/);
    expect(problems({ ...base, sometimes: ["progress"] })[0]).toMatch(/not a name/);
    expect(problems({ ...base, invariant: ["progress"] })[0]).toMatch(/scenario: unknown field "invariant"/);
  });

  it("lists every problem at once, and says so in its message", () => {
    let err: unknown;
    try {
      scenario({ kernel: "x", actors: { a: 1 } } as unknown as ScenarioDefinition);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toMatch(/^malformed scenario:\n  - unknown kernel "x".*\n  - actors.a must be/);
  });
});

describe("parseSize", () => {
  it("reads bytes and K/M/G suffixes (powers of 1024)", () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize("512")).toBe(512);
    expect(parseSize("8M")).toBe(8 << 20);
    expect(parseSize("2g")).toBe(2 * 1024 ** 3);
    expect(parseSize("1K")).toBe(1024);
    for (const bad of ["", "M", "1.5M", "8MB", "-1", "0x10", "1T", 1.5, NaN, null]) expect(() => parseSize(bad)).toThrow();
  });
});
