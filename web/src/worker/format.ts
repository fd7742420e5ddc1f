// Short texts for the views: a trace's arguments and results, its kernel events.

import { callText as callTextOf, formatValue } from "../sim/format-value";

/** Characters of one value in the views (the timeline, step mode, compare). */
const MAX = 80;

export function short(v: unknown): string {
  return formatValue(v, MAX);
}

export function callText(call: string, args: readonly unknown[]): string {
  return callTextOf(call, args, MAX);
}

/** The kinds of kernel events, for their colour on the timeline. */
export type EventClass = "uevent" | "diskseq" | "watch" | "evtchn" | "blkback" | "other";

interface AnyEvent {
  kind?: string;
  [k: string]: unknown;
}

/** A kernel event (what a step emitted: sim/op.ts KernelEvent) in the words of its subsystem. */
export function eventText(e: unknown): { cls: EventClass; text: string } {
  const ev = (typeof e === "object" && e !== null ? e : {}) as AnyEvent;
  const s = (k: string) => String(ev[k] ?? "");
  const at = ev.domain !== undefined && ev.domain !== "dom0" ? `@${s("domain")} ` : "";
  switch (ev.kind) {
    case "uevent":
      return { cls: "uevent", text: `${at}uevent ${s("action")} ${s("name")} (diskseq ${s("diskseq")})` };
    case "udev":
      return { cls: "uevent", text: `${at}udev ${s("action")} ${s("name")}${Array.isArray(ev.links) && ev.links.length > 0 ? ` → ${(ev.links as unknown[]).join(" ")}` : ""}` };
    case "diskseq":
      return { cls: "diskseq", text: `${at}diskseq ${s("name")} ${s("from")} → ${s("to")}` };
    case "disk-alloc":
      return { cls: "diskseq", text: `${at}new disk ${s("name")} (diskseq ${s("diskseq")})` };
    case "disk-del":
      return { cls: "diskseq", text: `${at}del_gendisk ${s("name")} (diskseq ${s("diskseq")})` };
    case "loop-state":
      return { cls: "other", text: `${at}loop${s("index")} ${s("from")} → ${s("to")}` };
    case "dm-alloc":
      return { cls: "other", text: `${at}dm-${s("minor")} allocated` };
    case "dm-free":
      return { cls: "other", text: `${at}dm-${s("minor")} freed` };
    case "xs-watch-event":
      return { cls: "watch", text: `watch fires ${s("path")} (${s("token")})` };
    case "xs-watch-coalesced":
      return { cls: "watch", text: `watch event coalesced ${s("path")} (${s("token")})` };
    case "evtchn":
      return { cls: "evtchn", text: `evtchn dom${s("from")}:${s("port")} → dom${s("to")}${ev.remotePort !== undefined ? `:${s("remotePort")}` : ""}` };
    case "blkback":
      return { cls: "blkback", text: `blkback: ${s("message")}` };
    default:
      return { cls: "other", text: short(e) };
  }
}

/**
 * The order of the timeline's lanes: the scenario's own actors (and the
 * processes the model starts for them, such as hotplug scripts) first, the
 * kernel threads after, each group in the trace's order. The trace lists
 * the kernel threads first (they run first by default), but a reader looks
 * for their own actors.
 */
export function laneOrder<T extends { name: string }>(actors: readonly T[]): T[] {
  const kernel = (a: T) => a.name.startsWith("kernel:");
  return [...actors.filter((a) => !kernel(a)), ...actors.filter(kernel)];
}
