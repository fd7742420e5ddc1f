// A toolstack attaches VM work's image to a loop device and publishes the
// device as a (major:minor, diskseq) pair: the promise that "this number,
// with this diskseq, is work's disk". A backend (here a careful userspace
// stand-in for blkback doing patch 3/7's check, so that no Xen is needed)
// opens the number later and refuses it unless BLKGETDISKSEQ still answers
// the published diskseq. Meanwhile work shuts down (its loop device is
// detached) and vault's toolstack attaches vault's image, possibly to the
// same loop device. On linux-6.1 attach and detach keep a loop device's
// diskseq, so the stale pair still matches and the backend serves vault's
// data to work. Patch 4/7 (`loop-release-diskseq`) bumps diskseq at every
// detach, and so do kernels with its merged successor (linux-6.1.192,
// linux-6.12): the pair stops matching and the backend refuses.
import { scenario, type Sys } from "blocklab";

const WORK = "/img/work.img";
const VAULT = "/img/vault.img";

async function toolstackWork(sys: Sys): Promise<void> {
  const dev = await sys.losetup.attach(WORK);
  await sys.writeFile("/run/work.pair", `${dev.major}:${dev.minor} ${dev.diskseq}`);
  // VM work shuts down at once: its disk is detached.
  await sys.losetup.detach(dev.path);
}

async function toolstackVault(sys: Sys): Promise<void> {
  await sys.losetup.attach(VAULT);
}

/** What blkback with the diskseq check does: open the number, compare diskseq, then serve. */
async function backend(sys: Sys): Promise<void> {
  let pair: string;
  try {
    pair = await sys.readFile("/run/work.pair");
  } catch {
    return; // nothing published yet: the toolstack has not got that far in this order
  }
  const [devt, seq] = pair.split(" ");
  const [major, minor] = devt!.split(":").map(Number);
  await sys.mknod("/run/work.dev", { type: "block", major: major!, minor: minor! });
  const fd = await sys.open("/run/work.dev");
  await sys.writeFile("/run/work.backing", (await sys.readFile(`/sys/block/loop${minor}/loop/backing_file`).catch(() => "")).trim());
  if ((await sys.ioctl(fd, "BLKGETDISKSEQ")) !== Number(seq)) {
    await sys.writeFile("/run/work.refused", "diskseq changed");
  } else {
    const first = await sys.read(fd, 0, 1);
    await sys.writeFile("/run/work.served", first.length ? `0x${first[0]!.toString(16)}` : "empty");
  }
  await sys.close(fd);
}

export default scenario({
  title: "Stale diskseq: a (dev_t, diskseq) pair outlives a detach",
  kernel: "linux-6.1",
  files: {
    [WORK]: { size: "64K", owner: "work", fill: 0x11 },
    [VAULT]: { size: "64K", owner: "vault", fill: 0x22 },
  },
  domains: { work: {}, vault: {} },
  actors: {
    "toolstack-work": toolstackWork,
    "toolstack-vault": toolstackVault,
    backend,
  },
  invariants: [
    "progress",
    // The built-in form of the same fault: the pair (7:0, diskseq) read on two bindings.
    "no-stale-open",
    {
      name: "work is served only work's data",
      check: (world) => {
        const served = world.readFile("dom0", "/run/work.served");
        return served === "0x22" ? "the backend checked the diskseq, found it unchanged, and served vault's data as work's disk" : undefined;
      },
    },
  ],
  sometimes: [
    {
      name: "the backend opened the device after it was re-bound to vault's image",
      check: (world) => world.readFile("dom0", "/run/work.backing") === VAULT,
    },
  ],
});
