// What the sandbox sends for the views of the world at each step (devices,
// xenstore, blkif rings). The worker replays the trace once and records the
// world after every step; the page only looks values up, so moving the step
// slider never recomputes anything. To stay small, each view is sent as it
// changes: devices and rings as deduplicated frames with a frame index per
// step, xenstore as the initial tree plus the nodes each step wrote.

/** One block device as `lsblk` would list it, plus what the kernel model knows. */
export interface DeviceRow {
  name: string;
  /** "7:0" */
  majmin: string;
  diskseq: number;
  driver: string;
  sectors: number;
  readOnly: boolean;
  /** The loop device's backing file (or disk), when bound. */
  backing?: string;
  /** bd_openers: fds plus in-kernel opens (dm tables, blkback). */
  openers: number;
  /** Loop: unbound, bound, rundown, deleting; dm: active, suspended, no table. */
  state: string;
  /** sysfs holders/: upper disks that claimed this one. */
  holders: string[];
  /** The exclusive claim (an O_EXCL fd, "dm:<d>", blkback) and how many claims it holds. */
  claim?: string;
  dmName?: string;
}

export interface DomainDevices {
  domain: string;
  devices: DeviceRow[];
}

/** A xenstore node as the views need it (xenstored's node: value, permissions in wire form, children in creation order). */
export interface XsNodeView {
  value: string;
  perms: string[];
  children: string[];
}

/** One blkif ring at a step: the shared indices as ring.h draws them, each side's private ones, and the slots in use. */
export interface RingView {
  /** "work/51712": the frontend's domain and device id. */
  id: string;
  frontend: { domain: string; domid: number; nodename: string };
  backend: { domain: string; domid: number; nodename: string };
  /** Ring size (slots). */
  entries: number;
  /** The shared page's indices (req_prod, req_event, rsp_prod, rsp_event), when the page could be read. */
  shared?: { req_prod: number; req_event: number; rsp_prod: number; rsp_event: number };
  /** The frontend's private indices. */
  front?: { req_prod_pvt: number; rsp_cons: number; state: string };
  /** The backend's private indices, while connected. */
  back?: { req_cons: number; rsp_prod_pvt: number; state: string };
  /** Pending notifications: the event channel's pending bit towards each side. */
  notifyBack: boolean;
  notifyFront: boolean;
  /** Requests pushed and answered so far (the store's mirror, free-running). */
  pushed: number;
  answered: number;
  /** Slots between rsp_cons and req_prod_pvt, oldest first. */
  slots: RingSlot[];
}

export interface RingSlot {
  /** The free-running index; the slot is index % entries. */
  index: number;
  slot: number;
  /** queued: written, not pushed; request: pushed, not taken; taken: the backend consumed it; response: answered, not consumed. */
  state: "queued" | "request" | "taken" | "response";
  /** What the entry holds: "READ sector 0, 8 segs", "OKAY id 3". */
  text: string;
}

/** Frames of one view: `at[s]` is the frame after s steps (0: the initial world). */
export interface Frames<T> {
  frames: T[];
  at: number[];
}

export interface WorldFrames {
  /** Steps covered (the trace's length, unless the replay stopped early: see `note`). */
  steps: number;
  devices: Frames<DomainDevices[]>;
  /** The tree at step 0, and per step (index s - 1 for step s) the nodes it wrote: a node, or null when removed. */
  xenstore: { initial: Record<string, XsNodeView>; changes: [path: string, node: XsNodeView | null][][] };
  rings: Frames<RingView[]>;
  /** Why some steps have no view (the replay could not follow the trace). */
  note?: string;
  /** How long the sandbox took to record it (ms). */
  recordMs?: number;
}
