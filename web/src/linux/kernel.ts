// What every handler of the kernel model is given besides the step's
// context: the run's kernel configuration and the data plane that holds the
// image bytes (null for a world without disk images). The domain a handler
// acts in is always the calling actor's (`ctx.who.domain`).

import type { DataPlane } from "../core/data-plane";
import { SysError, type StepContext } from "../sim/op";
import type { KernelConfig } from "./kconfig";

export interface Kernel {
  readonly cfg: KernelConfig;
  readonly dp: DataPlane | null;
}

/** A handler: one system call or one piece of kernel work, run inside a step. */
export type Handler<A extends unknown[], R> = (ctx: StepContext, k: Kernel, ...args: A) => R;

/** Throws the kernel's errno (a SysError: an outcome, without a JavaScript stack). */
export function fail(errno: string, message: string, result?: unknown): never {
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
