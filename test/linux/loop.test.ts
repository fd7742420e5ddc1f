// The loop driver and loop-control against docs/linux-model.md §5.1-5.2:
// the errno of every ioctl in every state, per base kernel, the ioctls that
// land on the wrong fd (§5.8), diskseq along a device's life, autoclear, the
// patch switches, I/O through a loop device, and a killed process's fds.

import type { Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { verify } from "../../web/src/sim/verify";
import { outcome, runScript, started } from "./harness";

async function runScriptAs(privileged: boolean, script: (sys: Sys) => Promise<void>) {
  const b = buildScenario({ files: IMG, actors: { t: { privileged, run: script } }, invariants: ["progress"] }, resolveConfig("linux-6.1", "none"));
  return verify(b.spec, b.props, { mode: "run" });
}

const IMG = { "/img/a": { size: "64K", fill: 0xaa }, "/img/b": { size: "64K", fill: 0xbb } } as const;

type State = "unbound" | "bound" | "rundown";

/** Puts loop0 into `state` and returns an fd on it (rundown: only on 6.12, by LOOP_CLR_FD as sole opener). */
async function loopIn(sys: Sys, state: State): Promise<number> {
  const fd = await sys.open("/dev/loop0", { write: true });
  if (state === "unbound") return fd;
  const img = await sys.open("/img/a", { write: true });
  await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: img });
  await sys.close(img);
  if (state === "rundown") await sys.ioctl(fd, "LOOP_CLR_FD");
  return fd;
}

/** What each ioctl answers in each state: docs/linux-model.md's "Errno by loop state" table. */
const TABLE: Record<string, Record<State, string>> = {
  LOOP_CONFIGURE: { unbound: "ok:0", bound: "EBUSY", rundown: "EBUSY" },
  LOOP_SET_FD: { unbound: "ok:0", bound: "EBUSY", rundown: "EBUSY" },
  LOOP_CLR_FD: { unbound: "ENXIO", bound: "ok:0", rundown: "ENXIO" },
  LOOP_SET_STATUS64: { unbound: "ENXIO", bound: "ok:0", rundown: "ENXIO" },
  LOOP_GET_STATUS64: { unbound: "ENXIO", bound: "ok", rundown: "ENXIO" },
  LOOP_CHANGE_FD: { unbound: "ENXIO", bound: "EINVAL", rundown: "ENXIO" },
  LOOP_SET_CAPACITY: { unbound: "ENXIO", bound: "ok:0", rundown: "ENXIO" },
  BLKGETDISKSEQ: { unbound: "ok", bound: "ok", rundown: "ok" },
  open: { unbound: "ok", bound: "ok", rundown: "ENXIO" },
};

async function call(sys: Sys, fd: number, name: string): Promise<string> {
  const b = await sys.open("/img/b", { write: true });
  let r: string;
  switch (name) {
    case "open": r = await outcome(sys.open("/dev/loop0")); break;
    case "LOOP_CONFIGURE": r = await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: b })); break;
    case "LOOP_SET_FD": r = await outcome(sys.ioctl(fd, "LOOP_SET_FD", b)); break;
    case "LOOP_CHANGE_FD": r = await outcome(sys.ioctl(fd, "LOOP_CHANGE_FD", b)); break;
    case "LOOP_SET_STATUS64": r = await outcome(sys.ioctl(fd, "LOOP_SET_STATUS64", { lo_offset: 0 })); break;
    default: r = await outcome(sys.ioctl(fd, name as "LOOP_CLR_FD"));
  }
  // "ok" alone where the value is not the point (status, diskseq, fd numbers)
  return ["LOOP_GET_STATUS64", "BLKGETDISKSEQ", "open"].includes(name) && r.startsWith("ok") ? "ok" : r;
}

describe("loop ioctls: the errno of each command in each state", () => {
  for (const kernel of ["linux-6.1", "linux-6.1.192", "linux-6.12"] as const) {
    const states: State[] = kernel === "linux-6.12" ? ["unbound", "bound", "rundown"] : ["unbound", "bound"];
    for (const state of states) {
      it(`${kernel}, ${state}`, async () => {
        const got: Record<string, string> = {};
        const want: Record<string, string> = {};
        for (const name of Object.keys(TABLE)) {
          want[name] = TABLE[name]![state];
          await runScript(kernel, "none", async (sys) => {
            const fd = await loopIn(sys, state);
            got[name] = await call(sys, fd, name);
          }, IMG);
        }
        expect(got).toEqual(want);
      });
    }
  }

  it("rundown exists only on 6.12: on 6.1 LOOP_CLR_FD by the sole opener detaches at once", async () => {
    for (const [kernel, after] of [["linux-6.1", "ENXIO"], ["linux-6.12", "ENXIO"]] as const) {
      let status = "";
      let reopen = "";
      await runScript(kernel, "none", async (sys) => {
        const fd = await loopIn(sys, "bound");
        await sys.ioctl(fd, "LOOP_CLR_FD");
        status = await outcome(sys.ioctl(fd, "LOOP_GET_STATUS64"));
        reopen = await outcome(sys.open("/dev/loop0"));
      }, IMG);
      expect(status).toBe(after);
      expect(reopen.startsWith(kernel === "linux-6.12" ? "ENXIO" : "ok")).toBe(true);
    }
  });
});

describe("LOOP_CONFIGURE checks in the kernel's order", () => {
  it("EBADF for a backing fd that is not open, EBUSY while bound before a bad backing, EINVAL for a directory before a bad flag", async () => {
    const got: string[] = [];
    await runScript("linux-6.1", "none", async (sys) => {
      const fd = await sys.open("/dev/loop0", { write: true });
      const dir = await sys.open("/img", { directory: true });
      const a = await sys.open("/img/a", { write: true });
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: 99 })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: dir, info: { lo_flags: 1 << 10 } })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, info: { lo_flags: 1 << 10 } })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, block_size: 1000 })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: fd })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"], lo_file_name: "x".repeat(100) } })));
      got.push(await outcome(sys.ioctl(fd, "LOOP_CONFIGURE", { fd: dir })));
      const st = await sys.ioctl(fd, "LOOP_GET_STATUS64");
      got.push(`${st.lo_flags} ${st.lo_file_name!.length}`);
    }, IMG);
    expect(got).toEqual(["EBADF", "EINVAL", "EINVAL", "EINVAL", "EBADF", "ok:0", "EBUSY", "4 63"]);
  });

  it("a loop device opened read-only, or over a read-only backing fd, is bound read-only; writes then fail with EPERM", async () => {
    const got: string[] = [];
    await runScript("linux-6.1", "none", async (sys) => {
      const fd = await sys.open("/dev/loop0", { write: true });
      const a = await sys.open("/img/a");
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a });
      got.push(String((await sys.ioctl(fd, "LOOP_GET_STATUS64")).lo_flag_names));
      got.push(await outcome(sys.write(fd, 0, new Uint8Array(512))));
      got.push((await sys.readFile("/sys/block/loop0/ro")).trim());
    }, IMG);
    expect(got).toEqual(["LO_FLAGS_READ_ONLY", "EPERM", "1"]);
  });

  it("a loop device cannot be bound to itself (EBADF) nor over an unbound one (EINVAL); a stack of loops reads the image", async () => {
    const got: string[] = [];
    await runScript("linux-6.1", "none", async (sys) => {
      const l0 = await sys.open("/dev/loop0", { write: true });
      const l1 = await sys.open("/dev/loop1", { write: true });
      got.push(await outcome(sys.ioctl(l0, "LOOP_SET_FD", l0)));
      got.push(await outcome(sys.ioctl(l0, "LOOP_SET_FD", l1)));
      const a = await sys.open("/img/a", { write: true });
      await sys.ioctl(l0, "LOOP_SET_FD", a);
      await sys.ioctl(l1, "LOOP_SET_FD", l0);
      const l2 = await sys.open("/dev/loop2", { write: true });
      await sys.ioctl(l2, "LOOP_SET_FD", l1);
      got.push(String((await sys.read(l2, 0, 2))[1]));
      got.push((await sys.readFile("/sys/block/loop2/loop/backing_file")).trim());
    }, IMG);
    expect(got).toEqual(["EBADF", "EINVAL", String(0xaa), "/dev/loop1"]);
  });
});

describe("loop-control", () => {
  it("ADD, REMOVE and GET_FREE with their errnos; a failed ADD uses no diskseq; nothing is reserved", async () => {
    const got: string[] = [];
    await runScript("linux-6.1.192", "none", async (sys) => {
      const c = await sys.open("/dev/loop-control", { write: true });
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_ADD", 20)));
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_ADD", 20)));
      got.push((await sys.readFile("/sys/block/loop20/diskseq")).trim());
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_ADD", -1)));
      got.push((await sys.readFile("/sys/block/loop8/diskseq")).trim());
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_REMOVE", -1)));
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_REMOVE", 30)));
      const fd = await sys.open("/dev/loop3");
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_REMOVE", 3)));
      await sys.close(fd);
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_REMOVE", 3)));
      got.push(await outcome(sys.stat("/dev/loop3")));
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_GET_FREE")));
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_GET_FREE")));
      const l0 = await loopIn(sys, "bound");
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_REMOVE", 0)));
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_GET_FREE")));
      await sys.close(l0);
      got.push(await outcome(sys.ioctl(c, "LOOP_CTL_ADD", -1)));
    }, IMG);
    expect(got).toEqual(["ok:20", "EEXIST", "9", "ok:8", "10", "EINVAL", "ENODEV", "EBUSY", "ok:0", "ENOENT", "ok:0", "ok:0", "EBUSY", "ok:1", "ok:3"]);
  });

  it("an open by number below max_loop re-creates a removed loop device (loop_probe); at or above it gives ENXIO", async () => {
    const got: string[] = [];
    await runScript("linux-6.1", "none", async (sys) => {
      const c = await sys.open("/dev/loop-control", { write: true });
      await sys.ioctl(c, "LOOP_CTL_REMOVE", 7);
      await sys.ioctl(c, "LOOP_CTL_ADD", 20);
      await sys.ioctl(c, "LOOP_CTL_REMOVE", 20);
      await sys.mknod("/tmp/7-7", { type: "block", major: 7, minor: 7 });
      await sys.mknod("/tmp/7-20", { type: "block", major: 7, minor: 20 });
      got.push(await outcome(sys.open("/tmp/7-20")));
      const fd = await sys.open("/tmp/7-7");
      got.push(String(await sys.ioctl(fd, "BLKGETDISKSEQ")));
      got.push(await outcome(sys.stat("/dev/loop7").then((s) => s.type)));
    });
    expect(got).toEqual(["ENXIO", "10", 'ok:"block"']);
  });
});

describe("ioctls on the wrong fd (docs/linux-model.md §5.8)", () => {
  it("answers as the kernel's file operations do", async () => {
    const got: Record<string, string> = {};
    await runScript("linux-6.1", "none", async (sys) => {
      const loop = await sys.open("/dev/loop0");
      const ctl = await sys.open("/dev/loop-control");
      const mapper = await sys.open("/dev/mapper/control");
      const file = await sys.open("/img/a");
      got["LOOP_CTL_GET_FREE on loop0"] = await outcome(sys.ioctl(loop, "LOOP_CTL_GET_FREE"));
      got["DM_VERSION on loop0"] = await outcome(sys.ioctl(loop, "DM_VERSION", {}));
      got["LOOP_CLR_FD on loop-control"] = await outcome(sys.ioctl(ctl, "LOOP_CLR_FD"));
      got["BLKGETDISKSEQ on loop-control"] = await outcome(sys.ioctl(ctl, "BLKGETDISKSEQ"));
      got["LOOP_CTL_ADD on mapper/control"] = await outcome(sys.ioctl(mapper, "LOOP_CTL_ADD", 1));
      got["BLKGETDISKSEQ on a file"] = await outcome(sys.ioctl(file, "BLKGETDISKSEQ"));
      got["an unknown name"] = await outcome(sys.ioctl(loop, "FIFREEZE" as "BLKGETDISKSEQ"));
      got["a closed fd"] = await outcome(sys.ioctl(42, "BLKGETDISKSEQ"));
    }, IMG);
    expect(got).toEqual({
      "LOOP_CTL_GET_FREE on loop0": "EINVAL",
      "DM_VERSION on loop0": "EINVAL",
      "LOOP_CLR_FD on loop-control": "ENOSYS",
      "BLKGETDISKSEQ on loop-control": "ENOSYS",
      "LOOP_CTL_ADD on mapper/control": "ENOTTY",
      "BLKGETDISKSEQ on a file": "ENOTTY",
      "an unknown name": "ENOTTY",
      "a closed fd": "EBADF",
    });
  });
});

describe("privilege", () => {
  it("an unprivileged process gets EACCES opening device nodes and EPERM from mknod; files, sysfs and links are open to it", async () => {
    const got: string[] = [];
    const r = await runScriptAs(false, async (sys) => {
      got.push(await outcome(sys.open("/dev/loop0")));
      got.push(await outcome(sys.open("/dev/loop-control")));
      got.push(await outcome(sys.open("/dev/mapper/control", { write: true })));
      got.push(await outcome(sys.mknod("/tmp/x", { type: "block", major: 7, minor: 0 })));
      got.push(await outcome(sys.mknod("/dev/loop0", { type: "block", major: 7, minor: 0 })));
      got.push(await outcome(sys.readFile("/sys/block/loop0/diskseq")));
      got.push(await outcome(sys.open("/img/a").then(() => "fd")));
    });
    expect(r.verdict).toBe("pass");
    expect(got).toEqual(["EACCES", "EACCES", "EACCES", "EPERM", "EEXIST", 'ok:"1\\n"', 'ok:"fd"']);
  });
});

describe("diskseq along a loop device's life, per kernel and switch", () => {
  /** attach, detach, attach again: the diskseq after each, and loop1's sysfs after a second device attaches. */
  async function life(kernel: "linux-6.1" | "linux-6.1.192" | "linux-6.12", patches: "none" | ["loop-release-diskseq"]) {
    const seqs: number[] = [];
    await runScript(kernel, patches, async (sys) => {
      const fd = await sys.open("/dev/loop0", { write: true });
      const a = await sys.open("/img/a", { write: true });
      seqs.push(await sys.ioctl(fd, "BLKGETDISKSEQ"));
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a });
      seqs.push(await sys.ioctl(fd, "BLKGETDISKSEQ"));
      await sys.ioctl(fd, "LOOP_CLR_FD");
      await sys.close(fd);
      const again = await sys.open("/dev/loop0", { write: true });
      seqs.push(await sys.ioctl(again, "BLKGETDISKSEQ"));
    }, IMG);
    return seqs;
  }
  it("linux-6.1 keeps it; patch 4/7 bumps at detach; 6.1.192 and 6.12 bump at attach and detach, and twice at detach with the patch", async () => {
    expect(await life("linux-6.1", "none")).toEqual([1, 1, 1]);
    expect(await life("linux-6.1", ["loop-release-diskseq"])).toEqual([1, 1, 9]);
    expect(await life("linux-6.1.192", "none")).toEqual([1, 9, 10]);
    expect(await life("linux-6.1.192", ["loop-release-diskseq"])).toEqual([1, 9, 11]);
    expect(await life("linux-6.12", "none")).toEqual([1, 9, 10]);
  });
});

describe("autoclear, and patch 5/7", () => {
  async function autoclearLife(patches: "none" | ["loop-autoclear-delete"]) {
    const got: string[] = [];
    await runScript("linux-6.1", patches, async (sys) => {
      const fd = await sys.open("/dev/loop0", { write: true });
      const a = await sys.open("/img/a", { write: true });
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"] } });
      await sys.close(a);
      got.push((await sys.readFile("/sys/block/loop0/loop/backing_file")).trim());
      await sys.close(fd); // the last close: autoclear detaches, in this very call
      got.push(await outcome(sys.readFile("/sys/block/loop0/loop/backing_file")));
      got.push(await outcome(sys.stat("/dev/loop0").then((s) => s.type)));
      await sys.mknod("/tmp/7-0", { type: "block", major: 7, minor: 0 });
      const re = await sys.open("/tmp/7-0");
      got.push(await outcome(sys.ioctl(re, "LOOP_GET_STATUS64")));
      got.push(String(await sys.ioctl(re, "BLKGETDISKSEQ")));
    }, IMG);
    return got;
  }
  it("without it, the device stays (unbound, same node); with it, the device is deleted and an open by number makes a new one", async () => {
    expect(await autoclearLife("none")).toEqual(["/img/a", "ENOENT", 'ok:"block"', "ENXIO", "1"]);
    expect(await autoclearLife(["loop-autoclear-delete"])).toEqual(["/img/a", "ENOENT", "ENOENT", "ENXIO", "9"]);
  });

  it("a process that ends with fds open: exit closes them in one step, and an autoclear device detaches there", async () => {
    const r = await runScript("linux-6.1", "none", async (sys) => {
      const fd = await sys.open("/dev/loop0", { write: true });
      const a = await sys.open("/img/a", { write: true });
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"] } });
    }, IMG);
    const last = r.trace!.steps.filter((s) => s.actor === "t").at(-1)!;
    expect(last.call).toBe("exit");
    expect(last.writes).toContain("loop:dom0:0");
    const none = await runScript("linux-6.1", "none", async (sys) => { await sys.readFile("/sys/block/loop0/diskseq"); });
    expect(none.trace!.steps.map((s) => s.call)).toEqual(["readFile"]);
  });

  it("a process killed while holding the last fd of an autoclear device: its fds are closed and the device detaches", async () => {
    const { exec } = await started({
      files: IMG,
      actors: {
        t: {
          mayCrash: true,
          run: async (sys) => {
            const fd = await sys.open("/dev/loop0", { write: true });
            const a = await sys.open("/img/a", { write: true });
            await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"] } });
            await sys.log("bound");
          },
        },
      },
    });
    const t = exec.actors.findIndex((a) => a.who.name === "t");
    for (let i = 0; i < 3; i++) await exec.step({ actor: t });
    expect(exec.store.peek<{ state: string }>("loop:dom0:0")!.state).toBe("bound");
    await exec.step({ actor: t, kill: true });
    expect(exec.store.peek<{ state: string }>("loop:dom0:0")!.state).toBe("unbound");
    expect(exec.store.peek("fdtable:dom0:t")).toBeUndefined();
  });
});

describe("I/O through a loop device", () => {
  it("reads the image's bytes from lo_offset, stops at the end, writes land in the image, and an unbound device reads nothing", async () => {
    const got: string[] = [];
    await runScript("linux-6.1", "none", async (sys) => {
      const img = await sys.open("/img/a", { write: true });
      await sys.write(img, 4096, new Uint8Array([1, 2, 3]));
      const fd = await sys.open("/dev/loop0", { write: true });
      got.push(String(await sys.read(fd, 0, 4).then((b) => b.length)));
      await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: img, info: { lo_offset: 4096 } });
      got.push(Array.from(await sys.read(fd, 0, 4)).join(","));
      got.push(String(await sys.ioctl(fd, "BLKGETSIZE64")));
      got.push(String((await sys.read(fd, 60 * 1024 - 2, 10)).length));
      await sys.write(fd, 1, new Uint8Array([9, 9]));
      // In loop0's page cache until fsync writes it to the image.
      got.push(Array.from(await sys.read(img, 4096, 4)).join(","));
      await sys.fsync(fd);
      got.push(Array.from(await sys.read(img, 4096, 4)).join(","));
      got.push(await outcome(sys.write(fd, 60 * 1024, new Uint8Array(1))));
    }, IMG);
    expect(got).toEqual(["0", "1,2,3,170", String(60 * 1024), "2", "1,2,3,170", "1,9,9,170", "ENOSPC"]);
  });
});

describe("no-stale-open: a (dev_t, diskseq) pair never names two incarnations", () => {
  /** Reads loop0's pair bound to a, detaches, binds b to it, reads the pair again (a second process). */
  async function rebind(kernel: "linux-6.1" | "linux-6.1.192", patches: "none" | ["loop-release-diskseq"]) {
    const { b, exec } = await started({
      files: IMG,
      invariants: ["no-stale-open"],
      actors: {
        first: async (sys) => {
          const fd = await sys.open("/dev/loop0", { write: true });
          const a = await sys.open("/img/a", { write: true });
          await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a });
          await sys.ioctl(fd, "BLKGETDISKSEQ");
          await sys.ioctl(fd, "LOOP_CLR_FD");
        },
        second: async (sys) => {
          const fd = await sys.open("/dev/loop0", { write: true });
          const img = await sys.open("/img/b", { write: true });
          await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: img });
          await sys.readFile("/sys/block/loop0/diskseq");
        },
      },
    }, kernel, patches);
    void exec;
    return verify(b.spec, b.props, { mode: "run" });
  }

  it("on linux-6.1 a re-bound loop device keeps its pair: violated, naming both files and both readers", async () => {
    const r = await rebind("linux-6.1", "none");
    expect(r.verdict).toBe("violation");
    expect(r.violations[0]!.invariant).toBe("no-stale-open");
    expect(r.violations[0]!.message).toMatch(/\(7:0, diskseq 1\).*loop0 bound to \/img\/a when first read it.*loop0 bound to \/img\/b when second read it/);
  });

  it("patch 4/7, and kernels that bump at every media change, give every binding its own pair: holds", async () => {
    expect((await rebind("linux-6.1", ["loop-release-diskseq"])).verdict).toBe("pass");
    expect((await rebind("linux-6.1.192", "none")).verdict).toBe("pass");
  });
});
