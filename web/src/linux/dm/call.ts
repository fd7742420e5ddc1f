// What every dm command handler is given: one DM_* ioctl in hand.

import type { StepContext } from "../../sim/op";
import type { Kernel } from "../kernel";
import type { DmParam } from "./header";

export interface DmCall {
  ctx: StepContext;
  k: Kernel;
  d: string;
  p: DmParam;
  /** input_param_size: the caller's data_size (305 for NO_PARAMS commands). */
  size: number;
  strict: boolean;
}
