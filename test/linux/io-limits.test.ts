// pread and pwrite at the edges, as Linux answers them (docs/linux-model.md
// §4.4): a regular file past s_maxbytes gives
// EFBIG (generic_write_check_limits; the model's files end at the data
// plane's 4 TiB), a read past EOF 0 bytes; a block device reads 0 bytes at
// or past its end and writes ENOSPC there (blkdev_read_iter and
// blkdev_write_iter in block/fops.c), both cut short across it; and a write
// the arena cannot hold is ENOSPC, never an exception.

import type { Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import { Machine } from "../../web/src/api/machine";
import { CoreOutOfMemoryError } from "../../web/src/core/errors";
import { MAX_FILE_BYTES } from "../../web/src/linux/vfs";
import { outcome, runScript, started } from "./harness";

const T = 2 ** 40;

/** What each call answered, in order: its errno, or "ok:" and its value (a read as its length). */
async function answers(script: (sys: Sys, got: (p: Promise<unknown>) => Promise<void>) => Promise<void>, files = {}): Promise<string[]> {
  const out: string[] = [];
  const got = async (p: Promise<unknown>) => { out.push(await outcome(p.then((v) => (v instanceof Uint8Array ? v.length : v)))); };
  await runScript("linux-6.1", "none", (sys) => script(sys, got), files);
  return out;
}

describe("reads and writes at the limits", () => {
  it("a regular file: EFBIG at or past 4 TiB, a write across it cut short, 0 bytes past EOF", async () => {
    expect(MAX_FILE_BYTES).toBe(4 * T);
    const got = await answers(async (sys, got) => {
      const fd = await sys.open("/img/a", { write: true });
      await got(sys.write(fd, 5 * T, new Uint8Array([1])));
      await got(sys.write(fd, 4 * T, new Uint8Array([1])));
      await got(sys.write(fd, 4 * T, new Uint8Array(0)));
      await got(sys.write(fd, 4 * T - 1, new Uint8Array([1, 2])));
      await got(sys.stat("/img/a").then((s) => s.size));
      await got(sys.read(fd, 4 * T - 1, 10));
      await got(sys.read(fd, 4 * T, 10));
      await got(sys.read(fd, 2 ** 52, 10));
    }, { "/img/a": { size: "1M" } });
    expect(got).toEqual(["EFBIG", "EFBIG", "ok:0", "ok:1", `ok:${4 * T}`, "ok:1", "ok:0", "ok:0"]);
  });

  it("block devices: 0 bytes read and ENOSPC written at the end, cut short across it (dm over 8 TiB, loop over a 1M image)", async () => {
    const got = await answers(async (sys, got) => {
      await sys.dmsetup.create("z", "0 17179869184 zero");
      const z = await sys.open("/dev/mapper/z", { write: true });
      await got(sys.ioctl(z, "BLKGETSIZE64"));
      await got(sys.read(z, 6 * T, 512));
      await got(sys.write(z, 6 * T, new Uint8Array(512)));
      await got(sys.read(z, 8 * T, 512));
      await got(sys.write(z, 8 * T, new Uint8Array(512)));
      await got(sys.write(z, 8 * T - 256, new Uint8Array(512)));
      await got(sys.read(z, 8 * T - 256, 512));
      await sys.losetup.attach("/img/a");
      const l = await sys.open("/dev/loop0", { write: true });
      await got(sys.write(l, 5 * T, new Uint8Array(512)));
      await got(sys.read(l, 5 * T, 512));
      await got(sys.write(l, (1 << 20) - 256, new Uint8Array(512)));
    }, { "/img/a": { size: "1M" } });
    expect(got).toEqual([`ok:${8 * T}`, "ok:512", "ok:512", "ok:0", "ENOSPC", "ok:256", "ok:256", "ENOSPC", "ok:0", "ok:256"]);
  });

  it("a file write the arena has no room for: ENOSPC", async () => {
    const { exec } = await started({
      files: { "/img/a": { size: "1M" }, "/img/b": { size: "1M" }, "/answer": { content: "" } },
      actors: {
        t: async (sys) => {
          const fd = await sys.open("/img/a", { write: true });
          await sys.writeFile("/answer", await outcome(sys.write(fd, 0, new Uint8Array(4096))));
        },
      },
    });
    // Fill the arena behind the model's back: image 1 (/img/b) takes every frame left.
    const dp = (exec.spec.external as Machine).dp!;
    let off = 0;
    for (const size of [1 << 20, 4096]) {
      const chunk = new Uint8Array(size);
      expect(() => { for (;; off += size) dp.writeImage(1, off, chunk); }).toThrow(CoreOutOfMemoryError);
    }
    while (exec.enabled().length > 0) await exec.step({ actor: exec.enabled()[0]! });
    expect(exec.store.peek<{ content: string }>("file:dom0:/answer")?.content).toBe("ENOSPC");
  }, 60_000);
});
