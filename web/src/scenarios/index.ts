// The gallery: lessons as scenario files written exactly as users write
// them, each with the text that explains what it shows and, for a race, the
// configurations under which it shows and under which it is fixed. The CLI
// lists them and runs them by id (`npx blocklab gallery`, `npx blocklab
// explore lost-update`); the playground lists them in its header and opens
// one in the editor at `#example/ID` (ui/gallery.ts loads its text on demand).

import type { KernelId, PatchSelection } from "../api/types";
import { TITLES } from "./titles";

/** A configuration a lesson is shown under. */
export interface LessonConfig {
  kernel?: KernelId;
  patches?: PatchSelection;
  /** Another gallery entry: the fixed script, when the fix is in userspace. */
  scenario?: string;
}

export interface GalleryEntry {
  id: string;
  /** The scenario file's own `title` (through titles.ts, generated from the files). */
  title: string;
  /** What the lesson teaches, for people: a few sentences. */
  lesson: string;
  /** The scenario file, relative to this folder. */
  file: string;
  /**
   * For lessons about a race: the configuration under which exploration
   * finds the violation, and the one (or the fixed script) under which it
   * completes with none. Tests hold every entry to both.
   */
  before?: LessonConfig;
  after?: LessonConfig[];
}

/** An entry as written here: its title is the scenario file's, from titles.ts. */
interface Lesson extends Omit<GalleryEntry, "title" | "file"> {
  file: keyof typeof TITLES;
}

const LESSONS: readonly Lesson[] = [
  {
    id: "lost-update",
    lesson:
      "Each toolstack reads the counter, adds one and writes it back: two steps with a gap between them. " +
      "Run once, in the default order, it looks correct (the counter ends at 2); explore it and Blocklab finds " +
      "the order in which both read 0 and one update is lost. The fix is to make the read-modify-write one " +
      "step: under a lock (flock, an O_EXCL lock file), or as a transaction that fails when someone wrote in " +
      "between and is then retried. Blocklab's files have no locks, so this lesson stops at the race; " +
      "xenstore-forgery-fixed shows the transaction cure, on xenstore.",
    file: "lost-update.ts",
  },
  {
    id: "check-then-act",
    lesson:
      "Checking that a name is free and then using it is a race whenever someone else can take the name in " +
      "between: both toolstacks see the slot free, both claim it, and one acts as the owner of a slot that now " +
      "names the other VM. This is the shape of the races the patch series closes for block devices: a loop " +
      "or dm device found by name (or major:minor) can be freed and reused between the lookup and the open. " +
      "The cure is the same everywhere: make the check and the claim one atomic step (O_EXCL), or hold the " +
      "object itself (an fd, a diskseq) instead of its name.",
    file: "check-then-act.ts",
  },
  {
    id: "losetup-find-free",
    lesson:
      "LOOP_CTL_GET_FREE answers with a device that is free now, and reserves nothing: ask twice and you get the " +
      "same answer twice (the golden traces show it on real kernels). Two toolstacks attaching disks at the same " +
      "moment are both offered loop0; the one that binds second gets EBUSY from LOOP_CONFIGURE, and a script that " +
      "does not expect it leaves its VM without a disk. util-linux's losetup, and the fixed script, go back to " +
      "GET_FREE on EBUSY.",
    file: "losetup-find-free.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ scenario: "losetup-find-free-retry" }],
  },
  {
    id: "losetup-find-free-retry",
    lesson:
      "The fix for losetup-find-free: when the device GET_FREE offered was bound by someone else first " +
      "(LOOP_CONFIGURE fails with EBUSY), ask again. Exploration proves every interleaving of the two toolstacks " +
      "ends with both images attached, and shows that the race window (a lost race and a retry) is reached.",
    file: "losetup-find-free-retry.ts",
  },
  {
    id: "stale-diskseq",
    lesson:
      "Patch 3/7 makes blkback check that the device it opened by number still has the diskseq userspace " +
      "published. That check is only as good as the diskseq: on linux-6.1 a loop device keeps its diskseq " +
      "when it is detached and re-attached to another image, so a pair published for VM work still matches " +
      "after the loop device was re-bound to vault's image, and the backend serves vault's data to work. " +
      "Patch 4/7 (loop-release-diskseq) takes a new diskseq at every detach; linux-6.1.192 and linux-6.12 " +
      "take one at every attach and detach. Then the stale pair stops matching and the backend refuses. " +
      "(The backend here is a userspace stand-in doing blkback's check, so the lesson needs no Xen; loop-reuse-race " +
      "runs the real blkback.)",
    file: "stale-diskseq.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: ["loop-release-diskseq"] }, { kernel: "linux-6.1.192", patches: "none" }, { kernel: "linux-6.12", patches: "none" }],
  },
  {
    id: "dm-name-reuse",
    lesson:
      "A device-mapper name is only a name. VM work's toolstack creates \"vm\" over work's disk, then looks the " +
      "name up and opens the device it gives, as most tools do; in between, vault's toolstack removes \"vm\" and " +
      "creates it again over vault's disk (the minor can be re-used too). Exploration finds the order in which work " +
      "hands on vault's data. With patch 2/7 (dm-fd, in the rfc-v1 preset) DM_DEV_CREATE returns an fd on the very " +
      "device it created: work holds the object, not the name, and while it does, vault's remove fails with EBUSY.",
    file: "dm-name-reuse.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "rfc-v1" }, { kernel: "linux-6.1", patches: ["bdev-file", "dm-fd"] }],
  },
  {
    id: "dm-unknown-flags",
    lesson:
      "The review debate on patch 2/7. Mainline dm has always ignored flag bits it does not know, so old tools that " +
      "pass a stray bit have always worked; the RFC rejects unknown bits with EINVAL and breaks them. The opposite " +
      "danger: a new tool asking for an fd with bit 20 on a kernel that ignores unknown bits gets a device and no fd, " +
      "without being told. The v2 answer: a caller opts in to strict checking by passing interface major 5; the old " +
      "tool (major 4) keeps working, and the new tool (major 5) is told EINVAL by any kernel that cannot give the fd, " +
      "and falls back knowingly.",
    file: "dm-unknown-flags.ts",
    before: { kernel: "linux-6.1", patches: "rfc-v1" },
    after: [{ kernel: "linux-6.1", patches: "v2" }, { kernel: "linux-6.1", patches: "none" }],
  },
  {
    id: "vm-shutdown-leak-kernel",
    lesson:
      "Nothing should outlive its VM. A toolstack that brings up a VM's disk (a loop device over the image, a dm " +
      "device over that) and dies before tearing it down leaves both behind: the explorer kills it at every step and " +
      "finds the leak. With patch 2/7 (dm-fd, preset rfc-v1) the toolstack creates the dm device with an fd and " +
      "DM_DEFERRED_REMOVE: the device dies with its last opener, the toolstack itself, and the dm table's close lets " +
      "the autoclear loop device go too. Try the teaching switch rfc-dm-refcount-bug on top: the RFC's create-with-fd " +
      "counts the open twice and the device is never removed. The Xen half (blkback holding the device after the " +
      "toolstack hands it over) is vm-shutdown-leak.",
    file: "vm-shutdown-leak-kernel.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "rfc-v1" }, { kernel: "linux-6.1", patches: ["bdev-file", "dm-fd"] }],
  },
  {
    id: "xenstore-forgery",
    lesson:
      "A hostile guest kernel writes its disk backend's `params` to point at another VM's image. It cannot: the " +
      "toolstack created the backend directory in dom0's tree, in one transaction, readable by the guest and writable " +
      "only by dom0, and xenstored refuses every such write with EACCES, whenever the guest tries (before the directory " +
      "exists, its error is EACCES too, so it cannot even learn what exists). The xenstore protocol is safe against " +
      "the guest. It is not safe against the host's own races: the backend reports Connected and then writes one more " +
      "key with a plain write; the toolstack, seeing Connected, may remove the device first, and the late write " +
      "re-creates the directory (a write creates missing parents), a stale device nothing will clean up. The fix is " +
      "on the host's side: write like xenbus_switch_state, in a transaction that reads the device's state first and " +
      "writes nothing if it is gone; a removal in between fails the commit with EAGAIN and the retry sees it.",
    file: "xenstore-forgery.ts",
    before: {},
    after: [{ scenario: "xenstore-forgery-fixed" }],
  },
  {
    id: "xenstore-forgery-fixed",
    lesson:
      "The fix for xenstore-forgery: the backend's late write goes in a transaction that first reads the device's " +
      "state and writes nothing if the device is gone. Exploration proves that no interleaving leaves a stale device " +
      "and that the guest's forgery is always refused, and shows that the race window (the removal landing between " +
      "Connected and the late write) is reached.",
    file: "xenstore-forgery-fixed.ts",
  },
  {
    id: "loop-reuse-race",
    lesson:
      "A hotplug script publishes a loop device to blkback as a bare number (physical-device = 7:0); blkback opens " +
      "that number later, when its watch fires. Qubes' script opens the image once, binds a free loop device it holds " +
      "with O_EXCL and writes the number, its diskseq and the path in one transaction; but on a kernel without the " +
      "series blkback never says when it holds the device, so the script lets go when it exits. Another toolstack, " +
      "cleaning up by a stale name, detaches /dev/loop0 and attaches vault's image, which lands on loop0 again: if " +
      "blkback opens 7:0 after that, VM work is given vault's disk. With the v2 patches blkback writes opened = 0 at " +
      "probe, so the script makes the device autoclear and keeps its fd until blkback writes opened = 1 (the cleanup's " +
      "LOOP_CLR_FD only marks autoclear meanwhile), and blkback refuses a device whose diskseq is not the one published.",
    file: "loop-reuse-race.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "v2" }],
  },
  {
    id: "opened-handoff",
    lesson:
      "A hotplug script that binds a loop device for a VM would like it to go away by itself when the VM is done " +
      "(LO_FLAGS_AUTOCLEAR: cleared at its last close). Then its own close must not be the last one: it has to keep " +
      "its fd until blkback holds the device, and without patch 7/7 nothing tells it when that is. It can let go at " +
      "once, and if blkback's watch fires after that, blkback opens a cleared device and the guest gets an empty " +
      "disk (0 sectors): that is what exploration finds here. Or it can keep the device bound and rely on a remove " +
      "that a dead toolstack never runs: the leak of vm-shutdown-leak. With the v2 patches blkback writes opened = 0 " +
      "at probe, before any script runs, so the script knows the hand-off exists, and opened = 1 once it holds the " +
      "checked device: the script waits for it, exits, and blkback's close at the VM's shutdown is the last one.",
    file: "opened-handoff.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "v2" }],
  },
  {
    id: "vm-shutdown-leak",
    lesson:
      "Tearing down a VM's loop device is the job of the hotplug script's remove, which libxl runs after the domain " +
      "is destroyed. If the toolstack dies in between (the explorer kills it at each of its steps), nobody runs it: " +
      "on a kernel without the series qubes-block keeps the loop device bound for that remove, and it outlives its " +
      "VM. With the v2 patches the script binds the device with autoclear and hands it to blkback (opened = 1); when " +
      "the VM dies its frontend directory goes with it, blkback unregisters and closes the device, and that last " +
      "close clears it, whether or not the toolstack is still there. Patch 5/7 (loop-autoclear-delete) also deletes " +
      "the cleared device. The kernel half, dm devices that die with their last opener, is vm-shutdown-leak-kernel.",
    file: "vm-shutdown-leak.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: { preset: "v2", "loop-autoclear-delete": true } }],
  },
  {
    id: "driver-domain",
    lesson:
      "The backend need not be dom0. With xl's backend=storage, the backend directory lives under storage's own " +
      "xenstore tree and belongs to it, storage's blkback opens the device in storage's kernel, and xl devd in storage " +
      "runs the hotplug script there, on an image in storage's filesystem: dom0's toolstack only writes xenstore and " +
      "waits. The shutdown leak follows the device: if the toolstack dies after destroying the VM, nobody queues the " +
      "script's remove, and on a kernel without the series the loop device stays bound in storage. With the v2 patches " +
      "storage's blkback holds the only reference (opened = 1), and its close, when the VM's frontend goes, clears it.",
    file: "driver-domain.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "v2" }],
  },
  {
    id: "block-find-then-bind",
    lesson:
      "R1 of the series, allocate-then-attach. Xen's stock block script attaches an image in two commands: `losetup -f` " +
      "names a free loop device, and `losetup DEV FILE` binds it. Nothing reserves the device in between, and the " +
      "script's lock only keeps other Xen hotplug scripts out: a user (or udisks) attaching an image of its own is " +
      "offered the same loop0 and may bind it first. The script's bind then fails with EBUSY, the hotplug script " +
      "fails, and VM work gets no disk: that is what exploration finds. No kernel switch helps; the fix is in the " +
      "script. Qubes' script opens the offered device with O_EXCL and binds it through that very fd with " +
      "LOOP_CONFIGURE, and asks for another device when it loses (block-find-then-bind-fixed).",
    file: "block-find-then-bind.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ scenario: "block-find-then-bind-fixed" }],
  },
  {
    id: "block-find-then-bind-fixed",
    lesson:
      "The fix for block-find-then-bind: Qubes' script holds the loop device it configures (O_EXCL, LOOP_CONFIGURE " +
      "on that fd), so either its bind or the user's is refused with EBUSY, and the loser asks LOOP_CTL_GET_FREE " +
      "again. Exploration proves VM work gets its disk in every interleaving, and shows that the race window (an " +
      "answer of losetup -f taken by the other attacher before its own bind) is reached.",
    file: "block-find-then-bind-fixed.ts",
  },
  {
    id: "remove-by-name",
    lesson:
      "R3 of the series, remove by name. The stock block script keeps the loop device it made bound until its " +
      "`remove`, which runs `losetup -d` on the name it kept in `node`. By then the name may be someone else's: work " +
      "is destroyed, and an admin cleaning up by a stale name detaches /dev/loop0 (if blkback still holds it, the " +
      "clear waits for blkback's close), then attaches vault's image, which lands on loop0 again. Exploration finds " +
      "the order in which work's remove destroys vault's device. Qubes' remove opens the " +
      "device and checks its diskseq against the one it published before LOOP_CLR_FD, and refuses a device that " +
      "changed; the check needs a kernel that gives a re-bound loop device a new diskseq (linux-6.1.192, or patch " +
      "4/7): remove-by-name-qubes.",
    file: "remove-by-name.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ scenario: "remove-by-name-qubes", kernel: "linux-6.1.192", patches: "none" }],
  },
  {
    id: "remove-by-name-qubes",
    lesson:
      "The fix for remove-by-name: qubes-block's remove checks the loop device's diskseq before LOOP_CLR_FD. On " +
      "linux-6.1.192 attaching vault's image to loop0 takes a new diskseq, so the check fails (\"Loop device diskseq " +
      "mismatch!\") and vault's device stays. Exploration proves it in every interleaving and shows the window (vault's " +
      "image on the loop device whose name work's backend still kept) is reached. Try it on linux-6.1: the re-bound " +
      "loop0 keeps its diskseq, the check passes, and vault's device is destroyed again (stale-diskseq).",
    file: "remove-by-name-qubes.ts",
  },
  {
    id: "qubes-lifecycle",
    lesson:
      "Three VMs started, used and destroyed at the same time, each by a toolstack that may die at any of its steps. " +
      "On linux-6.1 without the series qubes-block keeps each loop device bound for a `remove` that a dead toolstack " +
      "never runs, and exploration finds the leak at once. With the v2 patches every device is handed to blkback " +
      "(opened = 1) and cleared by blkback's close, and every backend checks the diskseq it was given. For one VM " +
      "(`lifecycle([\"work\"])`) exhaustive exploration proves isolation and no-leak in a second or two; for three the " +
      "VMs' interleavings multiply (one dom0 xenwatch thread, one pool of loop devices and ports) and it does not end " +
      "within minutes: what it explores finds nothing, a bounded search and not a proof.",
    file: "qubes-lifecycle.ts",
    before: { kernel: "linux-6.1", patches: "none" },
    after: [{ kernel: "linux-6.1", patches: "v2" }],
  },
  {
    id: "ring-basics",
    lesson:
      "The frontend and the backend share one page: requests go in at req_prod, answers come back in the same slots " +
      "at rsp_prod. Each side wakes the other through an event channel, but only when asked: a consumer going to " +
      "sleep writes the index it wants to be woken at (req_event, rsp_event), and a producer notifies only if its new " +
      "entries cross it (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY). So a second push while blkback has not yet come back " +
      "for more sends no event at all, and needs none: blkback re-checks the ring before it sleeps " +
      "(RING_FINAL_CHECK_FOR_REQUESTS). The guest here drives the ring by hand (sys.ring): exploration reaches both " +
      "a held-off and a notifying second push, and in every interleaving both reads are answered.",
    file: "ring-basics.ts",
  },
  {
    id: "hostile-frontend",
    lesson:
      "A guest does not have to run blkfront: it can write anything into the shared ring and its own grant table. " +
      "blkback copies each request out of the shared page before it looks at it, then checks it: a read beyond the " +
      "disk's end, a segment past its page, twelve segments, a grant never given, a grant revoked before blkback maps " +
      "it are each answered BLKIF_RSP_ERROR; a producer index more than a ring ahead of the responses halts the ring " +
      "until the frontend reconnects. In every interleaving the backend goes on, and the guest never sees a byte of " +
      "vault's image, which sits on the next loop device. A grant the guest revokes while blkback maps it (the ring " +
      "page) stays mapped: Xen does not take a live mapping away.",
    file: "hostile-frontend.ts",
  },
];

export const GALLERY: readonly GalleryEntry[] = LESSONS.map(({ id, ...rest }) => ({ id, title: TITLES[rest.file], ...rest }));

export function galleryEntry(id: string): GalleryEntry | undefined {
  return GALLERY.find((e) => e.id === id);
}
