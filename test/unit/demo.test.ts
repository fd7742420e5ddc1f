import { describe, expect, it } from "vitest";
import { runCoreDemo } from "../../web/src/core/demo";

describe("the page's demo round trip", () => {
  it("writes through ring, grants, dm-linear and loop, and reads the same bytes back", async () => {
    const r = await runCoreDemo();
    expect(r.lines.join("\n")).toContain("read back through the ring: match");
    expect(r.ok).toBe(true);
  });
});
