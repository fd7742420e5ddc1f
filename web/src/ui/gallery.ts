// The gallery's scenario files as text, for the editor. Loaded on demand
// (one small chunk per lesson), so the shell does not carry them.

import { GALLERY, galleryEntry, type GalleryEntry } from "../scenarios/index";

const sources = import.meta.glob<string>("../scenarios/*.ts", { query: "?raw", import: "default" });

export { GALLERY, galleryEntry, type GalleryEntry };

export async function gallerySource(entry: GalleryEntry): Promise<string> {
  const load = sources[`../scenarios/${entry.file}`];
  if (!load) throw new Error(`the gallery lists ${entry.file}, but no such file was bundled`);
  return load();
}
