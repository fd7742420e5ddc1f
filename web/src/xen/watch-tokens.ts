// The kernel's xenstore watch callbacks, by name, and the token each of
// their watches carries. A token is how xenwatch finds the callback of an
// event (xenwatch.ts's table, one handler per name); the drivers that
// register the watches build it here. Tokens are stored in watch records
// and events, so their spelling is part of the state: it must not change.
//
//   a bus watch (one per kernel):   the token alone                "blkback:bus"
//   a device watch (one per device): the token's head + nodename   "blkback:pd:/local/domain/0/backend/vbd/1/51712"

/** Watches a kernel holds once: their token is fixed. */
const BUS_TOKENS = {
  /** blkback's watch on its backend/vbd tree. */
  blkbackBus: "blkback:bus",
  /** blkfront's watch on its device/vbd tree. */
  blkfrontBus: "blkfront:bus",
  /** The guest's control/shutdown node. */
  guestShutdown: "control:shutdown",
} as const;

/** Watches a driver holds per device: the token is this head and the device's nodename. */
const DEVICE_TOKENS = {
  /** blkback: the backend's physical-device node (backend_changed). */
  blkbackPhysicalDevice: "blkback:pd:",
  /** blkback: the frontend's state node (frontend_changed). */
  blkbackOtherend: "blkback:fe:",
  /** blkfront: the backend's state node (blkback_changed). */
  blkfrontBackend: "blkfront:be:",
} as const;

export type BusCallback = keyof typeof BUS_TOKENS;
export type DeviceCallback = keyof typeof DEVICE_TOKENS;
export type WatchCallback = BusCallback | DeviceCallback;

export function busToken(callback: BusCallback): string {
  return BUS_TOKENS[callback];
}

export function deviceToken(callback: DeviceCallback, nodename: string): string {
  return DEVICE_TOKENS[callback] + nodename;
}

const BUS = Object.entries(BUS_TOKENS) as [BusCallback, string][];
const DEVICE = Object.entries(DEVICE_TOKENS) as [DeviceCallback, string][];

/**
 * The callback a token names and its subject: the device's nodename for a
 * device watch, `path` (the event's) for a bus watch; undefined for a token
 * no kernel callback registers.
 */
export function decodeToken(token: string, path: string): { callback: WatchCallback; subject: string } | undefined {
  for (const [callback, t] of BUS) if (token === t) return { callback, subject: path };
  for (const [callback, head] of DEVICE) if (token.startsWith(head)) return { callback, subject: token.slice(head.length) };
  return undefined;
}
