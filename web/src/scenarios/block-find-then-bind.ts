// R1, allocate-then-attach. Xen's stock `block` script attaches a file in
// two commands: `losetup -f` names a free loop device, then
// `losetup DEV FILE` binds it. Nothing reserves the device in between, and
// the script's lock only keeps other Xen hotplug scripts out: a user (or
// udisks) attaching an image of its own is offered the same device and may
// bind it first. The script's bind then fails with EBUSY and VM work gets
// no disk. Qubes' script holds the device it binds (O_EXCL, LOOP_CONFIGURE
// on that fd) and asks again when it loses: block-find-then-bind-fixed.
import { scenario } from "blocklab";

export default scenario({
  title: "losetup -f, then losetup DEV FILE: the stock block script loses its loop device",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {} },
  files: {
    "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 },
    "/home/user/photos.img": { size: "64K", fill: 0x33 },
  },
  actors: {
    toolstack: async (sys) => {
      try {
        await sys.xl.blockAttach("work", { target: "/var/lib/images/work.img", vdev: "xvda", script: "block" });
      } catch (e) {
        await sys.writeFile("/run/attach-failed", (e as Error).message);
      }
    },
    // `losetup -f --show photos.img`: ask for a free device, then bind it.
    user: async (sys) => {
      const img = await sys.open("/home/user/photos.img", { write: true });
      const ctl = await sys.open("/dev/loop-control");
      const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
      await sys.writeFile("/run/user-found", String(n));
      const lo = await sys.open(`/dev/loop${n}`, { write: true });
      // EBUSY when the device was bound (or is held) first; util-linux would ask again.
      await sys.ioctl(lo, "LOOP_CONFIGURE", { fd: img, info: {} }).catch(() => undefined);
    },
  },
  invariants: [
    "progress",
    {
      name: "work's disk is attached",
      check: (world) => world.readFile("dom0", "/run/attach-failed") === undefined || `xl block-attach failed: ${world.readFile("dom0", "/run/attach-failed")}`,
    },
  ],
  sometimes: [
    {
      name: "an answer of losetup -f was taken by the other attacher before its own bind",
      check: (world) =>
        world.readFile("dom0", "/run/user-found") === "0" && world.devices("dom0").some((d) => d.name === "loop0" && d.backing === "/var/lib/images/work.img"),
    },
  ],
});
