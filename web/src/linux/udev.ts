// udev, as its own kernel-side actor per domain (`kernel:udev`): it takes
// the uevents the kernel queued and makes or removes the symlinks that
// userspace finds devices by, later and asynchronously, as the real daemon
// does: `/dev/disk/by-diskseq/N` and `/dev/mapper/NAME`. Between a device
// change and udev's step, those links are stale; that window is what several
// lessons are about. docs/linux-model.md §7.1.
//
// The rules are a simplification of systemd's 60-persistent-storage.rules
// (by-diskseq from the event's DISKSEQ) and lvm2's 10-dm.rules (mapper/NAME
// from the device's dm/name when udev processes the event); not verified
// against the rule files (open question 9 of the design).

import type { Op, StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { DISK, DM, SYMLINK, UDEVDB, UEVENTS, type MappedDevice, type UEvent } from "./objects";

const BY_DISKSEQ = "/dev/disk/by-diskseq";

/** Queues of the domain with pending events, by device name. */
function pendingQueues(store: Store, d: string): string[] {
  return UEVENTS.list(store, d);
}

function setLink(ctx: StepContext, d: string, path: string, target: string): void {
  const key = SYMLINK.key(d, path);
  const old = SYMLINK.get(ctx.store, key);
  if (old?.target !== target) SYMLINK.set(ctx.store, key, { target });
}

/** Removes a link this device made, unless another device has taken it over since. */
function dropLink(ctx: StepContext, d: string, path: string, target: string): void {
  const key = SYMLINK.key(d, path);
  if (SYMLINK.get(ctx.store, key)?.target === target) SYMLINK.delete(ctx.store, key);
}

/** The mapped device behind a dm-N name, if it still exists. */
function mappedDevice(store: Store, d: string, name: string): MappedDevice | undefined {
  const m = /^dm-(\d+)$/.exec(name);
  return m ? DM.get(store, DM.key(d, Number(m[1]))) : undefined;
}

/** Applies the rules to one event: what udev's worker does for it. */
export function udevProcess(ctx: StepContext, d: string, ev: UEvent): void {
  const dbKey = UDEVDB.key(d, ev.name);
  const db = UDEVDB.get(ctx.store, dbKey) ?? { links: [] };
  const devPath = `/dev/${ev.name}`;
  if (ev.action === "remove") {
    for (const l of db.links) dropLink(ctx, d, l, targetFor(l, ev.name));
    if (db.links.length > 0) UDEVDB.delete(ctx.store, dbKey);
    ctx.emit({ kind: "udev", domain: d, action: "remove", name: ev.name, links: db.links });
    return;
  }
  const want: string[] = [];
  if (ev.diskseq > 0) want.push(`${BY_DISKSEQ}/${ev.diskseq}`);
  if (ev.name.startsWith("dm-")) {
    // 10-dm.rules: the name as dm/name shows it when the event is processed.
    const md = mappedDevice(ctx.store, d, ev.name);
    const disk = md ? DISK.get(ctx.store, md.disk) : undefined;
    if (md?.name && md.live && disk?.registered) want.push(`/dev/mapper/${md.name}`);
  }
  for (const l of db.links) if (!want.includes(l)) dropLink(ctx, d, l, targetFor(l, ev.name));
  for (const l of want) setLink(ctx, d, l, targetFor(l, ev.name));
  if (want.length > 0 || db.links.length > 0) UDEVDB.set(ctx.store, dbKey, { links: want });
  ctx.emit({ kind: "udev", domain: d, action: ev.action, name: ev.name, links: want, device: devPath });
}

/** The relative target udev writes for a link to /dev/<name>. */
function targetFor(linkPath: string, name: string): string {
  const depth = linkPath.split("/").length - 3; // "/dev/x" → 0, "/dev/mapper/x" → 1, "/dev/disk/by-diskseq/x" → 2
  return `${"../".repeat(depth)}${name}`;
}

/** One udev step: the oldest event of one device with pending events (which device: a choice point, as udev's workers run in parallel). */
export function udevStep(d: string): Op<void> {
  return {
    call: "udev",
    args: [],
    waitingFor: "a uevent",
    ready: (store) => pendingQueues(store, d).length > 0,
    run: (ctx) => {
      const queues = pendingQueues(ctx.store, d);
      const qk = queues.length === 1 ? queues[0]! : queues[ctx.choose("udev.device", queues.length)]!;
      const q = UEVENTS.get(ctx.store, qk)!;
      const [ev, ...rest] = q.events;
      if (rest.length === 0) UEVENTS.delete(ctx.store, qk);
      else UEVENTS.set(ctx.store, qk, { events: rest });
      udevProcess(ctx, d, ev!);
    },
  };
}

/** udev's coldplug at boot: every queued event handled before anything else runs. */
export function udevSettle(ctx: StepContext, d: string): void {
  for (const qk of pendingQueues(ctx.store, d)) {
    for (const ev of UEVENTS.get(ctx.store, qk)!.events) udevProcess(ctx, d, ev);
    UEVENTS.delete(ctx.store, qk);
  }
}
