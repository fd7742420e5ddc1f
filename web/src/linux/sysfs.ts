// sysfs as the model shows it: nothing is stored; each read computes the
// value from the objects it reads, so the footprint is exact (reading
// /sys/block/loop0/diskseq reads loop:<d>:0 and its disk, nothing else).
// docs/linux-model.md §3.5.

import type { Store } from "../sim/store";
import { fail, type Kernel } from "./kernel";
import { DISK, DM, LOOP, type Gendisk } from "./objects";
import { heldDevices } from "./dm/held";
import { backingPath } from "./loop/device";

/** The registered, live disk behind a /sys/block/<name> directory, or undefined. */
export function sysBlockDisk(store: Store, d: string, name: string): { key: string; disk: Gendisk } | undefined {
  let key: string | undefined;
  const loop = /^loop(0|[1-9]\d*)$/.exec(name);
  const dm = /^dm-(0|[1-9]\d*)$/.exec(name);
  if (loop) key = LOOP.get(store, LOOP.key(d, Number(loop[1])))?.disk;
  else if (dm) key = DM.get(store, DM.key(d, Number(dm[1])))?.disk;
  if (key === undefined) return undefined;
  const disk = DISK.get(store, key);
  return disk && disk.registered && disk.live ? { key, disk } : undefined;
}

type Dir = { kind: "dir"; entries: () => string[] };
type Attr = { kind: "attr"; value: () => string };
/** A symlink; `target` is relative to the link's directory, as kernfs writes it. */
type Link = { kind: "link"; target: string };
type Node = Dir | Attr | Link;

/** What a sysfs path is, for the VFS: a directory with its entries, an attribute, or a symlink. */
export type SysfsEntry = { kind: "dir"; entries: string[] } | { kind: "attr" } | { kind: "link"; target: string };

const bool = (b: boolean) => (b ? "1\n" : "0\n");

/** What a sysfs path is: a directory with its entries, an attribute with its value, or undefined. */
function sysfsNode(store: Store, k: Kernel, d: string, path: string): Node | undefined {
  const parts = path.split("/").slice(1);
  if (parts[0] !== "sys") return undefined;
  if (parts.length === 1) return { kind: "dir", entries: () => ["block", "module"] };
  if (parts[1] === "module") {
    const tree = ["module", "loop", "parameters", "max_loop"];
    for (let i = 2; i < parts.length; i++) if (parts[i] !== tree[i - 1]) return undefined;
    if (parts.length === 5) return { kind: "attr", value: () => `${k.cfg.maxLoop}\n` };
    return { kind: "dir", entries: () => [tree[parts.length - 1]!] };
  }
  if (parts[1] !== "block") return undefined;
  if (parts.length === 2) {
    return {
      kind: "dir",
      entries: () => {
        const names: string[] = [];
        for (const key of DISK.list(store, d)) {
          const disk = DISK.get(store, key)!;
          if (disk.registered && disk.live) names.push(disk.name);
        }
        return names.sort();
      },
    };
  }
  const found = sysBlockDisk(store, d, parts[2]!);
  if (!found) return undefined;
  const { disk } = found;
  const rest = parts.slice(3);
  const loop = disk.driver === "loop" ? LOOP.get(store, disk.driverKey) : undefined;
  const loopAttrs = loop && (loop.state === "bound" || loop.state === "rundown");
  const md = disk.driver === "dm" ? DM.get(store, disk.driverKey) : undefined;
  // bd_link_disk_holder makes both links of a pair at once (block/holder.c):
  // the lower disk's holders/<upper> and the upper disk's slaves/<lower>.
  // Only dm links holders in the model, so a disk's slaves are the devices
  // its tables hold whose holders/ name it: read from that one record.
  const slaves = (): string[] => {
    if (!md) return [];
    const names: string[] = [];
    for (const key of heldDevices([md.live, md.inactive])) {
      const lower = DISK.get(store, key);
      if (lower?.holders.includes(disk.name)) names.push(lower.name);
    }
    return names;
  };
  const top: Record<string, Node> = {
    dev: { kind: "attr", value: () => `${disk.major}:${disk.minor}\n` },
    diskseq: { kind: "attr", value: () => `${disk.diskseq}\n` },
    ro: { kind: "attr", value: () => bool(disk.readOnly) },
    size: { kind: "attr", value: () => `${disk.sectors}\n` },
    holders: { kind: "dir", entries: () => [...disk.holders].sort() },
    slaves: { kind: "dir", entries: () => slaves().sort() },
  };
  if (loopAttrs) {
    const lo = loop!;
    const attrs: Record<string, string> = {
      backing_file: `${backingPath(lo, (key) => DISK.get(store, key)?.name)}\n`,
      offset: `${lo.offset}\n`,
      sizelimit: `${lo.sizelimit}\n`,
      autoclear: bool((lo.flags & 4) !== 0),
      partscan: bool((lo.flags & 8) !== 0),
      dio: bool((lo.flags & 16) !== 0),
    };
    top.loop = { kind: "dir", entries: () => Object.keys(attrs).sort() };
    if (rest[0] === "loop" && rest.length === 2) {
      const v = attrs[rest[1]!];
      return v === undefined ? undefined : { kind: "attr", value: () => v };
    }
  }
  if (md) {
    const attrs: Record<string, string> = {
      name: `${md.name ?? ""}\n`,
      uuid: `${md.uuid ?? ""}\n`,
      suspended: bool(md.suspended),
    };
    top.dm = { kind: "dir", entries: () => Object.keys(attrs).sort() };
    if (rest[0] === "dm" && rest.length === 2) {
      const v = attrs[rest[1]!];
      return v === undefined ? undefined : { kind: "attr", value: () => v };
    }
  }
  if (rest.length === 0) return { kind: "dir", entries: () => Object.keys(top).sort() };
  if (rest.length === 1) return top[rest[0]!];
  const linked = rest[0] === "holders" ? disk.holders.includes(rest[1]!) : rest[0] === "slaves" && slaves().includes(rest[1]!);
  if (!linked) return undefined;
  // Both directories live under /sys/devices/virtual/block/<name>, so kernfs
  // writes the link to a sibling disk as ../../<other> (kernfs_get_target_path);
  // in the model's /sys/block that resolves to the same directory.
  if (rest.length === 2) return { kind: "link", target: `../../${rest[1]}` };
  // A path through the link continues in the other disk's directory.
  return sysfsNode(store, k, d, `/sys/block/${rest.slice(1).join("/")}`);
}

export function isSysfsPath(path: string): boolean {
  return path === "/sys" || path.startsWith("/sys/");
}

/** The text of a sysfs attribute (the VFS has followed any link before). */
export function readSysfs(store: Store, k: Kernel, d: string, path: string): string {
  const n = sysfsNode(store, k, d, path);
  if (!n) fail("ENOENT", `${path}: no such file or directory`);
  if (n.kind !== "attr") fail("EISDIR", `${path} is a directory`);
  return n.value();
}

/** What is at a sysfs path (a directory's entries sorted), or undefined when nothing is. */
export function sysfsEntry(store: Store, k: Kernel, d: string, path: string): SysfsEntry | undefined {
  const n = sysfsNode(store, k, d, path);
  if (!n) return undefined;
  if (n.kind === "dir") return { kind: "dir", entries: n.entries() };
  return n.kind === "link" ? n : { kind: "attr" };
}
