// Device-mapper's control device, as the ioctl dispatcher (../ioctl.ts)
// reaches it: the command names and ctl_ioctl. The model is split by
// concept: uapi.ts (numbers, flags, sizes), header.ts (struct dm_ioctl in
// and out), front-door.ts (ctl_ioctl's checks), strict.ts (dmFlagPolicy),
// commands.ts (lookup_ioctl's table and the handlers), hash.ts (name and
// uuid cells), device.ts (mapped devices), table.ts (targets and their
// devices), status.ts (what comes back), fd.ts (the RFC's create-with-fd),
// deferred.ts (the deferred-remove worker). docs/linux-model.md §5.3-5.8.

export { DM_COMMANDS } from "./uapi";
export { dmControlIoctl } from "./front-door";
export { dmIoctlReady } from "./wait";
