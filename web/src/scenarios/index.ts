// The gallery: lessons as scenario files written exactly as users write
// them, each with the text that explains what it shows. The CLI runs them
// by id (`npx blocklab explore lost-update`); the UI will open them in the
// editor. Only lessons the emulated kernel can already run are listed; the
// races of the patch series join as the loop, dm and Xen models land.

export interface GalleryEntry {
  id: string;
  title: string;
  /** What the lesson teaches, for people: a few sentences. */
  lesson: string;
  /** The scenario file, relative to this folder. */
  file: string;
}

export const GALLERY: readonly GalleryEntry[] = [
  {
    id: "lost-update",
    title: "Lost update: two toolstacks bump one counter file",
    lesson:
      "Each toolstack reads the counter, adds one and writes it back: two steps with a gap between them. " +
      "Run once, in the default order, it looks correct (the counter ends at 2); explore it and Blocklab finds " +
      "the order in which both read 0 and one update is lost. The fix is to make the read-modify-write one " +
      "step under a lock (an O_EXCL lock file, flock); open() with O_EXCL comes with the kernel's file " +
      "descriptor model, and this lesson will gain a locked variant then.",
    file: "lost-update.ts",
  },
  {
    id: "check-then-act",
    title: "Check then act: two toolstacks claim one disk slot",
    lesson:
      "Checking that a name is free and then using it is a race whenever someone else can take the name in " +
      "between: both toolstacks see the slot free, both claim it, and one acts as the owner of a slot that now " +
      "names the other VM. This is the shape of the races the patch series closes for block devices: a loop " +
      "or dm device found by name (or major:minor) can be freed and reused between the lookup and the open. " +
      "The cure is the same everywhere: make the check and the claim one atomic step (O_EXCL), or hold the " +
      "object itself (an fd, a diskseq) instead of its name.",
    file: "check-then-act.ts",
  },
];

export function galleryEntry(id: string): GalleryEntry | undefined {
  return GALLERY.find((e) => e.id === id);
}
