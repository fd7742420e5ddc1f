// What every handler of the kernel model is given besides the step's
// context: the run's kernel configuration and the data plane that holds the
// image bytes (null for a world without disk images). The domain a handler
// acts in is always the calling actor's (`ctx.who.domain`).

import type { DataPlane } from "../core/data-plane";
import { SysError, type StepContext } from "../sim/op";
import type { Errno } from "./errno";
import type { KernelConfig } from "./kconfig";
import type { DiskDriver, Gendisk } from "./objects";

export interface Kernel {
  readonly cfg: KernelConfig;
  readonly dp: DataPlane | null;
  /** Each block driver's open and release, by the driver a gendisk names (linux/drivers.ts): the kernel's disk->fops. */
  readonly blockDrivers: Readonly<Record<DiskDriver, BlockDeviceOperations>>;
  /**
   * What the rest of the system releases when a process exits, after the
   * kernel closed its fds: its xenstore connection (watches, transactions).
   * Set by whoever composes the machine, so the kernel model needs to know
   * nothing of Xen (linux/exit.ts calls it).
   */
  readonly onProcessExit?: (ctx: StepContext) => void;
}

/**
 * A block driver's part of opening and releasing one of its disks
 * (block_device_operations' open and release). bdev.ts calls them through
 * the table, so the block layer imports no driver, as Linux calls
 * disk->fops.
 */
export interface BlockDeviceOperations {
  /** After the block layer's checks, before the opener is counted: may refuse with an errno. */
  open(ctx: StepContext, k: Kernel, d: string, disk: Gendisk): void;
  /** After the opener is gone (`disk` as it is now): a last close may detach or queue removal. */
  release(ctx: StepContext, k: Kernel, d: string, key: string, disk: Gendisk): void;
}

/** A handler: one system call or one piece of kernel work, run inside a step. */
export type Handler<A extends unknown[], R> = (ctx: StepContext, k: Kernel, ...args: A) => R;

/** Throws the kernel's errno (a SysError: an outcome, without a JavaScript stack). */
export function fail(errno: Errno, message: string, result?: unknown): never {
  throw new SysError(errno, message, result);
}

/** A state the model should never reach: a bug in the model, not an errno (the runtime reports it as such). */
export class ModelBug extends Error {
  constructor(message: string) {
    super(`kernel model bug: ${message}`);
    this.name = "ModelBug";
  }
}

export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ModelBug(`${what} is missing`);
  return value;
}
