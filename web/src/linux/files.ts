// Ordinary files of each domain: where the model of the Linux kernel starts.
//
// A file is one store object, `file:<domain>:<path>`, so that each step's
// footprint names exactly the files it touched, and two actors racing on one
// file are seen as dependent while work on different files commutes.
//
// What this simplifies, on purpose, until the kernel model grows:
// - no directories: any absolute path may be created, with no parent to
//   exist first and no EISDIR/ENOTDIR; a path is a plain key, not
//   normalised ("/a//b" and "/a/b" are two files); a relative path is EINVAL
//   (there is no working directory);
// - no fds, modes, owners, links or page cache: readFile and writeFile act
//   on the whole file at once, atomically (one step), like a small
//   `cat` / `echo >` with nothing in between;
// - an image file ({ size, owner }) records only its size and the VM it
//   belongs to: its bytes live in the WebAssembly data plane, which these
//   calls do not reach yet, so reading one as text fails with ENOSYS.

import { SysError, type Op } from "../sim/op";

/** A small text file, e.g. a state file a toolstack keeps in /run. */
export interface TextFile {
  content: string;
}

/** A disk image; its bytes belong to the data plane. */
export interface ImageFile {
  /** Bytes. */
  size: number;
  /** The domain allowed to see this image's data (what `isolation` will check). */
  owner?: string;
}

export type FileObject = TextFile | ImageFile;

export function fileKey(domain: string, path: string): string {
  return `file:${domain}:${path}`;
}

export function isTextFile(f: FileObject): f is TextFile {
  return typeof (f as TextFile).content === "string";
}

function checkAbsolute(path: string): void {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new SysError("EINVAL", `${JSON.stringify(path)}: not an absolute path (there is no working directory)`);
  }
}

/** The whole text of a file; ENOENT when missing. */
export function readFile(domain: string, path: string): Op<string> {
  return {
    call: "readFile",
    args: [path],
    run: ({ store }) => {
      checkAbsolute(path);
      const f = store.get<FileObject>(fileKey(domain, path));
      if (f === undefined) throw new SysError("ENOENT", `${path}: no such file or directory`);
      if (!isTextFile(f)) throw new SysError("ENOSYS", `${path} is a disk image: its bytes are not emulated as text yet`);
      return f.content;
    },
  };
}

/** Creates the file or replaces its whole content; EINVAL for a relative path. */
export function writeFile(domain: string, path: string, text: string): Op<void> {
  return {
    call: "writeFile",
    args: [path, text],
    run: ({ store }) => {
      checkAbsolute(path);
      if (typeof text !== "string") throw new SysError("EINVAL", `writeFile takes text, got ${typeof text}`);
      store.set(fileKey(domain, path), { content: text } satisfies TextFile);
    },
  };
}

/** Whether the file exists: a read of its key, never a failure. */
export function exists(domain: string, path: string): Op<boolean> {
  return {
    call: "exists",
    args: [path],
    run: ({ store }) => typeof path === "string" && path.startsWith("/") && store.has(fileKey(domain, path)),
  };
}
