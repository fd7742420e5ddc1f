// Shared links: the scenario text, its configuration and optionally a
// schedule, in the URL fragment (nothing goes to a server):
//
//   <base>#v1/<data>     data = base64url, unpadded, of deflate-raw(JSON { code, config, schedule, step })
//
// `step` was added later, within v1: links without it read as before, and a
// reader that does not know it ignores it.
//
// The version prefix lets a later format read old links. A damaged or cut
// link must give a clear message and nothing else: decoding checks every
// layer (characters, compression, size, text, JSON, shape) and says which
// one failed. Works the same in Node and in browsers (CompressionStream).

import type { Config } from "./types";

export const LINK_VERSION = "v1";
export const DEFAULT_BASE_URL = "http://localhost:4173/";
/** Decoded JSON larger than this is refused (a link is a few KB; this stops a decompression bomb). */
export const MAX_DECODED_BYTES = 1 << 20;

export interface SharedScenario {
  /** The scenario file's text. */
  code: string;
  /** The configuration it ran with. */
  config?: Config;
  /** A schedule token to replay. */
  schedule?: string;
  /** The step selected in the trace (0: the initial world), once the reader has run it. */
  step?: number;
}

/** The largest step a link may select (a run stops at a few thousand steps at most). */
export const MAX_LINK_STEP = 1_000_000;

/** A link that cannot be read; the message says why, for people. */
export class ShareLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShareLinkError";
  }
}

function toBase64url(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(s: string): Uint8Array {
  const bad = /[^A-Za-z0-9_-]/.exec(s);
  if (bad) throw new ShareLinkError(`the link has a character that does not belong (${JSON.stringify(bad[0])} at position ${bad.index + 1} of the data): it was changed or cut`);
  if (s.length % 4 === 1) throw new ShareLinkError("the link's data is cut off (its length is impossible)");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function pump(input: Uint8Array, transform: CompressionStream | DecompressionStream, limit: number): Promise<Uint8Array> {
  const reader = new Blob([input as Uint8Array<ArrayBuffer>]).stream().pipeThrough(transform).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new ShareLinkError(`the link's data unpacks to more than ${limit} bytes: it is not a Blocklab link`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The `<data>` part of a link. */
export async function encodeShareData(s: SharedScenario): Promise<string> {
  const json = JSON.stringify({ code: s.code, config: s.config, schedule: s.schedule, step: s.step });
  return toBase64url(await pump(new TextEncoder().encode(json), new CompressionStream("deflate-raw"), Infinity));
}

/** A full link: `<base>#v1/<data>` (any fragment of `base` is replaced). */
export async function encodeShareLink(s: SharedScenario, base: string = DEFAULT_BASE_URL): Promise<string> {
  const hash = base.indexOf("#");
  return `${hash < 0 ? base : base.slice(0, hash)}#${LINK_VERSION}/${await encodeShareData(s)}`;
}

/** Reads a link: a whole URL, its fragment (`#v1/...`) or the fragment without `#`. */
export async function decodeShareLink(link: string): Promise<SharedScenario> {
  if (typeof link !== "string") throw new ShareLinkError("a link is text");
  const text = link.trim();
  const hash = text.indexOf("#");
  const fragment = hash >= 0 ? text.slice(hash + 1) : text;
  const m = /^v(\d+)\/(.*)$/s.exec(fragment);
  if (!m) throw new ShareLinkError(hash >= 0 || fragment.length === 0 ? "not a Blocklab scenario link: the part after # should start with v1/" : "not a Blocklab scenario link: it has no #v1/ part");
  if (`v${m[1]}` !== LINK_VERSION) throw new ShareLinkError(`this link is in format v${m[1]}, which this version of Blocklab cannot read (it reads ${LINK_VERSION})`);
  const data = m[2]!;
  if (data === "") throw new ShareLinkError("the link is empty after #v1/: it was cut off");

  const packed = fromBase64url(data);
  let bytes: Uint8Array;
  try {
    bytes = await pump(packed, new DecompressionStream("deflate-raw"), MAX_DECODED_BYTES);
  } catch (e) {
    if (e instanceof ShareLinkError) throw e;
    throw new ShareLinkError("the link's data is damaged or cut off (it does not unpack)");
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ShareLinkError("the link's data is damaged (it unpacks, but not to a scenario)");
  }
  return checkShape(value);
}

function checkShape(v: unknown): SharedScenario {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ShareLinkError("the link does not carry a scenario");
  const o = v as Record<string, unknown>;
  if (typeof o.code !== "string") throw new ShareLinkError("the link does not carry a scenario's text");
  const out: SharedScenario = { code: o.code };
  if (o.config !== undefined) {
    const c = o.config as Record<string, unknown> | null;
    if (typeof c !== "object" || c === null || typeof c.kernel !== "string" || typeof c.patches !== "object" || c.patches === null || Array.isArray(c.patches)) {
      throw new ShareLinkError("the link's configuration is damaged (it needs a kernel and patches)");
    }
    out.config = c as unknown as Config;
  }
  if (o.schedule !== undefined) {
    if (typeof o.schedule !== "string") throw new ShareLinkError("the link's schedule is damaged");
    out.schedule = o.schedule;
  }
  if (o.step !== undefined) {
    if (typeof o.step !== "number" || !Number.isSafeInteger(o.step) || o.step < 0 || o.step > MAX_LINK_STEP) throw new ShareLinkError("the link's step is damaged (it should be a whole number of steps)");
    out.step = o.step;
  }
  return out;
}
