// Ordinary files of each domain: `file:<domain>:<path>`, one store object
// per file, so each step's footprint names exactly the files it touched.
//
// Two kinds, a simplification documented in docs/linux-model.md:
// - a text file ({ content }): small state files a toolstack keeps, read and
//   written whole by readFile/writeFile (one atomic step, like `cat` and
//   `echo >`), and readable through an fd;
// - a disk image ({ size, image, gen }): its bytes live in the WebAssembly
//   data plane (image `image`), read and written through fds, loop and dm.
//   `gen` counts writes, so a write shows in footprints and fingerprints
//   although the bytes are outside the store.
// No modes, owners or hard links; directories are implicit (vfs.ts).

import { declareKind } from "../sim/object-kind";
import { SysError } from "../sim/op";

export interface TextFile {
  content: string;
}

export interface ImageFile {
  /** Bytes. */
  size: number;
  /** The domain allowed to see this image's data (what `isolation` checks). */
  owner?: string;
  /** The data plane's image id. */
  image: number;
  /** Bumped by every write through any path. */
  gen: number;
}

export type FileObject = TextFile | ImageFile;

export const FILE = declareKind<FileObject, [domain: string, path: string]>("file", (domain, path) => `${domain}:${path}`);

/** The path a file key names (its tail after the domain). */
export function filePath(key: string): string {
  return FILE.tail(key, FILE.scopeOf(key));
}

export function isTextFile(f: FileObject): f is TextFile {
  return typeof (f as TextFile).content === "string";
}

export interface ImageIds {
  next: number;
}

/** `dataplane:images`: the next free image id of the data plane (shared by every domain, as the arena is). */
export const IMAGE_IDS = declareKind<ImageIds, []>("dataplane", () => "images");

/**
 * A path in canonical form: absolute, no empty, "." or ".." components, no
 * trailing slash. EINVAL for a relative path: processes have no working
 * directory in the model.
 */
export function normalizePath(path: unknown): string {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new SysError("EINVAL", `${JSON.stringify(path)}: not an absolute path (there is no working directory)`);
  }
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  if (out.join("/").length > 4095) throw new SysError("ENAMETOOLONG", "path longer than PATH_MAX");
  return `/${out.join("/")}`;
}
