// Two toolstacks start a VM each at the same moment, and each attaches its
// VM's disk image to a free loop device the way a short script would:
// ask loop-control for a free device, open it, bind the image. "Free" is
// only true when LOOP_CTL_GET_FREE answers: the other toolstack can bind
// the same device before this one does, and then LOOP_CONFIGURE fails with
// EBUSY. The fix (`losetup-find-free-retry`) goes back to GET_FREE on EBUSY,
// as util-linux's losetup does.
import { scenario, type Sys } from "blocklab";

/** The naive attach: GET_FREE, open, LOOP_CONFIGURE, no retry. */
async function naiveAttach(sys: Sys, image: string, vm: string): Promise<void> {
  const ctl = await sys.open("/dev/loop-control", { write: true });
  const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
  await sys.close(ctl);
  await sys.writeFile(`/run/${vm}.free`, String(n));
  const file = await sys.open(image, { write: true });
  const loop = await sys.open(`/dev/loop${n}`, { write: true });
  await sys.ioctl(loop, "LOOP_CONFIGURE", { fd: file, info: { lo_file_name: image } });
  await sys.close(file);
  await sys.close(loop);
}

export default scenario({
  title: "losetup -f: two toolstacks pick the same free loop device",
  files: { "/img/work.img": { size: "1M", owner: "work" }, "/img/vault.img": { size: "1M", owner: "vault" } },
  domains: { work: {}, vault: {} },
  actors: {
    "toolstack-work": (sys) => naiveAttach(sys, "/img/work.img", "work"),
    "toolstack-vault": (sys) => naiveAttach(sys, "/img/vault.img", "vault"),
  },
  invariants: [
    "progress",
    {
      name: "every image attached",
      atEnd: true,
      check: (world) => {
        const backings = world.devices("dom0").filter((d) => d.driver === "loop" && d.backing).map((d) => d.backing);
        const missing = ["/img/work.img", "/img/vault.img"].filter((img) => !backings.includes(img));
        return missing.length > 0 ? `no loop device is bound to ${missing.join(" and ")}` : undefined;
      },
    },
  ],
  sometimes: [
    {
      name: "both toolstacks were told the same device was free",
      check: (world) => {
        const a = world.readFile("dom0", "/run/work.free");
        return a !== undefined && a === world.readFile("dom0", "/run/vault.free");
      },
    },
  ],
});
