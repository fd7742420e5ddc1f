// A guest kernel is not obliged to run blkfront: it can write anything into
// the shared ring page and its own grant table. blkback copies each slot
// before it looks at it and checks it there (dispatch_rw_block_io,
// xen_vbd_translate, the grant maps), and refuses a producer index that runs
// more than a ring ahead of its responses (the ring is halted until the
// frontend reconnects). Whatever the guest writes, the answer is
// BLKIF_RSP_ERROR or a halted ring: never a crash of the backend, never a
// byte of another domain's disk.
//
// The hostile guest here sends, in one push: a read beyond the end of its
// disk (vault's image lies elsewhere in dom0, but only the vbd's own sectors
// can be named), a segment ending past its page, 12 segments (11 is the
// most), and a segment whose grant it never gave. Then it revokes the grant
// of a page it has just pushed a read for, racing blkback's map of it; and
// then it stores a producer index 33 slots ahead of the responses.
import { scenario, type Sys } from "blocklab";

async function phy(sys: Sys, be: string): Promise<void> {
  await sys.xenstore.write(`${be}/physical-device`, "7:0");
}

const seg = (page: number, lastSect = 7) => ({ page, firstSect: 0, lastSect });

export default scenario({
  title: "A hostile frontend: error answers and a halted ring, never another domain's data",
  kernel: "linux-6.1",
  patches: "none",
  domains: { work: {}, vault: {} },
  files: {
    "/var/lib/images/work.img": { size: "64K", owner: "work", fill: 0x11 },
    "/var/lib/images/vault.img": { size: "64K", owner: "vault", fill: 0x22 },
  },
  actors: {
    // As in ring-basics: the disk attached in few steps, the guest starting after.
    toolstack: async (sys) => {
      await sys.losetup.attach("/var/lib/images/work.img");
      await sys.losetup.attach("/var/lib/images/vault.img");
      await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy });
      await sys.xenstore.write("/local/domain/1/data/attached", "1");
    },
    guest: {
      domain: "work",
      run: async (sys) => {
        await sys.xenstore.waitFor("data/attached", (v) => v === "1");
        await sys.ring.push("xvda", [
          { operation: "READ", id: 1, sector: 128, segments: [seg(0)] }, // the disk has 128 sectors
          { operation: "READ", id: 2, sector: 0, segments: [seg(1, 8)] }, // sectors 0..8 of a 4K page
          { operation: "READ", id: 3, sector: 0, segments: Array.from({ length: 12 }, (_, i) => seg(i, 0)) },
          { operation: "WRITE", id: 4, sector: 0, segments: [{ gref: 4000, firstSect: 0, lastSect: 7 }] }, // never granted
        ]);
        const bad = await sys.ring.responses("xvda");
        await sys.writeFile("/run/bad", bad.map((r) => `${r.id}:${r.status}`).join(" "));
        // A read of page 20, and its grant revoked at once: before or after blkback maps it.
        await sys.ring.push("xvda", [{ operation: "READ", id: 5, sector: 0, segments: [seg(20)] }]);
        await sys.ring.revokeGrant("xvda", 20);
        const [raced] = await sys.ring.responses("xvda");
        await sys.writeFile("/run/raced", raced!.status);
        // A producer index far ahead of the responses.
        const { rsp_prod } = await sys.ring.indices("xvda");
        await sys.ring.setReqProd("xvda", (rsp_prod + 33) >>> 0);
      },
    },
  },
  invariants: [
    "isolation",
    "progress",
    {
      name: "every malformed request is answered BLKIF_RSP_ERROR",
      check: (world) => {
        const bad = world.readFile("work", "/run/bad");
        return bad === undefined || bad === "1:ERROR 2:ERROR 3:ERROR 4:ERROR" || `the backend answered ${bad}`;
      },
    },
  ],
  sometimes: [
    { name: "the revoke came first: the read of the revoked page got ERROR", check: (world) => world.readFile("work", "/run/raced") === "ERROR" },
    { name: "blkback mapped the page first: the read got OKAY", check: (world) => world.readFile("work", "/run/raced") === "OKAY" },
    { name: "blkback halted the ring as bogus", check: (world) => world.ring("work", "xvda")?.backend === "halted" },
  ],
});
