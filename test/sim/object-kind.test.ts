import { describe, expect, it } from "vitest";
import { declareKind, declaredKinds, KindMismatch } from "../../web/src/sim/object-kind";
import { Store, emptyFootprint } from "../../web/src/sim/store";

interface Widget {
  size: number;
  color: string;
}

// Names no model declares: the registry is per module instance, one per test file.
const WIDGET = declareKind<Widget, [d: string, n: number]>(
  "widget",
  (d, n) => `${d}:w${n}`,
  (tail) => {
    const [d, w] = tail.split(":");
    return [d!, Number(w!.slice(1))];
  },
);
const GADGET = declareKind<number, [path: string]>("gadget", (path) => path);

describe("a store object kind", () => {
  it("builds keys as <kind>:<tail> and knows its own", () => {
    expect(WIDGET.key("dom0", 3)).toBe("widget:dom0:w3");
    expect(GADGET.key("/a/b")).toBe("gadget:/a/b");
    expect(WIDGET.is("widget:dom0:w3")).toBe(true);
    expect(WIDGET.is("widgets:dom0:w3")).toBe(false);
    expect(WIDGET.is("gadget:/a")).toBe(false);
    expect(WIDGET.is("widget:*")).toBe(false);
    expect(WIDGET.is("widget:dom0:*")).toBe(false);
  });

  it("takes keys apart: tail, tail within a scope, scope, and a key of another kind with the same tail", () => {
    const k = WIDGET.key("dom1", 7);
    expect(WIDGET.tail(k)).toBe("dom1:w7");
    expect(WIDGET.tail(k, "dom1")).toBe("w7");
    expect(WIDGET.scopeOf(k)).toBe("dom1");
    expect(GADGET.scopeOf("gadget:/x")).toBe("/x");
    expect(WIDGET.inScope(k, "dom1")).toBe(true);
    expect(WIDGET.inScope(k, "dom")).toBe(false);
    expect(WIDGET.inScope("widget:dom10:w1", "dom1")).toBe(false);
    expect(GADGET.withTail(WIDGET.tail(k))).toBe("gadget:dom1:w7");
    expect(() => WIDGET.tail(k, "dom2")).toThrow(KindMismatch);
    expect(WIDGET.parts(k)).toEqual(["dom1", 7]);
    expect(() => GADGET.parts("gadget:/x")).toThrow(/no parse/);
  });

  it("reads and writes through the store, recording what the store records", () => {
    const s = new Store();
    const k = WIDGET.key("dom0", 1);
    const fp = emptyFootprint();
    s.recording = fp;
    WIDGET.set(s, k, { size: 1, color: "red" });
    const old = WIDGET.get(s, k)!;
    const next = WIDGET.update(s, k, old, { size: 2 });
    expect(next).toEqual({ size: 2, color: "red" });
    expect(old).toEqual({ size: 1, color: "red" }); // values are replaced, never mutated
    expect(WIDGET.has(s, k)).toBe(true);
    expect(WIDGET.list(s, "dom0")).toEqual([k]);
    s.recording = null;
    expect([...fp.reads].sort()).toEqual(["widget:dom0:*", k]);
    expect([...fp.writes].sort()).toEqual(["widget:*", "widget:dom0:*", k]);

    const quiet = emptyFootprint();
    s.recording = quiet;
    expect(WIDGET.peek(s, k)).toEqual(next);
    expect(WIDGET.peekList(s)).toEqual([k]);
    WIDGET.delete(s, k);
    s.recording = null;
    expect(quiet.reads.size).toBe(0);
    expect(WIDGET.peek(s, k)).toBeUndefined();
  });

  it("refuses a key of another kind in every accessor that takes one", () => {
    const s = new Store();
    const wrong = GADGET.key("/a");
    s.set(wrong, 1);
    for (const use of [
      () => WIDGET.get(s, wrong), () => WIDGET.peek(s, wrong), () => WIDGET.has(s, wrong),
      () => WIDGET.set(s, wrong, { size: 0, color: "" }), () => WIDGET.delete(s, wrong),
      () => WIDGET.update(s, wrong, { size: 0, color: "" }, {}), () => WIDGET.tail(wrong), () => WIDGET.scopeOf(wrong), () => WIDGET.parts(wrong),
    ]) expect(use).toThrow(KindMismatch);
    expect(s.peek(wrong)).toBe(1);
  });

  it("is declared once: a second declaration of a name throws, and bad names are refused", () => {
    expect(() => declareKind<Widget, [n: number]>("widget", (n) => String(n))).toThrow(/declared twice/);
    expect(() => declareKind<number, []>("a:b", () => "")).toThrow(/bad/);
    expect(declaredKinds().get("widget")).toBe(WIDGET);
  });
});
