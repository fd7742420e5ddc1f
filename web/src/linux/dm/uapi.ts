// include/uapi/linux/dm-ioctl.h as the model needs it: the command numbers,
// the flag bits with their names, and the sizes of struct dm_ioctl that the
// data_size/data_start rules are stated in. docs/linux-model.md §5.3.

/** The commands by number: each is _IOWR(0xfd, nr, struct dm_ioctl) = 0xC138FD00 + nr. */
export const DM_COMMANDS = [
  "DM_VERSION", "DM_REMOVE_ALL", "DM_LIST_DEVICES", "DM_DEV_CREATE", "DM_DEV_REMOVE", "DM_DEV_RENAME", "DM_DEV_SUSPEND",
  "DM_DEV_STATUS", "DM_DEV_WAIT", "DM_TABLE_LOAD", "DM_TABLE_CLEAR", "DM_TABLE_DEPS", "DM_TABLE_STATUS", "DM_LIST_VERSIONS",
  "DM_TARGET_MSG", "DM_DEV_SET_GEOMETRY", "DM_DEV_ARM_POLL", "DM_GET_TARGET_VERSION",
] as const;

export type DmCommand = (typeof DM_COMMANDS)[number];

/** The flag bits (bit 7 is unused; bit 20 is the RFC's DM_FILE_DESCRIPTOR_FLAG). */
export const DM_FLAGS = {
  DM_READONLY_FLAG: 1 << 0,
  DM_SUSPEND_FLAG: 1 << 1,
  DM_EXISTS_FLAG: 1 << 2,
  DM_PERSISTENT_DEV_FLAG: 1 << 3,
  DM_STATUS_TABLE_FLAG: 1 << 4,
  DM_ACTIVE_PRESENT_FLAG: 1 << 5,
  DM_INACTIVE_PRESENT_FLAG: 1 << 6,
  DM_BUFFER_FULL_FLAG: 1 << 8,
  DM_SKIP_BDGET_FLAG: 1 << 9,
  DM_SKIP_LOCKFS_FLAG: 1 << 10,
  DM_NOFLUSH_FLAG: 1 << 11,
  DM_QUERY_INACTIVE_TABLE_FLAG: 1 << 12,
  DM_UEVENT_GENERATED_FLAG: 1 << 13,
  DM_UUID_FLAG: 1 << 14,
  DM_SECURE_DATA_FLAG: 1 << 15,
  DM_DATA_OUT_FLAG: 1 << 16,
  DM_DEFERRED_REMOVE: 1 << 17,
  DM_INTERNAL_SUSPEND_FLAG: 1 << 18,
  DM_IMA_MEASUREMENT_FLAG: 1 << 19,
  DM_FILE_DESCRIPTOR_FLAG: 1 << 20,
} as const;

export type DmFlagName = keyof typeof DM_FLAGS;

/** The strict-mode (v2 series) reading of bit 9 on DM_DEV_CREATE: the device never sends uevents. */
export const DM_DISABLE_UEVENTS_FLAG = 1 << 9;

/** DM_NAME_LEN, DM_UUID_LEN: the arrays in struct dm_ioctl, NUL included. */
export const DM_NAME_LEN = 128;
export const DM_UUID_LEN = 129;
/** sizeof(struct dm_ioctl). */
export const DM_IOCTL_SIZE = 312;
/** offsetof(struct dm_ioctl, data): the smallest data_size, and what a header-only reply says. */
export const DM_DATA_OFFSET = 305;
/** Where a payload starts (align_ptr(param + 1) - param). */
export const DM_RESULT_START = 312;
/** sizeof(struct dm_target_spec): sector_start, length, status, next, target_type[16]. */
export const DM_TARGET_SPEC_SIZE = 40;
/** DM_MAX_TYPE_NAME */
export const DM_MAX_TYPE_NAME = 16;
/** offsetof(struct dm_name_list, name): dev (u64) and next (u32). */
export const DM_NAME_LIST_HEAD = 12;
/** sizeof(struct dm_target_versions): next and version[3]. */
export const DM_TARGET_VERSIONS_SIZE = 16;
/** What the API sends when a caller gives no data_size: prober.c's and libdevmapper's first buffer. */
export const DEFAULT_DATA_SIZE = 16384;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** The names of the known bits set in `flags`, lowest first (unknown bits have no name; `flags` keeps them). */
export function dmFlagNames(flags: number): DmFlagName[] {
  return (Object.entries(DM_FLAGS) as [DmFlagName, number][]).filter(([, bit]) => (flags & bit) !== 0).map(([n]) => n);
}

/** A flag name's bit, or undefined. */
export function dmFlagBit(name: unknown): number | undefined {
  return typeof name === "string" ? (DM_FLAGS as Record<string, number>)[name] : undefined;
}
