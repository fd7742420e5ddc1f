// The blkif ring (xen/include/public/io/ring.h) seen from a guest kernel.
// The frontend puts requests in the shared page and moves req_prod; the
// backend answers in the same slots and moves rsp_prod. Each side tells the
// other through an event channel, but only when the other asked for it: the
// consumer writes the index it wants to be woken at (req_event, rsp_event)
// before it sleeps, and the producer notifies only if its new requests
// cross that index (push-and-check). A push while the backend is still busy
// sends nothing, and must not need to: the backend re-checks the ring
// before it sleeps (final check), so nothing is lost.
//
// The guest pushes two reads one after the other and collects both answers.
// Whether the second push notifies depends on whether blkback ran in
// between; exploration reaches both, and in every interleaving both
// requests are answered (a lost wakeup would leave the guest waiting: a
// deadlock, which `progress` reports).
import { scenario, type Sys } from "blocklab";

/** A hotplug script for a device the toolstack set up itself (`phy:`): publish its number. */
async function phy(sys: Sys, be: string): Promise<void> {
  await sys.xenstore.write(`${be}/physical-device`, "7:0");
}

const READ = (id: number, sector: number, page: number) => ({ operation: "READ" as const, id, sector, segments: [{ page, firstSect: 0, lastSect: 7 }] });

export default scenario({
  title: "The blkif ring: push-and-check and the notification hold-off",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {} },
  files: { "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 } },
  actors: {
    // The lesson is the ring: the disk is attached in as few steps as possible (a loop device set up first,
    // a one-line hotplug script), and the guest starts once the attach is over.
    toolstack: async (sys) => {
      await sys.losetup.attach("/var/lib/images/work.img");
      await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy });
      await sys.xenstore.write("/local/domain/1/data/attached", "1");
    },
    guest: {
      domain: "work",
      run: async (sys) => {
        await sys.xenstore.waitFor("data/attached", (v) => v === "1");
        const first = await sys.ring.push("xvda", [READ(1, 0, 0)]);
        const second = await sys.ring.push("xvda", [READ(2, 8, 1)]);
        const answers = [];
        while (answers.length < 2) answers.push(...(await sys.ring.responses("xvda")));
        await sys.writeFile("/run/pushes", `${first ? "notified" : "held off"}, ${second ? "notified" : "held off"}`);
        await sys.writeFile("/run/answers", answers.map((a) => `${a.id}:${a.status}`).join(" "));
      },
    },
  },
  invariants: [
    "isolation",
    "progress",
    {
      name: "both reads are answered OKAY",
      atEnd: true,
      check: (world) => {
        const a = world.readFile("work", "/run/answers");
        return a === "1:OKAY 2:OKAY" || `the guest got ${a ?? "no answers"}`;
      },
    },
  ],
  sometimes: [
    { name: "the second push was held off (blkback had not re-armed req_event yet)", check: (world) => world.readFile("work", "/run/pushes") === "notified, held off" },
    { name: "the second push notified (blkback had served the first and asked for the next)", check: (world) => world.readFile("work", "/run/pushes") === "notified, notified" },
  ],
});
