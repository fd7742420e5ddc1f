// The review debate on patch 2/7, as two tools on one kernel. An old tool,
// built long ago, passes a stray bit (1 << 22) in DM_DEV_CREATE's flags:
// mainline dm has always ignored unknown bits, so it has always worked. The
// RFC (`dmFlagPolicy: reject`, preset rfc-v1) rejects bits it does not
// know with EINVAL: the old tool breaks. A new tool wants the fd of patch
// 2/7 and speaks the v2 protocol: it opts in to strict checking with
// interface major 5 and asks for the fd; a kernel that cannot give one says
// so (EINVAL) instead of silently ignoring the request, and the tool falls
// back to the device's name knowingly. Under v2 (`strict-v5`) the old tool
// keeps working and the new one is never fooled.
import { scenario, type Sys } from "blocklab";

const STRAY_BIT = 1 << 22;
const DM_FILE_DESCRIPTOR_FLAG = 1 << 20;

async function oldTool(sys: Sys): Promise<void> {
  const ctl = await sys.open("/dev/mapper/control", { write: true });
  try {
    await sys.ioctl(ctl, "DM_DEV_CREATE", { version: [4, 0, 0], name: "old-vm", flags: STRAY_BIT });
    await sys.writeFile("/run/old-tool", "created");
  } catch (e) {
    await sys.writeFile("/run/old-tool", (e as { errno: string }).errno);
  }
}

async function newTool(sys: Sys): Promise<void> {
  const ctl = await sys.open("/dev/mapper/control", { write: true });
  try {
    const r = await sys.ioctl(ctl, "DM_DEV_CREATE", { version: [5, 0, 0], name: "new-vm", flags: DM_FILE_DESCRIPTOR_FLAG });
    // Created: with the fd it asked for, or (the silent failure the review feared) without it.
    await sys.writeFile("/run/new-tool", r.fd !== undefined ? "fd" : "created without an fd, and not told");
  } catch (e) {
    // Told: this kernel gives no fd (or does not speak major 5). Fall back to the name, knowingly.
    await sys.ioctl(ctl, "DM_DEV_CREATE", { version: [4, 0, 0], name: "new-vm" });
    await sys.writeFile("/run/new-tool", `told (${(e as { errno: string }).errno}); using the name`);
  }
}

export default scenario({
  title: "dm unknown flags: rejecting them breaks old tools; opting in serves both",
  kernel: "linux-6.1",
  patches: "rfc-v1",
  actors: { "old-tool": oldTool, "new-tool": newTool },
  invariants: [
    "progress",
    {
      name: "the old tool keeps working",
      check: (world) => {
        const r = world.readFile("dom0", "/run/old-tool");
        return r !== undefined && r !== "created" ? `the old tool's DM_DEV_CREATE failed with ${r}: its stray flag bit, ignored for years, is now an error` : undefined;
      },
    },
    {
      name: "the new tool is never silently refused",
      check: (world) => (world.readFile("dom0", "/run/new-tool") === "created without an fd, and not told" ? "the new tool asked for an fd and got none without being told" : undefined),
    },
  ],
  sometimes: [
    {
      name: "both tools' requests reached the kernel",
      check: (world) => world.exists("dom0", "/run/old-tool") && world.exists("dom0", "/run/new-tool"),
    },
  ],
});
