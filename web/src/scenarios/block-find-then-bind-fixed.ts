// The fix for block-find-then-bind (R1): the same user, and Qubes' script
// instead of the stock one. It opens the device LOOP_CTL_GET_FREE offered
// with O_EXCL and binds it through that fd with LOOP_CONFIGURE: if the
// user bound it first, LOOP_CONFIGURE says EBUSY and the script asks for
// another device (up to five times); if the script holds it first, the
// user's bind is the one refused. Either way VM work gets its disk.
import { scenario } from "blocklab";

export default scenario({
  title: "The same race with qubes-block: hold the device you bind, and ask again when you lose",
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
        await sys.xl.blockAttach("work", { target: "/var/lib/images/work.img", vdev: "xvda", script: "qubes-block" });
      } catch (e) {
        await sys.writeFile("/run/attach-failed", (e as Error).message);
      }
    },
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
