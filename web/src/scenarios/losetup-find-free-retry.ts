// The fix for `losetup-find-free`: when the device LOOP_CTL_GET_FREE offered
// was bound by someone else before our LOOP_CONFIGURE (EBUSY), ask again, as
// util-linux's `losetup -f` does (and the library's sys.losetup.attach).
import { scenario, SysError, type Sys } from "blocklab";

async function attachWithRetry(sys: Sys, image: string, vm: string): Promise<void> {
  const file = await sys.open(image, { write: true });
  for (let attempt = 1; ; attempt++) {
    const ctl = await sys.open("/dev/loop-control", { write: true });
    const n = await sys.ioctl(ctl, "LOOP_CTL_GET_FREE");
    await sys.close(ctl);
    const loop = await sys.open(`/dev/loop${n}`, { write: true });
    try {
      await sys.ioctl(loop, "LOOP_CONFIGURE", { fd: file, info: { lo_file_name: image } });
      await sys.close(loop);
      break;
    } catch (e) {
      await sys.close(loop);
      if (!(e instanceof SysError) || e.errno !== "EBUSY" || attempt === 8) throw e;
      await sys.writeFile(`/run/${vm}.retried`, `loop${n} was taken`);
    }
  }
  await sys.close(file);
}

export default scenario({
  title: "losetup -f with a retry: both toolstacks get a device",
  files: { "/img/work.img": { size: "1M", owner: "work" }, "/img/vault.img": { size: "1M", owner: "vault" } },
  domains: { work: {}, vault: {} },
  actors: {
    "toolstack-work": (sys) => attachWithRetry(sys, "/img/work.img", "work"),
    "toolstack-vault": (sys) => attachWithRetry(sys, "/img/vault.img", "vault"),
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
      name: "a toolstack lost the race for a device and retried",
      check: (world) => world.exists("dom0", "/run/work.retried") || world.exists("dom0", "/run/vault.retried"),
    },
  ],
});
