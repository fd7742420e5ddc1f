// Event channels (docs/xen-protocol.md, "Event channels": alloc-unbound, bind-interdomain, send coalescing on
// the pending bit, mask, close, upcall as a guarded step) and domains
// (boot, create, shutdown, destroy: special watches, xenstored's cleanup,
// the data plane's domains).

import { beforeAll, describe, expect, it } from "vitest";
import { DataPlane } from "../../web/src/core/data-plane";
import { domainAlive, domainGet } from "../../web/src/xen/domain";
import { domainCreate, domainDestroy, domainShutdown, xenBoot } from "../../web/src/xen/domctl";
import {
  evtchnAllocUnbound, evtchnBindInterdomain, evtchnClose, evtchnDeliverable, evtchnMask, evtchnSend, evtchnStatus, evtchnTake,
  evtchnUnmask, evtchnUpcallStep,
} from "../../web/src/xen/evtchn";
import { xsPeek, xsPeekNode, xsTakeEvent, xsWatch, xsWrite } from "../../web/src/xen/xenstore";
import { DOMAINS, XsWorld } from "./xs-harness";

function world(dp: DataPlane | null = null): XsWorld {
  const w = new XsWorld(DOMAINS, false);
  xenBoot(w.store, dp, DOMAINS); // as the machine boots them
  return w;
}

describe("event channels", () => {
  it("alloc-unbound, bind-interdomain, send, take: one upcall for two sends", () => {
    const w = world();
    const fport = w.step((c) => evtchnAllocUnbound(c, 1, 0), "work");
    expect(fport).toBe(1);
    expect(evtchnStatus(w.store, 1, fport)).toEqual({ state: "unbound", remoteDom: 0 });
    const bport = w.step((c) => evtchnBindInterdomain(c, 0, 1, fport));
    expect(evtchnStatus(w.store, 0, bport)).toEqual({ state: "interdomain", remoteDom: 1, remotePort: fport });
    expect(evtchnStatus(w.store, 1, fport)).toEqual({ state: "interdomain", remoteDom: 0, remotePort: bport });
    // The binder's port starts pending (notifications to the unbound end were lost).
    expect(evtchnDeliverable(w.store, 0, bport)).toBe(true);
    w.step((c) => evtchnTake(c, 0, bport));
    w.step((c) => evtchnSend(c, 1, fport), "work");
    w.step((c) => evtchnSend(c, 1, fport), "work"); // coalesces: no write
    expect([...w.last.writes]).toEqual([]);
    expect(w.step((c) => evtchnTake(c, 0, bport))).toBe(true);
    expect(w.step((c) => evtchnTake(c, 0, bport))).toBe(false);
  });

  it("bind needs a port unbound for the caller (EINVAL); a dead domain is ESRCH; bad ports are EINVAL", () => {
    const w = world();
    const p = w.step((c) => evtchnAllocUnbound(c, 1, 0), "work");
    expect(w.errno((c) => evtchnBindInterdomain(c, 2, 1, p), "vault")).toBe("EINVAL");
    expect(w.errno((c) => evtchnBindInterdomain(c, 0, 1, 99))).toBe("EINVAL");
    expect(w.errno((c) => evtchnAllocUnbound(c, 1, 7), "work")).toBe("ESRCH");
    expect(w.errno((c) => evtchnSend(c, 1, 0), "work")).toBe("EINVAL");
    w.step((c) => evtchnBindInterdomain(c, 0, 1, p));
    expect(w.errno((c) => evtchnBindInterdomain(c, 0, 1, p))).toBe("EINVAL"); // already bound
  });

  it("a send on an unbound port is dropped; close returns the peer to unbound, and it can be bound again", () => {
    const w = world();
    const p = w.step((c) => evtchnAllocUnbound(c, 1, 0), "work");
    w.step((c) => evtchnSend(c, 1, p), "work");
    const b = w.step((c) => evtchnBindInterdomain(c, 0, 1, p));
    w.step((c) => evtchnTake(c, 0, b));
    w.step((c) => evtchnClose(c, 0, b));
    expect(evtchnStatus(w.store, 0, b)).toEqual({ state: "closed" });
    expect(evtchnStatus(w.store, 1, p)).toEqual({ state: "unbound", remoteDom: 0 });
    const b2 = w.step((c) => evtchnBindInterdomain(c, 0, 1, p));
    expect(b2).toBe(b); // the lowest free port again
  });

  it("a masked port keeps its pending bit; unmask makes it deliverable; the upcall is a blocked step until then", () => {
    const w = world();
    const p = w.step((c) => evtchnAllocUnbound(c, 1, 0), "work");
    const b = w.step((c) => evtchnBindInterdomain(c, 0, 1, p));
    const upcall = evtchnUpcallStep(1, p, () => "handled");
    expect(upcall.ready!(w.store)).toBe(false);
    w.step((c) => evtchnMask(c, 1, p), "work");
    w.step((c) => evtchnSend(c, 0, b));
    expect(upcall.ready!(w.store)).toBe(false);
    w.step((c) => evtchnUnmask(c, 1, p), "work");
    expect(upcall.ready!(w.store)).toBe(true);
    expect(w.step((c) => upcall.run(c), "work")).toBe("handled");
    expect(upcall.ready!(w.store)).toBe(false);
  });
});

describe("domains", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await DataPlane.create({ maxFrames: 4096 });
  });

  it("boot: every domain running, its home in xenstore, its data-plane domain live", () => {
    const w = world(dp);
    expect(domainGet(w.store, 1)).toEqual({ name: "work", state: "running" });
    expect(xsPeek(w.store, "/local/domain/2/name")).toBe("vault");
    expect(xsPeekNode(w.store, "/local/domain/1/device")!.perms).toEqual(["n0", "r1"]);
    expect(xsPeekNode(w.store, "/local/domain/1/data")!.perms).toEqual(["n1"]);
    expect(dp.domainState(2)).toBe("live");
  });

  it("shutdown fires @releaseDomain; destroy closes event channels, removes the guest's own nodes, fires again; create introduces a new domain", () => {
    const w = world(dp);
    w.step((c) => xsWatch(c, 0, "tool", "@releaseDomain", "rel", "q"));
    w.step((c) => xsWatch(c, 0, "tool", "@introduceDomain", "intro", "q"));
    w.step((c) => xsTakeEvent(c, "q"));
    w.step((c) => xsTakeEvent(c, "q"));
    w.step((c) => xsWrite(c, 1, "data/mine", "1"), "work");
    const p = w.step((c) => evtchnAllocUnbound(c, 1, 0), "work");
    const b = w.step((c) => evtchnBindInterdomain(c, 0, 1, p));
    w.step((c) => domainShutdown(c, 1));
    expect(domainGet(w.store, 1)!.state).toBe("shutdown");
    expect(w.step((c) => xsTakeEvent(c, "q"))).toEqual({ path: "@releaseDomain", token: "rel" });
    w.step((c) => domainDestroy(c, dp, 1));
    expect(domainAlive(w.store, 1)).toBe(false);
    expect(dp.domainState(1)).toBe("free");
    expect(evtchnStatus(w.store, 0, b)).toEqual({ state: "unbound", remoteDom: 1 });
    expect(xsPeekNode(w.store, "/local/domain/1/data")).toBeUndefined();
    expect(xsPeek(w.store, "/local/domain/1/name")).toBe("work"); // dom0's: the toolstack removes it
    expect(w.step((c) => xsTakeEvent(c, "q"))).toEqual({ path: "@releaseDomain", token: "rel" });
    expect(w.errno((c) => domainDestroy(c, dp, 1))).toBe("ESRCH");
    expect(w.errno((c) => domainCreate(c, dp, 1, "work"))).toBe("EEXIST"); // domids are not reused
    w.step((c) => domainCreate(c, dp, 3, "fresh"));
    expect(xsPeek(w.store, "/local/domain/3/name")).toBe("fresh");
    expect(xsPeekNode(w.store, "/local/domain/3/control/shutdown")!.perms).toEqual(["n3"]);
    expect(w.step((c) => xsTakeEvent(c, "q"))).toEqual({ path: "@introduceDomain", token: "intro" });
    w.step((c) => domainDestroy(c, dp, 3));
  });

  it("dom0 cannot be shut down or destroyed", () => {
    const w = world(dp);
    expect(w.errno((c) => domainShutdown(c, 0))).toBe("EINVAL");
    expect(w.errno((c) => domainDestroy(c, dp, 0))).toBe("EINVAL");
  });
});
