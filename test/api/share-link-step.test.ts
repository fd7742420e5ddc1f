// The selected step in share links: added within #v1/, so links made before
// it still read the same, and a damaged step is refused like any damage.
import { describe, expect, it } from "vitest";
import { decodeShareLink, encodeShareLink, MAX_LINK_STEP, ShareLinkError } from "../../web/src/api/share-link";

async function linkOf(json: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  const packed = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer());
  let bin = "";
  for (const b of packed) bin += String.fromCharCode(b);
  return `#v1/${btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

describe("share links carry the selected step", () => {
  it("round-trip a step, and read links without one as before", async () => {
    const link = await encodeShareLink({ code: "x", schedule: "1.0.1", step: 17 });
    expect(await decodeShareLink(link)).toEqual({ code: "x", schedule: "1.0.1", step: 17 });
    expect(await decodeShareLink(await encodeShareLink({ code: "x", step: 0 }))).toEqual({ code: "x", step: 0 });
    // A link written before the field existed (no "step" key): unchanged.
    expect(await decodeShareLink(await linkOf({ code: "old", schedule: "1.0" }))).toEqual({ code: "old", schedule: "1.0" });
  });

  it("refuse a step that is not a whole number of steps, with a ShareLinkError", async () => {
    for (const step of [-1, 1.5, "3", null, MAX_LINK_STEP + 1, 1e300]) {
      await expect(decodeShareLink(await linkOf({ code: "x", step }))).rejects.toThrow(ShareLinkError);
    }
  });
});
