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
import { fileKey, type FileObject, type ImageFile } from "../linux/files";
import type { FdTable, Gendisk, LoopDevice, MappedDevice } from "../linux/objects";
import { xsPeek } from "./xenstore";
import type { BlkbackDevice, BlkbackRing } from "./blkback";
import { domainAlive } from "./domain";

function ownerOf(store: Store, key: string): string | undefined {
  const f = store.peek<FileObject>(key);
  return f !== undefined && "image" in f ? (f as ImageFile).owner : undefined;
}

const pathOf = (key: string): string => key.slice(key.indexOf(":", 5) + 1);

export function isolationViolation(store: Store, domains: readonly string[]): string | undefined {
  // peekList, not peekKeys: the explorer treats what a check lists as visible, so listing only blkback's devices keeps every other creation independent of it.
  for (const key of store.peekList("blkback")) {
    const be = store.peek<BlkbackDevice>(key)!;
    if (!be.vbd) continue;
    const guest = domains[be.frontendId] ?? `domain ${be.frontendId}`;
    for (const img of new Set([...be.vbd.images, ...be.served])) {
      const owner = ownerOf(store, img);
      if (owner !== undefined && owner !== guest) {
        return `${guest} was given ${pathOf(img)}, the image of ${owner}: blkback opened ${be.vbd.major.toString(16)}:${be.vbd.minor.toString(16)} for ${be.nodename} and found ${owner}'s data behind it`;
      }
    }
    const params = xsPeek(store, `${be.nodename}/params`);
    const backendDomain = domains[Number(key.split(":")[1])] ?? "dom0";
    if (params !== undefined && be.vbd.images.length > 0 && store.peek(fileKey(backendDomain, params)) !== undefined && !be.vbd.images.includes(fileKey(backendDomain, params))) {
      return `blkback exported ${be.vbd.images.map(pathOf).join(", ")} as ${guest}'s disk, but the toolstack asked for ${params}`;
    }
  }
  return undefined;
}

/** The images a disk's stack reaches, by peeking (loop backing files, dm tables' devices). */
function imagesUnder(store: Store, diskKey: string, depth = 0): string[] {
  const disk = store.peek<Gendisk>(diskKey);
  if (!disk || depth > 16) return [];
  if (disk.driver === "loop") {
    const lo = store.peek<LoopDevice>(disk.driverKey);
    if (!lo?.backing) return [];
    return lo.backing.file.startsWith("disk:") ? imagesUnder(store, lo.backing.file, depth + 1) : [lo.backing.file];
  }
  const md = store.peek<MappedDevice>(disk.driverKey);
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
  // The kinds in the order the keys sort (which message comes first), each listed on its own (see isolationViolation).
  for (const key of ["blkback", "dm", "fdtable", "loop"].flatMap((kind) => store.peekList(kind))) {
    if (key.startsWith("loop:")) {
      const lo = store.peek<LoopDevice>(key)!;
      const disk = store.peek<Gendisk>(lo.disk);
      const img = imagesUnder(store, lo.disk).find(deadImage);
      if (img && (lo.state === "bound" || lo.state === "rundown")) {
        return `${disk?.name ?? key} is still bound to ${pathOf(img)} of ${ownerOf(store, img)}, which is gone`;
      }
    } else if (key.startsWith("dm:")) {
      const md = store.peek<MappedDevice>(key)!;
      const img = imagesUnder(store, md.disk).find(deadImage);
      if (img) return `dm device ${md.name ?? key} still maps ${pathOf(img)} of ${ownerOf(store, img)}, which is gone`;
    } else if (key.startsWith("blkback:")) {
      const be = store.peek<BlkbackDevice>(key)!;
      if (store.peek<BlkbackRing>(`blkring:${key.slice("blkback:".length)}`)?.dpRing != null) return `blkback still maps the ring of ${be.nodename}`;
      if (be.vbd) return `blkback still holds ${be.vbd.major.toString(16)}:${be.vbd.minor.toString(16)} for ${be.nodename}`;
    } else if (key.startsWith("fdtable:")) {
      const t = store.peek<FdTable>(key)!;
      const n = Object.keys(t.fds).length;
      if (n > 0) return `${key.split(":").slice(2).join(":")} in ${key.split(":")[1]} still holds ${n} open fd${n > 1 ? "s" : ""}`;
    }
  }
  return undefined;
}
