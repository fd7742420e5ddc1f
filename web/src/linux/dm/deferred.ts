// PLACEHOLDER until the device-mapper model lands: dm's deferred-remove
// worker (kernel:dm-deferred) as steps. With the placeholder dm no device
// is ever marked, so the worker never runs.

import type { Op } from "../../sim/op";
import type { Kernel } from "../kernel";
import { keys, type DmDeferredWork } from "../objects";

export function dmDeferredStep(_k: Kernel, d: string): Op<void> {
  return {
    call: "dm-deferred",
    args: [],
    waitingFor: "a deferred removal",
    ready: (store) => {
      const w = store.get<DmDeferredWork>(keys.dmWork(d));
      return w !== undefined && (w.queued || w.teardown);
    },
    run: () => undefined,
  };
}
