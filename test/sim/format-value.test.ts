// The one value formatter: JSON's text for data, names for the rest, and
// never a throw, whatever a script made or replaced.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callText, formatValue, logText, thrownText, traceValue } from "../../web/src/sim/format-value";
import { ScenarioError } from "../../web/src/api/scenario";
import { SysError } from "../../web/src/sim/op";

/** Values a script can make that JSON.stringify and String() choke on or misreport. */
function hostile(): Record<string, unknown> {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const bare = Object.create(null) as Record<string, unknown>;
  bare.x = 1n;
  const getter = { ok: 1, get bad(): number { throw new Error("read me not"); } };
  const trap = new Proxy({}, { ownKeys: () => { throw new Error("trap"); } });
  return { cycle, bare, getter, trap, sym: Symbol("s"), fn: function named() {}, big: 12n };
}

describe("formatValue", () => {
  it("writes data as JSON does", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => formatValue(v) === JSON.stringify(v)));
    expect(formatValue({ a: undefined, b: [undefined, NaN], c: "x" })).toBe('{"b":[null,null],"c":"x"}');
    expect(formatValue(undefined)).toBe("undefined");
  });

  it("names what JSON cannot write", () => {
    expect(formatValue(12n)).toBe("12n");
    expect(formatValue(new Uint8Array(4))).toBe("<4 bytes>");
    expect(formatValue([function f() {}, (() => () => {})()])).toBe("[<function f>,<function anonymous>]");
    expect(formatValue(Symbol("s"))).toBe("Symbol(s)");
    expect(formatValue({ e: new TypeError("bad") })).toBe('{"e":TypeError: bad}');
  });

  it("never throws, and says what it could not read", () => {
    const h = hostile();
    expect(formatValue(h.cycle)).toBe('{"a":1,"self":<cycle>}');
    expect(formatValue(h.bare)).toBe('{"x":1n}');
    expect(formatValue(h.getter)).toBe('{"ok":1,"bad":<getter>}');
    expect(formatValue(h.trap)).toBe("{<unreadable>");
    let deep: unknown = 0;
    for (let i = 0; i < 12; i++) deep = [deep];
    expect(formatValue(deep)).toBe(`${"[".repeat(9)}<too deep>${"]".repeat(9)}`);
  });

  it("cuts at max characters with an ellipsis, without writing the rest", () => {
    expect(formatValue("a".repeat(100), 10)).toBe(`"${"a".repeat(8)}…`);
    expect(formatValue({ k: "v" }, 10)).toBe('{"k":"v"}');
    let reads = 0;
    const huge = new Proxy(new Array(1e6).fill(1), { getOwnPropertyDescriptor: (t, k) => (reads++, Reflect.getOwnPropertyDescriptor(t, k)) });
    expect(formatValue(huge, 60)).toHaveLength(60);
    expect(reads).toBeLessThan(40);
  });

  it("uses the built-ins as they were when it loaded", () => {
    const before = formatValue({ a: [1, "x"], b: 2n, c: new Uint8Array(2) });
    const { getter } = hostile();
    const saved = { stringify: JSON.stringify, keys: Object.keys, iter: Array.prototype[Symbol.iterator], call: Function.prototype.call, slice: String.prototype.slice, toString: Symbol.prototype.toString };
    const boom = () => { throw new Error("replaced"); };
    let after: string[];
    try {
      JSON.stringify = boom;
      Object.keys = boom;
      Array.prototype[Symbol.iterator] = boom;
      String.prototype.slice = boom;
      Symbol.prototype.toString = boom;
      Function.prototype.call = boom;
      // Every descriptor would seem to have a value: a getter must still not be read as one.
      Object.defineProperty(Object.prototype, "value", { value: "polluted", configurable: true });
      after = [formatValue({ a: [1, "x"], b: 2n, c: new Uint8Array(2) }), formatValue(Symbol("s"), 5), formatValue(getter)];
    } finally {
      delete (Object.prototype as { value?: unknown }).value;
      Function.prototype.call = saved.call;
      Object.assign(JSON, { stringify: saved.stringify });
      Object.keys = saved.keys;
      Array.prototype[Symbol.iterator] = saved.iter;
      String.prototype.slice = saved.slice;
      Symbol.prototype.toString = saved.toString;
    }
    expect(after).toEqual([before, "Symb…", '{"ok":1,"bad":<getter>}']);
  });
});

describe("logText, callText, thrownText", () => {
  it("log lines keep strings as they are; calls quote them", () => {
    expect(logText(["hello", 2, { a: 1 }, "x y"])).toBe('hello 2 {"a":1} x y');
    expect(logText(["s", "t".repeat(100), ["u".repeat(100)]], 10)).toBe(`s ${"t".repeat(100)} ["uuuuuuu…`);
    expect(callText("writeFile", ["/x", "1"])).toBe('writeFile("/x", "1")');
  });

  it("names a thrown error unless it is a plain Error or a ScenarioError; anything else is uncaught", () => {
    expect(thrownText(new TypeError("o is undefined"))).toBe("TypeError: o is undefined");
    expect(thrownText(new Error("plain"))).toBe("plain");
    expect(thrownText(new ScenarioError(["a scenario needs at least one actor"]))).toBe("malformed scenario: a scenario needs at least one actor");
    expect(thrownText("boom")).toBe("uncaught boom");
    expect(thrownText(Object.create(null))).toBe("uncaught {}");
    expect(thrownText(hostile().trap)).toBe("uncaught {<unreadable>");
  });
});

describe("traceValue", () => {
  it("keeps data as it is", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      const copy = traceValue(v);
      return JSON.stringify(copy) === JSON.stringify(v);
    }));
    const bytes = new Uint8Array([1, 2]);
    expect(traceValue(bytes)).toBe(bytes);
    expect(traceValue(5n)).toBe(5n);
  });

  it("names what the trace cannot keep, as formatValue does, and never throws", () => {
    const h = hostile();
    expect(traceValue([h.fn, h.sym, new RangeError("r"), new SysError("ENOENT", "/x: no such file")])).toEqual(["<function named>", "Symbol(s)", "RangeError: r", "ENOENT: /x: no such file"]);
    expect(traceValue(h.cycle)).toEqual({ a: 1, self: "<cycle>" });
    expect(traceValue(h.getter)).toEqual({ ok: 1, bad: "<getter>" });
    expect(traceValue(h.trap)).toBe("<unreadable>");
    const proto = traceValue(JSON.parse('{"__proto__":{"x":1}}')) as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(["__proto__"]);
  });
});
