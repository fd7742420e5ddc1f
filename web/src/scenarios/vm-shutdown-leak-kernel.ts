// The kernel half of "nothing outlives its VM". A toolstack brings up VM
// work's disk: a loop device over the image (with autoclear, so it goes
// with its last user) and a dm device "vm-work" over it. At shutdown it
// removes both. If the toolstack dies in between (killed, crashed: the
// explorer tries every step), nobody removes them: the dm device and the
// loop device under it outlive the VM. With patch 2/7 (`dm-fd`, preset
// rfc-v1) the toolstack creates the dm device with an fd and
// DM_DEFERRED_REMOVE: the device dies with its last opener, which is the
// toolstack itself, and its table's close lets the autoclear loop device
// go too. The teaching switch `rfc-dm-refcount-bug` shows what the RFC's
// double-counted open would do: the device is never removed.
import { scenario, type Sys } from "blocklab";

async function toolstack(sys: Sys): Promise<void> {
  const img = await sys.open("/img/work.img", { write: true });
  const loop = await sys.open("/dev/loop0", { write: true });
  await sys.ioctl(loop, "LOOP_CONFIGURE", { fd: img, info: { lo_flags: ["LO_FLAGS_AUTOCLEAR"] } });
  await sys.close(img);
  const dm = await sys.dmsetup.create("vm-work", "0 128 linear /dev/loop0 0", { fd: true, deferredRemove: true });
  await sys.close(loop); // the dm table holds the loop device now
  await sys.writeFile("/run/vm-work.up", `dm-${dm.minor}`);
  // ... VM work runs ...
  if (dm.fd !== undefined) await sys.close(dm.fd); // the device goes with its last opener
  else await sys.dmsetup.remove("vm-work");
  await sys.writeFile("/run/vm-work.down", "done");
}

export default scenario({
  title: "VM shutdown leak (kernel half): devices outlive a dead toolstack",
  kernel: "linux-6.1",
  files: { "/img/work.img": { size: "64K", owner: "work" } },
  domains: { work: {} },
  actors: { toolstack: { run: toolstack, mayCrash: true } },
  invariants: [
    "progress",
    {
      name: "nothing of VM work outlives it",
      atEnd: true,
      check: (world) => {
        const left = world.devices("dom0").filter((d) => d.dmName === "vm-work" || d.backing === "/img/work.img").map((d) => d.name);
        return left.length > 0 ? `${left.join(" and ")} of VM work still exist after its toolstack is gone` : undefined;
      },
    },
  ],
  sometimes: [
    {
      name: "the toolstack died while VM work's devices were up",
      atEnd: true,
      check: (world) => world.exists("dom0", "/run/vm-work.up") && !world.exists("dom0", "/run/vm-work.down"),
    },
  ],
});
