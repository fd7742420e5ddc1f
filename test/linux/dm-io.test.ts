// I/O through device-mapper over loop devices lands in the right image
// bytes (linear with an offset, striped across two images, zero, error, a
// suspended device), and dmsetup's create/info/table/ls/remove over Sys, run
// as ordinary scenarios in run mode.

import type { Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import { attachLoop, control, errnoOf, IMG } from "./dm-support";
import { runScript } from "./harness";

const FILES = IMG;

/** Writes `bytes` into an image at `offset` through an fd on the file itself. */
async function poke(sys: Sys, path: string, offset: number, bytes: number[]) {
  const fd = await sys.open(path, { write: true });
  await sys.write(fd, offset, new Uint8Array(bytes));
  await sys.close(fd);
}

async function peek(sys: Sys, path: string, offset: number, n: number): Promise<number[]> {
  const fd = await sys.open(path);
  const got = Array.from(await sys.read(fd, offset, n));
  await sys.close(fd);
  return got;
}

describe("I/O through dm over loop", () => {
  it("linear with an offset reads and writes the backing image at offset + sector", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.1.192", "none", async (sys) => {
      await poke(sys, "/img/a", 10 * 512, [1, 2, 3, 4]);
      await attachLoop(sys, 1, "a");
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "lin" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "lin", targets: [{ sector_start: 0, length: 100, target_type: "linear", params: "/dev/loop1 8" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "lin" });
      const fd = await sys.open("/dev/mapper/lin", { write: true });
      seen.push(Array.from(await sys.read(fd, 2 * 512, 5)));
      seen.push(await sys.ioctl(fd, "BLKGETSIZE64"));
      seen.push(await sys.write(fd, 99 * 512 + 510, new Uint8Array([7, 7, 7])));
      // The write is in dm-0's page cache until fsync writes it through the stack.
      seen.push(await peek(sys, "/img/a", (8 + 99) * 512 + 508, 5));
      await sys.fsync(fd);
      seen.push(await peek(sys, "/img/a", (8 + 99) * 512 + 508, 5));
      await sys.close(fd);
    }, FILES);
    expect(r.verdict).toBe("pass");
    // The write stops at the device's end (100 sectors): 2 of the 3 bytes.
    expect(seen).toEqual([[1, 2, 3, 4, 0xaa], 100 * 512, 2, [0xaa, 0xaa, 0xaa, 0xaa, 0xaa], [0xaa, 0xaa, 7, 7, 0xaa]]);
  });

  it("striped across two loop devices: chunk by chunk, alternating images; zero reads zeros and error fails with EIO", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.12", "none", async (sys) => {
      await attachLoop(sys, 1, "a");
      await attachLoop(sys, 2, "b");
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "st" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", {
        name: "st",
        targets: [
          { sector_start: 0, length: 32, target_type: "striped", params: "2 8 7:1 0 7:2 16" },
          { sector_start: 32, length: 8, target_type: "zero", params: "" },
          { sector_start: 40, length: 8, target_type: "error", params: "" },
        ],
      });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "st" });
      const fd = await sys.open("/dev/dm-0", { write: true });
      // Chunk 0 → loop1 sector 0, chunk 1 → loop2 sector 16, chunk 2 → loop1 sector 8, chunk 3 → loop2 sector 24.
      for (const chunk of [0, 1, 2, 3]) seen.push((await sys.read(fd, chunk * 8 * 512, 1))[0]);
      await sys.write(fd, 3 * 8 * 512, new Uint8Array([9]));
      await sys.fsync(fd);
      seen.push(await peek(sys, "/img/b", 24 * 512, 1));
      seen.push(Array.from(await sys.read(fd, 32 * 512, 2)));
      seen.push(await errnoOf(sys.read(fd, 40 * 512, 2)));
      await sys.close(fd);
    }, FILES);
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual([0xaa, 0xbb, 0xaa, 0xbb, [9], [0, 0], "EIO"]);
  });

  it("a suspended device's read waits for the resume of another actor (the step is not enabled before)", async () => {
    const order: string[] = [];
    const r = await runScript("linux-6.1.192", "none", async (sys) => {
      await attachLoop(sys, 1, "b");
      const ctl = await control(sys);
      await sys.ioctl(ctl, "DM_DEV_CREATE", { name: "s" });
      await sys.ioctl(ctl, "DM_TABLE_LOAD", { name: "s", targets: [{ sector_start: 0, length: 8, target_type: "linear", params: "7:1 0" }] });
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "s" });
      const fd = await sys.open("/dev/dm-0");
      await sys.ioctl(ctl, "DM_DEV_SUSPEND", { name: "s", flags: 2 });
      // Only this actor exists: the read can never run, so the run reports a deadlock.
      order.push("before");
      await sys.read(fd, 0, 1);
      order.push("after");
    }, FILES);
    expect(order).toEqual(["before"]);
    expect(r.verdict).toBe("violation");
  });
});

describe("dmsetup over Sys", () => {
  it("create, info, table, ls, remove; the table shows devices as M:m; /dev/mapper/NAME comes from udev", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.1.192", "none", async (sys) => {
      await attachLoop(sys, 1, "b");
      const info = await sys.dmsetup.create("vm", "0 2048 linear /dev/loop1 0\n", { uuid: "CRYPT-vm" });
      seen.push(info);
      seen.push(await sys.dmsetup.table("vm"));
      seen.push(await sys.dmsetup.ls());
      const fd = await sys.open("/dev/mapper/vm");
      seen.push((await sys.read(fd, 0, 1))[0]);
      seen.push((await sys.dmsetup.info("vm")).open_count);
      seen.push(await errnoOf(sys.dmsetup.remove("vm")));
      await sys.dmsetup.remove("vm", { deferred: true });
      seen.push((await sys.dmsetup.info("vm")).deferredRemove);
      await sys.close(fd);
      seen.push(await errnoOf(sys.dmsetup.info("vm")));
      seen.push(await sys.dmsetup.ls());
    }, FILES);
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual([
      { name: "vm", uuid: "CRYPT-vm", major: 254, minor: 0, open_count: 0, event_nr: 0, state: "ACTIVE", deferredRemove: false },
      "0 2048 linear 7:1 0",
      [{ name: "vm", major: 254, minor: 0 }],
      0xbb,
      1,
      "EBUSY",
      true,
      "ENXIO",
      [],
    ]);
  });

  it("suspend, load, resume: I/O waits while suspended, and a loaded table goes live at resume", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.1", "none", async (sys) => {
      await attachLoop(sys, 1, "b");
      await sys.dmsetup.create("vm", "0 128 linear /dev/loop1 0");
      seen.push((await sys.dmsetup.suspend("vm")).state);
      seen.push((await sys.dmsetup.load("vm", "0 64 zero")).state);
      seen.push(await sys.dmsetup.table("vm")); // still the live (linear) table
      seen.push((await sys.dmsetup.resume("vm")).state);
      seen.push(await sys.dmsetup.table("vm"));
      const fd = await sys.open("/dev/dm-0");
      seen.push(Array.from(await sys.read(fd, 0, 2)));
      seen.push(await sys.ioctl(fd, "BLKGETSIZE64"));
    }, FILES);
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual(["SUSPENDED", "SUSPENDED", "0 128 linear 7:1 0", "ACTIVE", "0 64 zero", [0, 0], 64 * 512]);
  });

  it("a bad table line is EINVAL before any ioctl; a table the kernel refuses removes the new device again", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.12", "none", async (sys) => {
      seen.push(await errnoOf(sys.dmsetup.create("x", "zero 8")));
      seen.push(await errnoOf(sys.dmsetup.create("y", "0 8 linear /dev/nosuch 0")));
      seen.push(await sys.dmsetup.ls());
      seen.push((await sys.dmsetup.create("z", "0 8 zero\n8 8 error")).minor);
      seen.push(await sys.dmsetup.table("z"));
    });
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual(["EINVAL", "ENOENT", [], 0, "0 8 zero\n8 8 error"]);
    const calls = r.trace!.steps.filter((s) => s.actor === "t").map((s) => s.call);
    expect(calls.slice(0, 7)).toEqual(["open", "ioctl DM_DEV_CREATE", "ioctl DM_TABLE_LOAD", "ioctl DM_DEV_REMOVE", "close", "open", "ioctl DM_LIST_DEVICES"]);
  });

  it("with dm-fd, create({ fd: true }) keeps the new device's fd open in the process; with deferredRemove it dies with that fd", async () => {
    const seen: unknown[] = [];
    const r = await runScript("linux-6.12", { "bdev-file": true, "dm-fd": "reject" }, async (sys) => {
      const made = await sys.dmsetup.create("vm", "0 8 zero", { fd: true, deferredRemove: true });
      seen.push(made.fd, made.open_count, made.deferredRemove);
      await sys.close(made.fd!);
      await sys.log("closed");
      seen.push(await errnoOf(sys.dmsetup.info("vm")));
    });
    expect(r.verdict).toBe("pass");
    expect(seen).toEqual([4, 1, true, "ENXIO"]);
  });
});
