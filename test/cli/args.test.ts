import { describe, expect, it } from "vitest";
import { UsageError, parseArgs, type RunCommand } from "../../web/src/cli/args";
import { formatStep, shellQuote } from "../../web/src/cli/format";
import { main } from "../../web/src/cli/main";
import { GALLERY } from "../../web/src/scenarios";

const usage = (argv: string[]) => expect(() => parseArgs(argv)).toThrow(UsageError);

describe("parseArgs", () => {
  it("reads run and explore with their flags, in either --flag value or --flag=value form", () => {
    const r = parseArgs(["run", "s.ts", "--kernel", "linux-6.12", "--patches=v2", "--patch", "dm-fd=reject", "--patch", "bdev-file", "--seed", "7", "--schedule", "1.0-1", "--json"]) as RunCommand;
    expect(r).toMatchObject({
      kind: "run", target: "s.ts", json: true, kernel: "linux-6.12", patches: "v2",
      patch: [["dm-fd", "reject"], ["bdev-file", "on"]], seed: 7, schedule: "1.0-1",
      configArgs: ["--kernel", "linux-6.12", "--patches", "v2", "--patch", "dm-fd=reject", "--patch", "bdev-file"],
    });
    const e = parseArgs(["explore", "--mode", "pct", "lost-update", "--max-executions", "100", "--max-seconds=2.5", "--base-url", "https://b/"]) as RunCommand;
    expect(e).toMatchObject({ kind: "explore", target: "lost-update", mode: "pct", maxExecutions: 100, maxSeconds: 2.5, baseUrl: "https://b/", json: false });
    expect((parseArgs(["explore", "x.ts"]) as RunCommand).mode).toBe("exhaustive");
    expect(parseArgs(["gallery"])).toEqual({ kind: "gallery", json: false });
    expect(parseArgs(["help"])).toEqual({ kind: "help" });
    expect(parseArgs(["run", "x.ts", "--help"])).toEqual({ kind: "help" });
  });

  it("refuses what it does not understand", () => {
    usage([]);
    usage(["walk", "x.ts"]);
    usage(["run"]);
    usage(["run", "a.ts", "b.ts"]);
    usage(["run", "a.ts", "--colour"]);
    usage(["run", "a.ts", "--kernel"]);
    usage(["run", "a.ts", "--kernel", "--json"]);
    usage(["run", "a.ts", "--mode", "pct"]); // explore only
    usage(["explore", "a.ts", "--schedule", "1.0"]); // run only
    usage(["explore", "a.ts", "--mode", "bfs"]);
    usage(["run", "a.ts", "--seed", "-1"]);
    usage(["run", "a.ts", "--seed", "1", "--seed", "2"]);
    usage(["explore", "a.ts", "--max-seconds", "0"]);
    usage(["run", "a.ts", "--patch", "=on"]);
    usage(["run", "a.ts", "--json=yes"]);
    usage(["gallery", "extra"]);
  });
});

describe("main, in process", () => {
  const io = () => {
    const o = { out: "", err: "", cwd: process.cwd() };
    return { o, io: { out: (t: string) => { o.out += t; }, err: (t: string) => { o.err += t; }, cwd: o.cwd } };
  };

  it("usage mistakes, bad configuration flags and bad schedules are exit 3, before any scenario loads", async () => {
    for (const argv of [
      ["frobnicate"],
      ["run", "lost-update", "--kernel", "linux-5.4"],
      ["run", "lost-update", "--patches", "v3"],
      ["run", "lost-update", "--patch", "dm-fd=sideways"],
      ["run", "lost-update", "--schedule", "banana"],
      ["run", "no-such-lesson"],
    ]) {
      const { o, io: cio } = io();
      expect(await main(argv, cio)).toBe(3);
      expect(o.out).toBe("");
      expect(o.err).toMatch(/^blocklab: .*\n\nusage:/s);
    }
  });

  it("gallery --json lists ids, titles, lessons and files", async () => {
    const { o, io: cio } = io();
    expect(await main(["gallery", "--json"], cio)).toBe(0);
    const list = JSON.parse(o.out);
    expect(list.map((e: { id: string }) => e.id)).toEqual(GALLERY.map((e) => e.id));
    expect(list.map((e: { id: string }) => e.id).slice(0, 2)).toEqual(["lost-update", "check-then-act"]);
    expect(list[0].file).toBe("web/src/scenarios/lost-update.ts");
  });
});

describe("human output", () => {
  it("shows a step as call(args) → result or errno, and quotes shell words", () => {
    const base = { step: 3, actor: "ts", domain: "dom0", reads: [], writes: [], choices: [], events: [] };
    expect(formatStep({ ...base, call: "readFile", args: ["/x"], result: "0" }, 4)).toBe('  #3   ts    readFile("/x") → "0"');
    expect(formatStep({ ...base, call: "writeFile", args: ["/x", "1"], result: null }, 4)).toBe('  #3   ts    writeFile("/x", "1") → ok');
    expect(formatStep({ ...base, domain: "work", call: "readFile", args: ["/y"], errno: "ENOENT", message: "ENOENT: /y: no such file or directory" }, 7))
      .toBe('  #3   ts@work  readFile("/y") → ENOENT (/y: no such file or directory)');
    expect(formatStep({ ...base, call: "log", args: ["hello", 2, { a: 1 }], result: null }, 2)).toBe('  #3   ts  log: hello 2 {"a":1}');
    expect(shellQuote("race.ts")).toBe("race.ts");
    expect(shellQuote("my scenario.ts")).toBe("'my scenario.ts'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});
