// The fix for remove-by-name (R3): the same admin, and Qubes' script. Its
// remove deletes physical-device, opens the loop device it made with
// O_EXCL, and checks the device's diskseq against the one it published
// before LOOP_CLR_FD ("Loop device diskseq mismatch!"). That check needs a
// kernel that gives a re-bound loop device a new diskseq: linux-6.1.192 (or
// patch 4/7); on linux-6.1 the re-bound loop0 keeps its number and its
// diskseq, and the check passes (stale-diskseq).
import { scenario } from "blocklab";


export default scenario({
  title: "Remove with a diskseq check: qubes-block refuses a re-used loop device",
  kernel: "linux-6.1.192",
  patches: "none",
  domains: { work: {} },
  files: {
    "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 },
    "/var/lib/images/vault.img": { size: "64K", fill: 0x22 },
  },
  actors: {
    toolstack: async (sys) => {
      await sys.xl.blockAttach("work", { target: "/var/lib/images/work.img", vdev: "xvda", script: "qubes-block" });
      await sys.xenstore.waitFor("/local/domain/1/device/vbd/51712/state", (v) => v === "4");
      await sys.xenstore.write("/tool/work-disk", "connected"); // work uses its disk for a while, then it is destroyed
      await sys.xl.destroy("work");
    },
    admin: async (sys) => {
      // Once work is gone (its frontend directory went with it); blkback may still hold loop0, and
      // then the clear waits for its close. (Before blkback opened loop0 it would be R2, loop-reuse-race.)
      await sys.xenstore.waitFor("/tool/work-disk", (v) => v === "connected");
      await sys.xenstore.waitFor("/local/domain/1/device/vbd/51712/state", (v) => v === undefined);
      // `losetup -d /dev/loop0` by a stale name: the script kept it bound for its remove.
      const old = await sys.open("/dev/loop0");
      if (await sys.ioctl(old, "LOOP_CLR_FD").then(() => true, () => false)) await sys.writeFile("/run/cleared-stale", "1");
      await sys.close(old);
      // `losetup -f vault.img`, which lands on loop0 again once blkback let go of it.
      const img = await sys.open("/var/lib/images/vault.img", { write: true });
      const ctl = await sys.open("/dev/loop-control");
      const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
      const lo = await sys.open(`/dev/loop${n}`, { write: true });
      await sys.ioctl(lo, "LOOP_CONFIGURE", { fd: img, info: {} });
      await sys.writeFile("/run/vault-loop", `/dev/loop${n}`);
    },
  },
  invariants: [
    "progress",
    {
      // Checked once everyone is done: the remove has run by then.
      name: "vault's loop device stays bound",
      atEnd: true,
      check: (world) => {
        const path = world.readFile("dom0", "/run/vault-loop");
        if (path === undefined) return true;
        const d = world.devices("dom0").find((x) => x.path === path);
        return d?.backing === "/var/lib/images/vault.img" || `${path}, vault's loop device, was detached by someone else (work's remove, by the name it kept)`;
      },
    },
  ],
  sometimes: [
    {
      name: "vault's image got /dev/loop0, the name work's remove would use, before that remove cleared it",
      atEnd: true,
      check: (world) => world.readFile("dom0", "/run/cleared-stale") === "1" && world.readFile("dom0", "/run/vault-loop") === "/dev/loop0",
    },
  ],
});
