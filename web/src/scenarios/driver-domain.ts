// A driver domain serves the disk, as Qubes can do with a storage domain:
// xl's `backend=storage` puts the backend directory under storage's tree,
// storage's blkback opens the device in storage's kernel, and `xl devd` in
// storage runs qubes-block there, on an image in storage's filesystem.
// dom0's toolstack only writes xenstore and waits.
//
// The same leak as vm-shutdown-leak, one domain further: the toolstack in
// dom0 destroys the VM and may die at any of its steps; the script's
// `remove` (which storage would run) is queued only by a living
// toolstack. On linux-6.1 without the series the loop device stays bound in
// storage; with v2 it is handed to storage's blkback (opened = 1), whose
// close, when the VM's frontend goes, clears it.
import { scenario } from "blocklab";

// storage is domid 1, work domid 2 (the order below).
const FE = "/local/domain/2/device/vbd/51712";
const PD = "/local/domain/1/backend/vbd/2/51712/physical-device";

export default scenario({
  title: "A driver domain serves the disk: the shutdown leak, in the storage domain",
  kernel: "linux-6.1",
  patches: "none",
  domains: { storage: { backend: true }, work: {} },
  files: { "/srv/images/work.img": { size: "64K", owner: "work", domain: "storage", fill: 0x11 } },
  actors: {
    // `xl block-attach ... backend=storage`, and once the guest reads its disk `xl destroy`, which may die.
    toolstack: {
      mayCrash: true,
      run: async (sys) => {
        await sys.xl.blockAttach("work", { target: "/srv/images/work.img", vdev: "xvda", script: "qubes-block", backend: "storage" });
        await sys.xenstore.waitFor("/local/domain/2/data/done", (v) => v === "1");
        await sys.xl.destroy("work");
      },
    },
    guest: {
      domain: "work",
      run: async (sys) => {
        await sys.disk.read("xvda", 0, 1);
        await sys.xenstore.write("data/done", "1");
      },
    },
  },
  // No "progress": a guest whose toolstack died before its disk connected waits for it forever, as a real one would.
  invariants: ["isolation", "no-leak"],
  sometimes: [
    {
      // The frontend directory is the guest's: it goes with the domain. qubes-block's remove deletes physical-device first.
      name: "work was destroyed before its disk's remove script ran in storage",
      check: (world) => world.xenstore(FE) === undefined && world.xenstore("/local/domain/2/control/shutdown") === undefined && world.xenstore(PD) !== undefined,
    },
  ],
});
