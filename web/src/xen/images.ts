// Image data changed outside the store (in the data plane) shows in
// footprints and fingerprints through the image file's `gen` counter, as
// for writes through an fd, loop or dm (web/src/linux/io.ts).

import { FILE, type ImageFile } from "../linux/files";
import type { Store } from "../sim/store";

export function bumpImageGens(store: Store, images: readonly string[]): void {
  for (const key of images) {
    const f = FILE.get(store, key) as ImageFile | undefined;
    if (f) FILE.update(store, key, f, { gen: f.gen + 1 });
  }
}
