// Read-only views of a kernel's state for checks, invariants and the UI.
// They read with `store.peek`, never into a footprint: looking is not a step.

import type { DeviceView } from "blocklab";
import type { Store } from "../sim/store";
import { DISK, DM, LOOP } from "./objects";
import { backingPath } from "./loop/device";

/** The registered, live disks of domain `d`, sorted by name (loop devices by index). */
export function deviceViews(store: Store, d: string): DeviceView[] {
  const out: DeviceView[] = [];
  // Only the disks (of every domain, as an invariant that calls this has always watched them), not every object.
  for (const key of DISK.peekList(store)) {
    if (!DISK.inScope(key, d)) continue;
    const disk = DISK.peek(store, key)!;
    if (!disk.registered || !disk.live) continue;
    const v: DeviceView = {
      path: `/dev/${disk.name}`, name: disk.name, major: disk.major, minor: disk.minor, diskseq: disk.diskseq,
      driver: disk.driver, sectors: disk.sectors, readOnly: disk.readOnly, openers: disk.openers, state: "",
    };
    if (disk.driver === "loop") {
      const lo = LOOP.peek(store, disk.driverKey);
      v.state = lo?.state ?? "gone";
      if (lo?.backing) v.backing = backingPath(lo, (k) => DISK.peek(store, k)?.name);
    } else {
      const md = DM.peek(store, disk.driverKey);
      v.state = !md ? "gone" : md.live === null ? "no table" : md.suspended ? "suspended" : "active";
      if (md?.name) v.dmName = md.name;
    }
    out.push(v);
  }
  return out.sort((a, b) => a.major - b.major || a.minor - b.minor);
}
