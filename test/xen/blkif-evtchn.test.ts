// The blkif ring's notifications are event channels of evtchn.ts: blkfront
// allocates an unbound port for the backend domain and publishes it,
// blkback binds it in connect_ring, a push that needs a notification sets
// the peer's pending bit (coalescing), the upcall (a step) clears it, and
// teardown closes both ends.

import type { ScenarioDefinition } from "blocklab";
import { describe, expect, it } from "vitest";
import type { KernelEvent } from "../../web/src/sim/op";
import type { BlkbackRing } from "../../web/src/xen/blkback";
import type { BlkfrontDevice } from "../../web/src/xen/blkfront";
import { evtchnStatus } from "../../web/src/xen/evtchn";
import { drive, FE, xsPeek } from "./blk-harness";

const def = (detach: boolean): ScenarioDefinition => ({
  domains: { work: {} },
  files: { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 } },
  actors: {
    toolstack: async (sys) => {
      await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" });
      if (detach) {
        await sys.xenstore.waitFor("/local/domain/1/data/done", (v) => v === "1");
        await sys.xl.blockDetach("work", "xvda");
      }
    },
    guest: { domain: "work", run: async (sys) => {
      await sys.disk.read("xvda", 0, 8);
      await sys.disk.write("xvda", 0, new Uint8Array(512).fill(0xab));
      if (detach) await sys.xenstore.write("data/done", "1");
    } },
  },
});

describe("blkif notifications over event channels", () => {
  it("blkfront's unbound port is published and bound by blkback; each request notifies it, each completion notifies back", async () => {
    const sends: KernelEvent[] = [];
    const d = await drive(def(false), { onStep: (rec) => sends.push(...rec.events.filter((e) => e.kind === "evtchn")) });
    expect(d.errors).toEqual({});
    const fe = d.exec.store.peek<BlkfrontDevice>("blkfront:1:51712")!;
    const be = d.exec.store.peek<BlkbackRing>("blkring:0:1:51712")!;
    expect(xsPeek(d.exec.store, `${FE}/event-channel`)).toBe(String(fe.port));
    expect(evtchnStatus(d.exec.store, 1, fe.port)).toEqual({ state: "interdomain", remoteDom: 0, remotePort: be.ring!.localPort });
    expect(evtchnStatus(d.exec.store, 0, be.ring!.localPort)).toEqual({ state: "interdomain", remoteDom: 1, remotePort: fe.port });
    // Two calls: a request batch each way and its response, each one event (the hold-off never held: the ring was idle).
    expect(sends.map((e) => `${e.from}->${e.to}`)).toEqual(["1->0", "0->1", "1->0", "0->1"]);
    expect(d.exec.store.peek<{ pending: boolean }>(`evtchn:0:${be.ring!.localPort}`)!.pending).toBe(false);
    expect(d.exec.store.peek<{ pending: boolean }>(`evtchn:1:${fe.port}`)!.pending).toBe(false);
  });

  it("block-detach closes both ends", async () => {
    const d = await drive(def(true));
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, FE)).toBeUndefined();
    expect(d.exec.store.list("evtchn")).toEqual([]);
  });
});
