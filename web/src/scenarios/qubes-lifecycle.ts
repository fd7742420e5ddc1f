// Several VMs started, used and stopped at once, the way Qubes runs them:
// each VM's toolstack attaches its disk with qubes-block, the guest reads
// it, and the toolstack destroys the VM, and that toolstack may die at any
// of its steps (a crash, an OOM kill, a restart of qubesd). Nothing may
// leak and no guest may see another's data, whatever the interleaving.
//
// On linux-6.1 without the series qubes-block cannot hand its loop device
// to blkback, so it keeps it bound for `remove`, which a dead toolstack
// never runs: no-leak fails. With the v2 patches each device is handed
// over (`opened`), cleared by blkback's close, and each backend checks the
// diskseq it was given: isolation and no-leak hold for these VMs.
//
// Exhaustive exploration proves that for one VM (`lifecycle(["work"])`, about
// 17,000 states) in a second or two. For three it does not end: the VMs'
// orders multiply (they share dom0's one xenwatch thread, its loop devices,
// its event channel ports), so what it explores is a bounded search.
import { scenario, type Sys } from "blocklab";

const image = (vm: string) => `/var/lib/images/${vm}.img`;

function toolstack(vm: string, domid: number) {
  return {
    mayCrash: true,
    run: async (sys: Sys) => {
      await sys.xl.blockAttach(vm, { target: image(vm), vdev: "xvda", script: "qubes-block" });
      await sys.xenstore.waitFor(`/local/domain/${domid}/data/done`, (v) => v === "1");
      await sys.xl.destroy(vm);
    },
  };
}

function guest(vm: string) {
  return {
    domain: vm,
    run: async (sys: Sys) => {
      await sys.disk.read("xvda", 0, 1);
      await sys.xenstore.write("data/done", "1");
    },
  };
}

/** The life cycle of these VMs (domids 1, 2, ... in this order), each with its own toolstack. */
export function lifecycle(vms: readonly string[]) {
  return scenario({
    title: "Qubes life cycle: VMs started, used and stopped at once, toolstacks that may die",
    kernel: "linux-6.1",
    patches: "none",
    domains: Object.fromEntries(vms.map((vm) => [vm, {}])),
    files: Object.fromEntries(vms.map((vm, i) => [image(vm), { size: "64K", owner: vm, fill: 0x11 * (i + 1) }])),
    actors: Object.fromEntries(vms.flatMap((vm, i) => [[`toolstack-${vm}`, toolstack(vm, i + 1)], [`guest-${vm}`, guest(vm)]])),
    // No "progress": a guest whose toolstack died before its disk connected waits for it forever, as a real one would.
    invariants: ["isolation", "no-leak"],
    sometimes: [
      {
        name: "every VM's disk was connected at once",
        check: (world) => vms.every((_, i) => world.xenstore(`/local/domain/${i + 1}/device/vbd/51712/state`) === "4"),
      },
    ],
  });
}

export default lifecycle(["work", "vault", "personal"]);
