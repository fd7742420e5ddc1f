// udev as its own actor: links appear after the kernel's step, in udev's own
// later step, so there is a window in which /dev/disk/by-diskseq still names
// the old incarnation; the order across devices is a choice point, each
// device's events stay in order.

import { describe, expect, it } from "vitest";
import type { Execution } from "../../web/src/sim/execution";
import { started } from "./harness";

const link = (exec: Execution, path: string) => exec.store.peek<{ target: string }>(`link:dom0:${path}`)?.target;

/** Steps the named actor once. */
async function stepOf(exec: Execution, name: string) {
  const i = exec.actors.findIndex((a) => a.who.name === name);
  return exec.step({ actor: i });
}

describe("udev", () => {
  it("boot's coldplug made by-diskseq links for loop0..7; an attach's link appears only at udev's step, and the old one goes", async () => {
    const { exec } = await started({
      files: { "/img/a": { size: "64K" } },
      actors: {
        t: async (sys) => {
          const fd = await sys.open("/dev/loop0", { write: true });
          const a = await sys.open("/img/a", { write: true });
          await sys.ioctl(fd, "LOOP_CONFIGURE", { fd: a });
        },
      },
    }, "linux-6.1.192");
    expect(link(exec, "/dev/disk/by-diskseq/1")).toBe("../../loop0");
    expect(link(exec, "/dev/disk/by-diskseq/8")).toBe("../../loop7");
    for (let i = 0; i < 3; i++) await stepOf(exec, "t");
    // The kernel bumped loop0 to 9 and queued uevents; udev has not run.
    expect(link(exec, "/dev/disk/by-diskseq/9")).toBeUndefined();
    expect(link(exec, "/dev/disk/by-diskseq/1")).toBe("../../loop0");
    expect(exec.enabled().map((i) => exec.actors[i]!.who.name)).toContain("kernel:udev");
    const udev = exec.actors.findIndex((a) => a.who.name === "kernel:udev");
    while (exec.isEnabled(udev)) await exec.step({ actor: udev });
    expect(link(exec, "/dev/disk/by-diskseq/9")).toBe("../../loop0");
    expect(link(exec, "/dev/disk/by-diskseq/1")).toBeUndefined();
  });

  it("events of two devices: which device goes first is a choice point; each device's events keep their order", async () => {
    const { exec } = await started({
      actors: {
        t: async (sys) => {
          const c = await sys.open("/dev/loop-control", { write: true });
          await sys.ioctl(c, "LOOP_CTL_ADD", 20);
          await sys.ioctl(c, "LOOP_CTL_ADD", 21);
          await sys.ioctl(c, "LOOP_CTL_REMOVE", 20);
        },
      },
    });
    for (let i = 0; i < 4; i++) await stepOf(exec, "t");
    const udev = exec.actors.findIndex((a) => a.who.name === "kernel:udev");
    const probe = exec.probe(udev);
    // Two queues (loop20: add, remove; loop21: add): the first step may take either.
    expect(probe.alternatives.map((t) => t.choices ?? [])).toEqual([[], [1]]);
    const rec = await exec.step({ actor: udev, choices: [1] });
    expect(rec.choicePoints).toEqual([{ name: "udev.device", options: 2, value: 1 }]);
    expect(link(exec, "/dev/disk/by-diskseq/10")).toBe("../../loop21");
    await exec.step({ actor: udev });
    expect(link(exec, "/dev/disk/by-diskseq/9")).toBe("../../loop20"); // loop20's add, before its remove
    await exec.step({ actor: udev });
    expect(link(exec, "/dev/disk/by-diskseq/9")).toBeUndefined();
    expect(exec.isEnabled(udev)).toBe(false);
  });

  it("opening a by-diskseq link follows it to the device", async () => {
    const { exec } = await started({
      actors: {
        t: async (sys) => {
          const fd = await sys.open("/dev/disk/by-diskseq/3");
          await sys.writeFile("/run/seq", String(await sys.ioctl(fd, "BLKGETDISKSEQ")));
          await sys.writeFile("/run/link", await sys.readlink("/dev/disk/by-diskseq/3"));
        },
      },
    });
    const t = exec.actors.findIndex((a) => a.who.name === "t");
    for (let i = 0; i < 6; i++) if (exec.isEnabled(t)) await exec.step({ actor: t });
    expect(exec.store.peek("file:dom0:/run/seq")).toEqual({ content: "3" });
    expect(exec.store.peek("file:dom0:/run/link")).toEqual({ content: "../../loop2" });
  });
});
