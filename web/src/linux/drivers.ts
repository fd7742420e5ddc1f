// The block drivers of the kernel model, by the name a gendisk records
// (Gendisk.driver): each one's block_device_operations. The machine hands
// this table to the block layer (Kernel.blockDrivers), which calls through
// it as Linux calls disk->fops, so bdev.ts imports no driver and a driver
// may use the block layer freely.

import { dmDriverOpen, dmDriverRelease } from "./dm/driver";
import type { BlockDeviceOperations } from "./kernel";
import { loopDriverOpen, loopDriverRelease } from "./loop/driver";
import type { DiskDriver } from "./objects";

export const BLOCK_DRIVERS: Readonly<Record<DiskDriver, BlockDeviceOperations>> = {
  loop: { open: loopDriverOpen, release: loopDriverRelease },
  dm: { open: dmDriverOpen, release: dmDriverRelease },
};
