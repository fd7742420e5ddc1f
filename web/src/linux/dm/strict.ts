// How a kernel treats a caller's interface version and the flag bits it
// does not know (dmFlagPolicy, docs/linux-model.md §6.2):
// - `ignore` and `reject`: mainline's check_version (major 4, minor up to
//   the kernel's), unknown bits echoed; `reject` adds the RFC's EINVAL for
//   bits above 20 on DM_DEV_CREATE (fd.ts).
// - `strict-v5`, after "dm ioctl: Allow userspace to opt-in to strict
//   parameter checks" (v2 1/4, 2/4, and the EXISTS revision): the kernel
//   says 4.49/5.49; a major-5 caller opts into strict checking of every
//   header field, of the flags each command supports, and of the diskseq
//   it expects. A major-4 caller keeps the old rules; with `dm-fd` on, the
//   bits from 20 up are hidden from its commands and echoed back, so a
//   sloppy caller never gets an fd by accident.

import { fail, type Kernel } from "../kernel";
import type { CommandRow } from "./commands";
import type { DmParam } from "./header";
import { byteLength } from "./header";
import { DM_DISABLE_UEVENTS_FLAG, DM_FLAGS, DM_IOCTL_SIZE, DM_NAME_LEN, DM_UUID_LEN, type DmCommand } from "./uapi";

const F = DM_FLAGS;
/** DM_VERSION_MINOR once strict mode exists. */
const STRICT_MINOR = 49;

export interface VersionCheck {
  ok: boolean;
  /** What check_version writes back, pass or fail. */
  reply: [number, number, number];
  /** The caller opted into strict mode (strict-v5, major 5). */
  strict: boolean;
}

/** check_version: the major must match, the minor may not exceed the kernel's; the patch level is ignored. */
export function checkVersion(k: Kernel, v: [number, number, number]): VersionCheck {
  if (k.cfg.dmFlagPolicy !== "strict-v5") {
    const kv = k.cfg.dmVersion;
    return { ok: v[0] === 4 && v[1] <= kv[1], reply: [...kv], strict: false };
  }
  if (v[0] >= 5) return { ok: v[0] === 5 && v[1] <= STRICT_MINOR, reply: [5, STRICT_MINOR, 0], strict: v[0] === 5 };
  return { ok: v[0] === 4 && v[1] <= STRICT_MINOR, reply: [4, STRICT_MINOR, 0], strict: false };
}

/** The header a libdevmapper of the caller's version sends: strict NO_PARAMS commands carry exactly the header. */
export function defaultSizes(k: Kernel, version: unknown, row: CommandRow): { dataSize: number; dataStart: number } {
  const major = Array.isArray(version) ? version[0] : 4;
  if (k.cfg.dmFlagPolicy === "strict-v5" && major === 5 && row.noParams) return { dataSize: DM_IOCTL_SIZE, dataStart: 0 };
  return { dataSize: 16384, dataStart: DM_IOCTL_SIZE };
}

/** Bits from DM_FILE_DESCRIPTOR_FLAG up: hidden from a major-4 caller under strict-v5 when `dm-fd` is on. */
export function hiddenBits(k: Kernel, strict: boolean, flags: number): number {
  if (k.cfg.dmFlagPolicy !== "strict-v5" || strict || !k.cfg.patches["dm-fd"]) return 0;
  return (flags & ~(F.DM_FILE_DESCRIPTOR_FLAG - 1)) >>> 0;
}

function supportedFlags(k: Kernel, cmd: DmCommand): number {
  const Q = F.DM_QUERY_INACTIVE_TABLE_FLAG;
  switch (cmd) {
    case "DM_REMOVE_ALL": return F.DM_DEFERRED_REMOVE;
    case "DM_LIST_DEVICES": return F.DM_UUID_FLAG;
    case "DM_DEV_CREATE":
      return F.DM_PERSISTENT_DEV_FLAG | DM_DISABLE_UEVENTS_FLAG | F.DM_EXISTS_FLAG
        | (k.cfg.patches["dm-fd"] ? F.DM_FILE_DESCRIPTOR_FLAG | F.DM_DEFERRED_REMOVE : 0);
    case "DM_DEV_REMOVE": return F.DM_DEFERRED_REMOVE;
    case "DM_DEV_RENAME": return Q | F.DM_UUID_FLAG;
    case "DM_DEV_SUSPEND": return Q | F.DM_SUSPEND_FLAG | F.DM_SKIP_LOCKFS_FLAG | F.DM_NOFLUSH_FLAG;
    case "DM_DEV_STATUS": return Q;
    case "DM_DEV_WAIT": return Q | F.DM_STATUS_TABLE_FLAG | F.DM_NOFLUSH_FLAG;
    case "DM_TABLE_LOAD": return Q | F.DM_READONLY_FLAG;
    case "DM_TABLE_CLEAR":
    case "DM_TABLE_DEPS":
    case "DM_TARGET_MSG": return Q;
    case "DM_TABLE_STATUS": return Q | F.DM_STATUS_TABLE_FLAG | F.DM_NOFLUSH_FLAG;
    default: return 0;
  }
}

/** Commands whose event_nr is meaningful: DEV_WAIT's, and the cookie of those that send a global event. */
const TAKES_EVENT_NR: DmCommand[] = ["DM_DEV_WAIT", "DM_REMOVE_ALL", "DM_DEV_CREATE", "DM_DEV_REMOVE", "DM_DEV_RENAME"];

/** The strict checks of a major-5 caller, after copy_params. The diskseq it expects (strict-v5 2/4) is compared at lookup. */
export function strictChecks(k: Kernel, cmd: DmCommand, row: CommandRow, p: DmParam): void {
  if (p.data_size < DM_IOCTL_SIZE) fail("EINVAL", `strict mode: data_size ${p.data_size} is smaller than struct dm_ioctl (${DM_IOCTL_SIZE})`);
  if (byteLength(p.name) >= DM_NAME_LEN) fail("EINVAL", "strict mode: name is not NUL-terminated");
  if (byteLength(p.uuid) >= DM_UUID_LEN) fail("EINVAL", "strict mode: uuid is not NUL-terminated");
  const extra = (p.flags & ~supportedFlags(k, cmd)) >>> 0;
  if (extra !== 0) fail("EINVAL", `strict mode: ${cmd} does not take flags 0x${extra.toString(16)}`);
  if (p.open_count !== 0) fail("EINVAL", "strict mode: open_count must be 0");
  if (p.event_nr !== 0 && !TAKES_EVENT_NR.includes(cmd)) fail("EINVAL", `strict mode: ${cmd} takes no event_nr`);
  if (row.noParams && (p.data_size !== DM_IOCTL_SIZE || p.target_count !== 0 || p.data_start !== 0)) {
    fail("EINVAL", `strict mode: ${cmd} takes only the header (data_size ${DM_IOCTL_SIZE}, data_start 0, target_count 0)`);
  }
}
