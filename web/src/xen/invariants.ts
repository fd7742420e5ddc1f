// The built-in invariants that need Xen (docs/patch-series.md, "Built-in invariants"):
//
// - isolation: a guest only ever reads or writes data of images it was
//   given. Every image file may name its `owner`; blkback's vbd records the
//   images its disk's stack reached when it opened it (what it exports) and
//   every image its ring batches reached (what it served). Any of them owned
//   by another domain than the frontend's is a breach, as is exporting a
//   disk whose backing is not the image the toolstack named in `params`.
// - no-leak (at the end): once every guest (every domain but dom0 and the
//   driver domains) is gone, no loop device (of any domain) is bound
//   to an image of a dead VM, no dm device reaches one, no ring is still
//   mapped by blkback, and no process holds an fd.
//
// Both read with `store.peek`: looking is not a step.

import type { Store } from "../sim/store";
import { FILE, filePath, type ImageFile } from "../linux/files";
import { DISK, DM, FDTABLE, LOOP } from "../linux/objects";
import { xsPeek } from "./xenstore";
import { BLKBACK, BLKRING, ringOf } from "./blkback";
import { domainAlive } from "./domain";

function ownerOf(store: Store, key: string): string | undefined {
  const f = FILE.peek(store, key);
  return f !== undefined && "image" in f ? (f as ImageFile).owner : undefined;
}


export function isolationViolation(store: Store, domains: readonly string[]): string | undefined {
  // peekList, not peekKeys: the explorer treats what a check lists as visible, so listing only blkback's devices keeps every other creation independent of it.
  for (const key of BLKBACK.peekList(store)) {
    const be = BLKBACK.peek(store, key)!;
    if (!be.vbd) continue;
    const guest = domains[be.frontendId] ?? `domain ${be.frontendId}`;
    for (const img of new Set([...be.vbd.images, ...be.served])) {
      const owner = ownerOf(store, img);
      if (owner !== undefined && owner !== guest) {
        return `${guest} was given ${filePath(img)}, the image of ${owner}: blkback opened ${be.vbd.major.toString(16)}:${be.vbd.minor.toString(16)} for ${be.nodename} and found ${owner}'s data behind it`;
      }
    }
    const params = xsPeek(store, `${be.nodename}/params`);
    const backendDomain = domains[Number(BLKBACK.scopeOf(key))] ?? "dom0";
    if (params !== undefined && be.vbd.images.length > 0 && FILE.peek(store, FILE.key(backendDomain, params)) !== undefined && !be.vbd.images.includes(FILE.key(backendDomain, params))) {
      return `blkback exported ${be.vbd.images.map(filePath).join(", ")} as ${guest}'s disk, but the toolstack asked for ${params}`;
    }
  }
  return undefined;
}

/** The images a disk's stack reaches, by peeking (loop backing files, dm tables' devices). */
function imagesUnder(store: Store, diskKey: string, depth = 0): string[] {
  const disk = DISK.peek(store, diskKey);
  if (!disk || depth > 16) return [];
  if (disk.driver === "loop") {
    const lo = LOOP.peek(store, disk.driverKey);
    if (!lo?.backing) return [];
    return DISK.is(lo.backing.file) ? imagesUnder(store, lo.backing.file, depth + 1) : [lo.backing.file];
  }
  const md = DM.peek(store, disk.driverKey);
  return (md?.live?.devices ?? []).flatMap((d) => imagesUnder(store, d, depth + 1));
}

export function leakViolation(store: Store, domains: readonly string[], backends: ReadonlySet<number> = new Set([0])): string | undefined {
  // The VMs: every domain but dom0 and the driver domains (which serve the others and stay).
  const vms = domains.filter((_, domid) => !backends.has(domid) && domid > 0);
  const dead = new Set(vms.filter((name) => !domainAlive(store, domains.indexOf(name))));
  // Only once every VM is gone: before, a device may still be in use.
  if (vms.length === 0 || dead.size < vms.length) return undefined;
  const deadImage = (img: string) => {
    const o = ownerOf(store, img);
    return o !== undefined && dead.has(o);
  };
  // Each kind listed on its own (see isolationViolation), all of them whatever is found first; the
  // kinds in the order their names sort (which message comes first).
  const [backs, mds, tables, loops] = [BLKBACK, DM, FDTABLE, LOOP].map((kind) => kind.peekList(store));
  for (const key of backs!) {
    const be = BLKBACK.peek(store, key)!;
    if (BLKRING.peek(store, ringOf(key))?.dpRing != null) return `blkback still maps the ring of ${be.nodename}`;
    if (be.vbd) return `blkback still holds ${be.vbd.major.toString(16)}:${be.vbd.minor.toString(16)} for ${be.nodename}`;
  }
  for (const key of mds!) {
    const md = DM.peek(store, key)!;
    const img = imagesUnder(store, md.disk).find(deadImage);
    if (img) return `dm device ${md.name ?? key} still maps ${filePath(img)} of ${ownerOf(store, img)}, which is gone`;
  }
  for (const key of tables!) {
    const t = FDTABLE.peek(store, key)!;
    const n = Object.keys(t.fds).length;
    const d = FDTABLE.scopeOf(key);
    if (n > 0) return `${FDTABLE.tail(key, d)} in ${d} still holds ${n} open fd${n > 1 ? "s" : ""}`;
  }
  for (const key of loops!) {
    const lo = LOOP.peek(store, key)!;
    const disk = DISK.peek(store, lo.disk);
    const img = imagesUnder(store, lo.disk).find(deadImage);
    if (img && (lo.state === "bound" || lo.state === "rundown")) {
      return `${disk?.name ?? key} is still bound to ${filePath(img)} of ${ownerOf(store, img)}, which is gone`;
    }
  }
  return undefined;
}
