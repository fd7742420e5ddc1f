// A hotplug script that wants the loop device to go away by itself when the
// VM is done with it (LO_FLAGS_AUTOCLEAR: cleared at its last close) has to
// keep its own fd open until blkback holds the device, or its close is the
// last one and the device is cleared before blkback opens it. Without patch
// 7/7 nothing tells it when that is: it can close at once (too early: the
// guest gets an empty disk) or keep the device bound for a `remove` that a
// dead toolstack never runs (never: vm-shutdown-leak). Here it closes at
// once. With the v2 patches blkback writes `opened` = "0" at probe, so the
// script knows it can wait, and waits for "1".
import { scenario, type Sys } from "blocklab";

const IMAGE = "/var/lib/images/work.img";
const BE = "/local/domain/0/backend/vbd/1/51712";

async function handoff(sys: Sys, be: string, action?: string): Promise<void> {
  if (action === "remove") return; // autoclear: the device goes with blkback's close
  const opened = await sys.xenstore.read(`${be}/opened`).catch(() => undefined);
  const img = await sys.open(IMAGE, { write: true });
  const ctl = await sys.open("/dev/loop-control");
  const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
  const lo = await sys.open(`/dev/loop${n}`, { write: true, excl: true });
  await sys.ioctl(lo, "LOOP_CONFIGURE", { fd: img, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"] } });
  const seq = await sys.ioctl(lo, "BLKGETDISKSEQ");
  await sys.xenstore.transaction(async (tx) => {
    await tx.write(`${be}/physical-device`, `7:${n.toString(16)}`);
    await tx.write(`${be}/diskseq`, seq.toString(16));
  });
  // The hand-off: with `opened`, hold the device until blkback says it does.
  if (opened === "0") await sys.xenstore.waitFor(`${be}/opened`, (v) => v === "1");
  await sys.writeFile("/run/handoff-exit", "1");
  // Exit closes img, ctl and lo: with autoclear, the last close clears the device.
}

export default scenario({
  title: "The opened hand-off: when may a hotplug script let go of its loop device?",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {} },
  files: { [IMAGE]: { size: "64K", owner: "work", fill: 0x11 } },
  actors: {
    toolstack: async (sys) => {
      await sys.xl.blockAttach("work", { target: IMAGE, vdev: "xvda", script: handoff });
      await sys.xl.shutdown("work");
    },
  },
  invariants: [
    "no-leak",
    "progress",
    {
      name: "work's disk is work.img, not an empty device",
      // blkback writes `sectors` when it connects: 128 for the 64K image, 0 for a loop device already cleared.
      check: (world) => {
        const sectors = world.xenstore(`${BE}/sectors`);
        return sectors === undefined || sectors === "128" || `blkback connected work's disk with ${sectors} sectors: the loop device was cleared before blkback opened it`;
      },
    },
  ],
  sometimes: [
    {
      name: "the script was still holding the device when blkback opened it",
      check: (world) => world.xenstore(`${BE}/opened`) === "1" && world.readFile("dom0", "/run/handoff-exit") === undefined,
    },
  ],
});
