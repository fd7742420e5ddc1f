// The fix for xenstore-forgery's host-side race: the backend writes its late
// key the way xenbus_switch_state writes `state`: in a transaction that
// first reads the device's `state` and writes nothing if the device is
// gone. A removal between that read and the commit fails the commit with
// EAGAIN; the retry finds the device gone. The guest's forgery is refused
// as before.
import { scenario, type Sys } from "blocklab";

const BE = "/local/domain/0/backend/qdisk/1/51712";
const WORK_IMG = "/var/lib/images/work.img";
const VAULT_IMG = "/var/lib/images/vault.img";

async function toolstack(sys: Sys): Promise<void> {
  await sys.xenstore.transaction(async (tx) => {
    await tx.write(BE, "");
    await tx.setPerms(BE, ["n0", "r1"]);
    await tx.write(`${BE}/frontend-id`, "1");
    await tx.write(`${BE}/params`, WORK_IMG);
    await tx.write(`${BE}/state`, "1");
  });
  await sys.xenstore.waitFor(`${BE}/state`, (v) => v === "4");
  await sys.xenstore.rm(BE);
}

async function backend(sys: Sys): Promise<void> {
  const params = await sys.xenstore.waitFor(`${BE}/params`, (v) => v !== undefined);
  await sys.log(`backend serves ${params}`);
  await sys.xenstore.write(`${BE}/state`, "4");
  const written = await sys.xenstore.transaction(async (tx) => {
    const state = await tx.read(`${BE}/state`).catch(() => undefined);
    if (state === undefined) return false; // the device is gone: write nothing
    await tx.write(`${BE}/feature-flush-cache`, "1");
    return true;
  });
  if (!written) await sys.writeFile("/run/backend", "device gone");
}

async function guest(sys: Sys): Promise<void> {
  let outcome = "written";
  try {
    await sys.xenstore.write(`${BE}/params`, VAULT_IMG);
  } catch (e) {
    outcome = (e as { errno: string }).errno;
  }
  await sys.xenstore.write("data/forgery", outcome);
}

export default scenario({
  title: "A backend that writes like xenbus_switch_state leaves no stale device",
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
    { name: "the backend's late write met a removed device", check: (world) => (world.readFile("dom0", "/run/backend") === "device gone" ? undefined : "not yet") },
  ],
});
