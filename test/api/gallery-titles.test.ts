// A lesson's title is written once, in its scenario file. The gallery's list
// takes it from web/src/scenarios/titles.ts, which scripts/gallery-titles.js
// generates from the files (`npm run gallery:titles`), so that the page can
// list every lesson without loading every scenario. These tests keep the
// generated file current.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readTitles, renderTitles, titleOf, TITLES_FILE } from "../../scripts/gallery-titles.js";
import { GALLERY } from "../../web/src/scenarios";
import { TITLES } from "../../web/src/scenarios/titles";

describe("gallery titles", () => {
  it("titles.ts is what `npm run gallery:titles` writes from the scenario files (run it after changing a title)", () => {
    expect(readFileSync(TITLES_FILE, "utf8")).toBe(renderTitles(readTitles()));
  });

  it("every gallery entry shows its scenario file's title", () => {
    const titles: Record<string, string> = TITLES;
    for (const e of GALLERY) expect(e.title, e.id).toBe(titles[e.file]);
  });

  it("reads the title of a scenario({ ... }) call, also one inside a function, and refuses one it cannot list without running the file", () => {
    expect(titleOf(`export default scenario({ title: "A", actors: {} });`)).toBe("A");
    expect(titleOf(`const f = (n) => scenario({ actors: {}, title: 'B' });`)).toBe("B");
    expect(titleOf(`export default scenario({ actors: {} });`)).toBeUndefined();
    expect(() => titleOf("const t = 'C'; export default scenario({ title: t, actors: {} });", "x.ts")).toThrow(/x\.ts: the title must be a string literal/);
  });
});
