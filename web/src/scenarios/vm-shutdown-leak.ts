// VM work's disk is attached with Qubes' hotplug script; later the VM goes
// (`xl destroy`, what libxl does once a guest has powered off), and that
// run of the toolstack may die at any of its steps (a crash, an OOM kill, a
// restart of the management daemon). Tearing down the loop device is the
// job of the script's `remove`, which the toolstack runs after the domain
// is destroyed: if it dies in between, nobody runs it.
//
// On linux-6.1 with no patches blkback writes no `opened`, so qubes-block
// cannot hand the device over: it keeps it bound for `remove`, and a
// toolstack killed after the VM's death leaks it. With the v2 patches the
// script binds the device with autoclear and hands it to blkback
// (`opened` = 1), so blkback's close, when the dead VM's frontend goes, is
// the last one and clears it; loop-autoclear-delete (5/7) deletes the
// device too. The kernel half (dm devices, DM_DEFERRED_REMOVE) is
// vm-shutdown-leak-kernel.
import { scenario } from "blocklab";

const FE = "/local/domain/1/device/vbd/51712";
const PD = "/local/domain/0/backend/vbd/1/51712/physical-device";

export default scenario({
  title: "VM shutdown leak (Xen half): a toolstack killed after the VM's death never runs remove",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {} },
  files: { "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 } },
  actors: {
    // `xl block-attach`, and once the guest uses its disk `xl destroy`: two runs of the toolstack, the second of which may die.
    attach: async (sys) => {
      await sys.xl.blockAttach("work", { target: "/var/lib/images/work.img", vdev: "xvda", script: "qubes-block" });
    },
    destroy: {
      mayCrash: true,
      run: async (sys) => {
        await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "4");
        await sys.xl.destroy("work");
      },
    },
  },
  invariants: ["no-leak", "progress"],
  sometimes: [
    {
      // The frontend directory is the guest's: it goes with the domain. qubes-block's remove deletes physical-device first.
      name: "work was destroyed before its disk's remove script ran",
      check: (world) => world.xenstore("/local/domain/1/control/shutdown") === undefined && world.xenstore(FE) === undefined && world.xenstore(PD) !== undefined,
    },
  ],
});
