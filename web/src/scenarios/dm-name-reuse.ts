// VM work's toolstack creates the device-mapper device "vm" over work's
// disk, then hands it on the way most tools do: it looks the name up and
// opens the device the name gives (here `dmsetup info` for the minor, then
// /dev/dm-N). Meanwhile vault's toolstack, cleaning up what it believes is
// its own stale "vm", removes the name and creates "vm" again over vault's
// disk. Between work's create and work's open the name (and the minor) can
// be re-used, and work hands on vault's data. With patch 2/7 (`dm-fd`, in the
// rfc-v1 preset) DM_DEV_CREATE returns an fd on the device it created: work
// keeps the object itself, the name no longer matters, and while work holds
// it, vault's remove fails with EBUSY. The script asks for the fd and falls
// back to the name on kernels that do not give one.
import { scenario, type Sys } from "blocklab";

const table = (loop: string) => `0 128 linear ${loop} 0`;

/** Binds an image to a loop device this toolstack owns (each has its own: the race here is about dm names). */
async function bind(sys: Sys, image: string, loop: string): Promise<string> {
  const file = await sys.open(image, { write: true });
  const dev = await sys.open(loop, { write: true });
  await sys.ioctl(dev, "LOOP_CONFIGURE", { fd: file });
  return loop; // both fds stay open until the process exits
}

async function toolstackWork(sys: Sys): Promise<void> {
  const disk = await bind(sys, "/img/work.img", "/dev/loop0");
  const made = await sys.dmsetup.create("vm", table(disk), { fd: true });
  let fd = made.fd;
  if (fd === undefined) {
    // No fd from this kernel: find the device by its name, then open it.
    const info = await sys.dmsetup.info("vm");
    fd = await sys.open(`/dev/dm-${info.minor}`);
  }
  const first = await sys.read(fd, 0, 1); // empty when the device has no table (yet)
  await sys.writeFile("/run/work.served", first.length ? `0x${first[0]!.toString(16)}` : "empty");
}

async function toolstackVault(sys: Sys): Promise<void> {
  const disk = await bind(sys, "/img/vault.img", "/dev/loop1");
  try {
    await sys.dmsetup.remove("vm"); // "my stale device from last time"
    await sys.writeFile("/run/vault.remove", "ok");
  } catch (e) {
    await sys.writeFile("/run/vault.remove", (e as { errno: string }).errno);
  }
  await sys.dmsetup.create("vm", table(disk));
}

export default scenario({
  title: "dm name reuse: the name is re-created between create and open",
  kernel: "linux-6.1",
  files: {
    "/img/work.img": { size: "64K", owner: "work", fill: 0x11 },
    "/img/vault.img": { size: "64K", owner: "vault", fill: 0x22 },
  },
  domains: { work: {}, vault: {} },
  actors: { "toolstack-work": toolstackWork, "toolstack-vault": toolstackVault },
  invariants: [
    "progress",
    {
      name: "work hands on only work's data",
      check: (world) => (world.readFile("dom0", "/run/work.served") === "0x22" ? "work's toolstack opened the device named vm and got vault's disk" : undefined),
    },
  ],
  sometimes: [
    {
      name: "vault went for the name while work's device had it",
      check: (world) => {
        const r = world.readFile("dom0", "/run/vault.remove");
        return r === "ok" || r === "EBUSY" ? world.devices("dom0").some((d) => d.dmName === "vm") || world.exists("dom0", "/run/work.served") : false;
      },
    },
  ],
});
