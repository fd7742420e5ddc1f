// VM work's disk is attached with Qubes' hotplug script: it binds work.img
// to a free loop device and publishes the device's number in
// physical-device. blkback opens that number later, when its watch fires.
// Meanwhile another toolstack, cleaning up after an old VM by the name it
// remembers, detaches /dev/loop0 and attaches vault's image, which may land
// on the very same loop device. If blkback opens 7:0 after that, VM work is
// given vault's disk.
//
// On linux-6.1 with no patches, qubes-block cannot hand the device over
// (blkback writes no `opened`), so it lets go when it exits and the slot can
// be re-bound before blkback's open: a violation of `isolation`. With the v2
// patches, blkback writes `opened`, the script keeps its O_EXCL fd until
// blkback says it holds the device (the cleanup's LOOP_CLR_FD only marks
// autoclear then), and blkback checks the diskseq the script published.
import { scenario } from "blocklab";

const PD = "/local/domain/0/backend/vbd/1/51712/physical-device";
const OPENED = "/local/domain/0/backend/vbd/1/51712/opened";

export default scenario({
  title: "Loop slot reused before blkback opens it",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {}, vault: {} },
  files: {
    "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 },
    "/var/lib/images/vault.img": { size: "64K", owner: "vault", fill: 0x22 },
  },
  actors: {
    toolstack: async (sys) => {
      await sys.xl.blockAttach("work", { target: "/var/lib/images/work.img", vdev: "xvda", script: "qubes-block" });
    },
    cleanup: async (sys) => {
      // A stale name: loop0 was vault's device before a reboot of the toolstack.
      try {
        await sys.losetup.detach("/dev/loop0");
      } catch {
        return;
      }
      await sys.writeFile("/run/cleanup-detached", "1");
      await sys.losetup.attach("/var/lib/images/vault.img");
    },
  },
  invariants: ["isolation", "progress"],
  sometimes: [
    {
      name: "the cleanup's detach of loop0 landed after physical-device was published and before blkback held the device",
      check: (world) =>
        world.readFile("dom0", "/run/cleanup-detached") === "1" && world.xenstore(PD) === "7:0" && world.xenstore(OPENED) !== "1",
    },
  ],
});
