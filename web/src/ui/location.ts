// What the page's URL fragment asks for: a gallery lesson (#example/ID), a
// shared scenario (#v1/...), or nothing (the reader's saved work).

import { LINK_VERSION } from "../api/share-link";

/** Longer fragments are refused before any decoding: a real link is a few KB. */
export const MAX_LINK_CHARS = 200_000;

export type Fragment =
  | { kind: "none" }
  | { kind: "example"; id: string }
  | { kind: "link"; fragment: string }
  | { kind: "oversized"; length: number }
  | { kind: "unknown"; text: string };

export function parseFragment(hash: string): Fragment {
  const h = hash.startsWith("#") ? hash.slice(1) : hash;
  if (h === "") return { kind: "none" };
  if (h.length > MAX_LINK_CHARS) return { kind: "oversized", length: h.length };
  const ex = /^example\/(.+)$/.exec(h);
  if (ex) return { kind: "example", id: decodeURIComponent(ex[1]!) };
  if (/^v\d+\//.test(h)) return { kind: "link", fragment: `#${h}` };
  return { kind: "unknown", text: h.slice(0, 40) };
}

/** The page's address without its fragment: the base of a share link. */
export function pageBase(): string {
  return location.href.split("#")[0]!;
}

/** Drops the fragment from the address bar without a reload or a history entry. */
export function clearFragment(): void {
  if (location.hash !== "") history.replaceState(null, "", pageBase());
}

export function setFragment(hash: string): void {
  history.replaceState(null, "", `${pageBase()}${hash}`);
}

export { LINK_VERSION };
