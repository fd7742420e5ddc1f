// DM_DEV_WAIT blocks in dm_wait_event until the device's event_nr differs
// from the caller's. In the model that wait is the step's guard: the
// ioctl is enabled once the event has happened (or once the device cannot
// be found, so that the step runs and reports ENXIO). [A] A waiter whose
// device is removed meanwhile gets ENXIO rather than the last status.

import type { Store } from "../../sim/store";
import type { Kernel } from "../kernel";
import { DM, FDTABLE, type MappedDevice } from "../objects";
import { cellByName, cellByUuid } from "./hash";

function waitedDevice(store: Store, k: Kernel, d: string, a: Record<string, unknown>): MappedDevice | undefined {
  const uuid = typeof a.uuid === "string" ? a.uuid : "";
  const name = typeof a.name === "string" ? a.name : "";
  const dev = a.dev as { major?: unknown; minor?: unknown } | undefined;
  if (uuid !== "") return cellByUuid(store, d, uuid)?.md;
  if (name !== "") return cellByName(store, d, name)?.md;
  if (dev && dev.major === k.cfg.dmMajor && typeof dev.minor === "number") {
    const md = DM.get(store, DM.key(d, dev.minor));
    return md && !md.deleting && md.name !== null ? md : undefined;
  }
  return undefined;
}

/** The guard of an ioctl by process `proc` on `fd`: undefined unless it is DM_DEV_WAIT, which waits only on /dev/mapper/control. */
export function dmIoctlReady(k: Kernel, d: string, proc: string, fd: unknown, name: unknown, arg: unknown): ((store: Store) => boolean) | undefined {
  if (name !== "DM_DEV_WAIT") return undefined;
  return (store) => {
    const f = FDTABLE.get(store, FDTABLE.key(d, proc))?.fds[String(fd)];
    if (f?.kind !== "misc" || f.dev !== "mapper-control") return true;
    if (typeof arg !== "object" || arg === null) return true;
    const a = arg as Record<string, unknown>;
    const md = waitedDevice(store, k, d, a);
    const want = typeof a.event_nr === "number" ? a.event_nr : 0;
    return md === undefined || md.eventNr !== want;
  };
}
