// Which kernel watches drop events while one is pending. Linux's
// xs_watch_msg queues an event unless the watch has a will_handle that says
// no; only the backend bus gives one (frontend_will_handle: nr_pending == 0,
// XSA-349), to a backend's watch on its frontend's state. blkback's
// physical-device watch (xenbus_watch_pathfmt with will_handle NULL) and
// blkfront's watch on the backend's state take every event.

import type { ScenarioDefinition, Sys } from "blocklab";
import { describe, expect, it } from "vitest";
import type { KernelEvent } from "../../web/src/sim/op";
import { BE, drive, FE, xsPeek } from "./blk-harness";

/** A hotplug script that binds the image, then writes physical-device twice (a script re-writing its keys). */
async function twice(sys: Sys, be: string, action?: string): Promise<void> {
  if (action === "remove") return;
  const a = await sys.losetup.attach("/img/work.img");
  await sys.xenstore.write(`${be}/physical-device`, `${a.major.toString(16)}:${a.minor.toString(16)}`);
  await sys.xenstore.write(`${be}/physical-device`, `${a.major.toString(16)}:${a.minor.toString(16)}`);
  await sys.xenstore.write(`${be}/script-done`, "1");
}

const def: ScenarioDefinition = {
  domains: { work: {} },
  files: { "/img/work.img": { size: "64K", owner: "work" } },
  actors: { toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: twice }); } },
};

describe("kernel watches: will_handle only where Linux sets it", () => {
  it("blkback's physical-device watch queues every event; its watch on the frontend's state keeps one pending", async () => {
    const queued: KernelEvent[] = [];
    // dom0's xenwatch sits still from InitWait until the script is done: every event of the
    // script's writes (and of the frontend's Initialised) arrives while one is pending.
    const d = await drive(def, {
      hold: [{ actor: "kernel:xenwatch", while: (s) => xsPeek(s, `${BE}/state`) === "2" && xsPeek(s, `${BE}/script-done`) !== "1" }],
      onStep: (rec) => queued.push(...rec.events.filter((e) => e.kind === "xs-watch-event" && e.queue === "xenwatch@dom0")),
    });
    expect(d.errors).toEqual({});
    const tokens = (prefix: string) => queued.filter((e) => String(e.token).startsWith(prefix)).map((e) => e.path);
    // The registration's event and one per write: the old model (will_handle on every watch) kept only the first.
    expect(tokens("blkback:pd:")).toEqual([`${BE}/physical-device`, `${BE}/physical-device`, `${BE}/physical-device`]);
    // The frontend's state: the registration's event, then Initialised (3) dropped while it is pending;
    // Connected (4) comes after blkback took it.
    expect(tokens("blkback:fe:")).toEqual([`${FE}/state`, `${FE}/state`]);
    expect(xsPeek(d.exec.store, `${BE}/state`)).toBe("4");
    expect(xsPeek(d.exec.store, `${FE}/state`)).toBe("4");
  });
});
