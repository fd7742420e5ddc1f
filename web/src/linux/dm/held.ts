// md->table_devices: the lower disks a mapped device holds open, each once,
// whichever of its tables (live, inactive) and targets use them. Its own
// file because both the table code (which opens and closes them) and sysfs
// (whose slaves/ lists them) need it, and sysfs cannot import the table
// code (which resolves paths through the VFS, which reads sysfs).

import type { DmTable } from "../objects";

/** The gendisks a set of tables holds open, each once, in first-use order. */
export function heldDevices(tables: (DmTable | null)[]): string[] {
  const out: string[] = [];
  for (const t of tables) for (const dev of t?.devices ?? []) if (!out.includes(dev)) out.push(dev);
  return out;
}
