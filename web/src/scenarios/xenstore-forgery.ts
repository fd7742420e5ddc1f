// VM work's kernel is hostile: it tries to point its disk's backend at
// vault's image by writing the backend's xenstore keys itself. The
// toolstack (libxl's way) creates the backend directory in dom0's tree,
// readable by work and writable only by dom0, in one transaction; so every
// forgery is refused with EACCES, whenever it is tried. The protocol
// protects the host from the guest.
//
// It does not protect the host from itself. The backend here is a
// userspace one in dom0 (QEMU's qdisk, as a stand-in): it reports
// Connected, then writes one more feature key with a plain write. The
// toolstack saw Connected, the VM went away, and it removed the device
// directory in between: the late write re-creates the directory (xenstore
// creates missing parents), a stale device that nothing will clean up.
// xenstore-forgery-fixed writes that key the way xenbus_switch_state does.
import { scenario, type Sys } from "blocklab";

const BE = "/local/domain/0/backend/qdisk/1/51712";
const WORK_IMG = "/var/lib/images/work.img";
const VAULT_IMG = "/var/lib/images/vault.img";

async function toolstack(sys: Sys): Promise<void> {
  // libxl: the whole backend directory, with its permissions, in one transaction.
  await sys.xenstore.transaction(async (tx) => {
    await tx.write(BE, "");
    await tx.setPerms(BE, ["n0", "r1"]); // dom0 owns it; work may read it
    await tx.write(`${BE}/frontend-id`, "1");
    await tx.write(`${BE}/params`, WORK_IMG);
    await tx.write(`${BE}/state`, "1");
  });
  await sys.xenstore.waitFor(`${BE}/state`, (v) => v === "4");
  // VM work is shut down: the toolstack removes its device.
  await sys.xenstore.rm(BE);
}

/** The backend (qdisk in QEMU, dom0): opens `params`, reports Connected, then advertises a feature with a plain write. */
async function backend(sys: Sys): Promise<void> {
  const params = await sys.xenstore.waitFor(`${BE}/params`, (v) => v !== undefined);
  await sys.log(`backend serves ${params}`);
  await sys.xenstore.write(`${BE}/state`, "4");
  await sys.xenstore.write(`${BE}/feature-flush-cache`, "1");
}

/** VM work's kernel, hostile: point the backend at vault's image. */
async function guest(sys: Sys): Promise<void> {
  let outcome = "written";
  try {
    await sys.xenstore.write(`${BE}/params`, VAULT_IMG);
  } catch (e) {
    outcome = (e as { errno: string }).errno;
  }
  await sys.xenstore.write("data/forgery", outcome); // its own key: allowed
}

export default scenario({
  title: "A guest forging backend keys, and the host's own race",
  domains: { work: {}, vault: {} },
  actors: {
    toolstack,
    backend,
    guest: { domain: "work", run: guest },
  },
  invariants: [
    "progress",
    {
      name: "no forgery",
      check: (world) => (world.xenstore(`${BE}/params`) === VAULT_IMG ? "work pointed its backend at vault's image" : undefined),
    },
    {
      name: "no stale device",
      atEnd: true,
      check: (world) => (world.xenstore(BE) !== undefined ? `${BE} exists after the toolstack removed it: a late write re-created it` : undefined),
    },
  ],
  sometimes: [
    { name: "the forgery was tried and refused", check: (world) => (world.xenstore("/local/domain/1/data/forgery") === "EACCES" ? undefined : "not yet") },
  ],
});
