import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../web/src/api/config";
import {
  DEFAULT_BASE_URL,
  MAX_DECODED_BYTES,
  ShareLinkError,
  decodeShareLink,
  encodeShareData,
  encodeShareLink,
  type SharedScenario,
} from "../../web/src/api/share-link";

const configs = fc.constantFrom(
  resolveConfig(undefined, undefined),
  resolveConfig("linux-6.12", "v2"),
  resolveConfig("linux-6.1.192", { preset: "rfc-v1", "rfc-dm-refcount-bug": "on" }),
);

const shared: fc.Arbitrary<SharedScenario> = fc.record(
  {
    code: fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 2000 })),
    config: configs,
    schedule: fc.stringMatching(/^1\.[0-9a-z.KX-]{0,40}$/),
  },
  { requiredKeys: ["code"] },
);

/** Rejects with a ShareLinkError, or resolves; anything else fails the test. */
async function decodeOrLinkError(link: string): Promise<SharedScenario | ShareLinkError> {
  try {
    return await decodeShareLink(link);
  } catch (e) {
    if (e instanceof ShareLinkError) return e;
    throw e;
  }
}

describe("share links", () => {
  it("round-trip any scenario text, configuration and schedule", async () => {
    await fc.assert(
      fc.asyncProperty(shared, async (s) => {
        const link = await encodeShareLink(s);
        expect(link.startsWith(`${DEFAULT_BASE_URL}#v1/`)).toBe(true);
        expect(link).toMatch(/^[^#]*#v1\/[A-Za-z0-9_-]+$/); // base64url, no padding
        expect(await decodeShareLink(link)).toEqual(s);
      }),
      { numRuns: 150 },
    );
  });

  it("accept the whole URL, the fragment, or the fragment without '#'; a base's own fragment is replaced", async () => {
    const s = { code: "export default 1;\n", schedule: "1.0-1" };
    const data = await encodeShareData(s);
    for (const form of [`https://x.example/app/?q=1#v1/${data}`, `#v1/${data}`, `v1/${data}`, `  #v1/${data}\n`]) {
      expect(await decodeShareLink(form)).toEqual(s);
    }
    expect(await encodeShareLink(s, "http://h/#old")).toBe(`http://h/#v1/${data}`);
  });

  it("cut anywhere inside the data, a link gives a clear ShareLinkError", async () => {
    await fc.assert(
      fc.asyncProperty(shared, fc.nat(), async (s, at) => {
        const link = await encodeShareLink(s);
        const start = link.indexOf("#v1/") + 4;
        const cut = link.slice(0, start + (at % (link.length - start)));
        const r = await decodeOrLinkError(cut);
        expect(r).toBeInstanceOf(ShareLinkError);
        expect((r as Error).message).toMatch(/cut|damaged|empty/);
      }),
      { numRuns: 150 },
    );
  });

  it("changed characters give a ShareLinkError or, by chance, some scenario; never another kind of error", async () => {
    await fc.assert(
      fc.asyncProperty(shared, fc.nat(), fc.constantFrom(..."AZaz09-_!.~%"), async (s, at, ch) => {
        const link = await encodeShareLink(s);
        const start = link.indexOf("#v1/") + 4;
        const i = start + (at % (link.length - start));
        const r = await decodeOrLinkError(link.slice(0, i) + ch + link.slice(i + 1));
        if (!(r instanceof ShareLinkError)) expect(typeof r.code).toBe("string");
      }),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (junk) => {
        await decodeOrLinkError(`#v1/${junk}`);
        await decodeOrLinkError(junk);
      }),
      { numRuns: 200 },
    );
  });

  it("say what is wrong: no fragment, another version, empty, bad characters, not a scenario, too big", async () => {
    const msg = async (link: string) => ((await decodeOrLinkError(link)) as Error).message;
    expect(await msg("http://localhost:4173/")).toBe("not a Blocklab scenario link: it has no #v1/ part");
    expect(await msg("http://localhost:4173/#example/lost-update")).toBe("not a Blocklab scenario link: the part after # should start with v1/");
    expect(await msg("#v2/abc")).toBe("this link is in format v2, which this version of Blocklab cannot read (it reads v1)");
    expect(await msg("#v1/")).toBe("the link is empty after #v1/: it was cut off");
    expect(await msg("#v1/abc=")).toMatch(/a character that does not belong \("=" at position 4/);
    expect(await msg("#v1/abcde")).toBe("the link's data is cut off (its length is impossible)");
    // Valid compression of text that is not a scenario.
    expect(await msg(await encodeRaw("[1,2]"))).toBe("the link does not carry a scenario");
    expect(await msg(await encodeRaw('{"code":1}'))).toBe("the link does not carry a scenario's text");
    expect(await msg(await encodeRaw('{"code":"","config":{"kernel":"linux-6.1"}}'))).toMatch(/configuration is damaged/);
    expect(await msg(await encodeRaw('{"code":"","schedule":7}'))).toBe("the link's schedule is damaged");
    expect(await msg(await encodeRaw("not json"))).toMatch(/damaged \(it unpacks, but not to a scenario\)/);
    const bomb = await encodeShareLink({ code: "a".repeat(MAX_DECODED_BYTES + 10) });
    expect(bomb.length).toBeLessThan(10_000);
    expect(await msg(bomb)).toMatch(/unpacks to more than 1048576 bytes/);
  });
});

/** A v1 link whose JSON text is `text`, to test the layers above compression. */
async function encodeRaw(text: string): Promise<string> {
  const packed = new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer());
  return `#v1/${Buffer.from(packed).toString("base64url")}`;
}
