// A value as people read it: short text in a trace line, the CLI's output,
// the sandbox's console and messages, the page's views; and the JSON-safe
// copy a trace keeps of what a script logs. One set of conventions for all:
// JSON's text for data (strings quoted, {"k":v}, [1,2], keys whose value is
// undefined left out), and a name for what JSON drops or cannot write: 12n,
// <4 bytes>, <function f>, Symbol(x), TypeError: message, <cycle>, <getter>,
// <too deep>.
//
// It runs on whatever a script made, in the script's own realm (the sandbox
// evaluates scenarios in the worker's global scope, the CLI imports them
// into its process), often after the script ran. So it never throws, calls
// none of the script's code (no getters, toJSON or toString; a Proxy's
// traps are the exception, and what they throw is caught), and uses the
// built-ins as they were when this module loaded: a script that replaced
// JSON.stringify or Object.keys changes nothing here.

import { SysError } from "./op";

/** `f` as a plain function of (this, ...args), immune to a later change of Function.prototype.call. */
const uncurry = <T, A extends unknown[], R>(f: (this: T, ...a: A) => R) => Function.prototype.call.bind(f) as unknown as (self: T, ...a: A) => R;

const stringify = JSON.stringify;
const { keys, getOwnPropertyDescriptor, getPrototypeOf, defineProperty, hasOwn } = Object;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const isFiniteNumber = Number.isFinite;
const isPrototypeOf = uncurry(Object.prototype.isPrototypeOf);
const sliceText = uncurry(String.prototype.slice);
const symbolText = uncurry(Symbol.prototype.toString);
const TYPED_ARRAY = getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayTag = uncurry(getOwnPropertyDescriptor(TYPED_ARRAY, Symbol.toStringTag)!.get! as (this: unknown) => string | undefined);
const typedArrayLength = uncurry(getOwnPropertyDescriptor(TYPED_ARRAY, "length")!.get! as (this: unknown) => number);
const ERROR = Error.prototype;
const SYS_ERROR = SysError.prototype;

/** Objects nested deeper than this are cut: `<too deep>`. */
const MAX_DEPTH = 8;

/** The enclosing objects of the one being written, innermost first: meeting one again is a cycle. */
interface Ancestors {
  v: object;
  up: Ancestors | undefined;
}

function isAncestor(v: object, up: Ancestors | undefined): boolean {
  for (let a = up; a !== undefined; a = a.up) if (a.v === v) return true;
  return false;
}

/** Runs `f`; what a Proxy's trap throws becomes `fallback`. */
function guarded<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

const GETTER = Symbol("getter");

/** An own property's value, without running a getter (GETTER stands for one). */
function own(o: object, key: string): unknown {
  const d = getOwnPropertyDescriptor(o, key);
  if (d === undefined) return undefined;
  return hasOwn(d, "value") ? d.value : GETTER;
}

/** A property's value along the prototype chain, data properties only (what an error's name and message are). */
function inherited(o: object, key: string): unknown {
  for (let p: object | null = o; p !== null; p = getPrototypeOf(p) as object | null) {
    const d = getOwnPropertyDescriptor(p, key);
    if (d !== undefined) return hasOwn(d, "value") ? d.value : undefined;
  }
  return undefined;
}

/** An array's length; a Proxy may claim anything, and comparing with a non-number would run its valueOf. */
function length(a: object): number {
  const n = own(a, "length");
  return typeof n === "number" ? n : 0;
}

const isError = (v: object): boolean => isPrototypeOf(ERROR, v);
const isBytes = (v: object): boolean => isView(v) && typedArrayTag(v) === "Uint8Array";

function functionText(f: object): string {
  const name = guarded(() => own(f, "name"), undefined);
  return `<function ${typeof name === "string" && name !== "" ? name : "anonymous"}>`;
}

/** An error as a value: `TypeError: message` (`Error` alone when there is no message). */
function errorValueText(e: object): string {
  const name = guarded(() => inherited(e, "name"), undefined);
  const message = guarded(() => inherited(e, "message"), undefined);
  const n = typeof name === "string" && name !== "" ? name : "Error";
  return typeof message === "string" && message !== "" ? `${n}: ${message}` : n;
}

/** Text grown from the left; past `max` characters the rest is not written (the reader sees only `max`). */
class Out {
  text = "";
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.text.length > this.max;
  }
  add(s: string): void {
    if (!this.full) this.text += s;
  }
}

function write(v: unknown, out: Out, depth: number, up: Ancestors | undefined): void {
  switch (typeof v) {
    case "string":
      // A long string: only its start can show (quoting a prefix changes nothing before the cut).
      out.add(stringify(v.length > out.max ? sliceText(v, 0, out.max) : v));
      return;
    case "number":
      out.add(isFiniteNumber(v) ? `${v}` : "null");
      return;
    case "boolean":
      out.add(v ? "true" : "false");
      return;
    case "undefined":
      out.add("undefined");
      return;
    case "bigint":
      out.add(`${v}n`);
      return;
    case "symbol":
      out.add(symbolText(v));
      return;
    case "function":
      out.add(functionText(v));
      return;
  }
  if (v === null) {
    out.add("null");
    return;
  }
  const o = v as object;
  if (isBytes(o)) {
    out.add(`<${typedArrayLength(o)} bytes>`);
    return;
  }
  if (isError(o)) {
    out.add(errorValueText(o));
    return;
  }
  if (isAncestor(o, up)) {
    out.add("<cycle>");
    return;
  }
  if (depth > MAX_DEPTH) {
    out.add("<too deep>");
    return;
  }
  const inner: Ancestors = { v: o, up };
  if (isArray(o)) {
    const n = length(o);
    out.add("[");
    for (let i = 0; i < n && !out.full; i++) {
      if (i > 0) out.add(",");
      const x = own(o, `${i}`);
      // As JSON writes them: a hole or undefined is null.
      if (x === GETTER) out.add("<getter>");
      else if (x === undefined) out.add("null");
      else write(x, out, depth + 1, inner);
    }
    out.add("]");
    return;
  }
  out.add("{");
  let first = true;
  const ks = keys(o);
  // Index loops, not for-of: a script may have replaced the array iterator.
  for (let i = 0; i < ks.length && !out.full; i++) {
    const k = ks[i]!;
    const x = own(o, k);
    if (x === undefined) continue; // as JSON: a key without a value is left out
    out.add(`${first ? "" : ","}${stringify(k)}:`);
    first = false;
    if (x === GETTER) out.add("<getter>");
    else write(x, out, depth + 1, inner);
  }
  out.add("}");
}

/**
 * A value as short text: JSON-like, with what JSON cannot write named (see
 * the top of this file); longer than `max` characters, cut to `max` with an
 * ellipsis.
 */
export function formatValue(v: unknown, max = Infinity): string {
  const out = new Out(max);
  try {
    write(v, out, 0, undefined);
  } catch {
    // A Proxy's trap threw: what was written so far, marked.
    out.text += "<unreadable>";
  }
  return out.text.length > max ? `${sliceText(out.text, 0, max - 1)}…` : out.text;
}

/** Values side by side as console.log and sys.log show them: strings as they are, the rest formatted. */
export function logText(values: readonly unknown[], max = Infinity): string {
  let text = "";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    text += `${i > 0 ? " " : ""}${typeof v === "string" ? v : formatValue(v, max)}`;
  }
  return text;
}

/** A call as people read it: `readFile("/run/x")`. */
export function callText(call: string, args: readonly unknown[], max = Infinity): string {
  let text = "";
  for (let i = 0; i < args.length; i++) text += `${i > 0 ? ", " : ""}${formatValue(args[i], max)}`;
  return `${call}(${text})`;
}

/**
 * What was thrown, as a message: an error's own words, named unless it is
 * a plain Error or a ScenarioError (whose message says what it is):
 * `TypeError: o is undefined`; anything else thrown is `uncaught VALUE`.
 */
export function thrownText(e: unknown): string {
  if (typeof e !== "object" || e === null || !guarded(() => isError(e), false)) return `uncaught ${logText([e])}`;
  const name = guarded(() => inherited(e, "name"), undefined);
  const message = guarded(() => inherited(e, "message"), undefined);
  const text = typeof message === "string" ? message : "";
  return name === "Error" || name === "ScenarioError" || typeof name !== "string" ? text : `${name}: ${text}`;
}

/**
 * The copy of a value a trace keeps (sys.log's arguments): JSON-safe data
 * read the same way as formatValue writes it, with functions, symbols,
 * errors, getters and cycles as the text that names them. A failed system
 * call's error is its message alone (`ENOENT: /x: ...`), as the trace says it.
 */
export function traceValue(v: unknown): unknown {
  try {
    return copy(v, 0, undefined);
  } catch {
    return "<unreadable>";
  }
}

/**
 * A plain data property. Defined, not assigned: assigning "__proto__" would
 * set the prototype, and a setter a script put on Object.prototype would
 * run; the descriptor has no prototype, so nothing it inherits is read.
 */
function field(value: unknown): PropertyDescriptor {
  return { __proto__: null, value, writable: true, enumerable: true, configurable: true } as PropertyDescriptor;
}

function copy(v: unknown, depth: number, up: Ancestors | undefined): unknown {
  if (typeof v === "function") return functionText(v);
  if (typeof v === "symbol") return symbolText(v);
  if (typeof v !== "object" || v === null || isBytes(v)) return v;
  if (isError(v)) return isPrototypeOf(SYS_ERROR, v) ? inherited(v, "message") : errorValueText(v);
  if (isAncestor(v, up)) return "<cycle>";
  if (depth > MAX_DEPTH) return "<too deep>";
  const inner: Ancestors = { v, up };
  const read = (k: string): unknown => {
    const x = own(v, k);
    return x === GETTER ? "<getter>" : copy(x, depth + 1, inner);
  };
  if (isArray(v)) {
    const n = length(v);
    const arr: unknown[] = [];
    for (let i = 0; i < n; i++) defineProperty(arr, i, field(read(`${i}`)));
    return arr;
  }
  const obj: Record<string, unknown> = {};
  const ks = keys(v);
  for (let i = 0; i < ks.length; i++) defineProperty(obj, ks[i]!, field(read(ks[i]!)));
  return obj;
}
