// The watch tokens of the kernel's callbacks: stored in watch records and
// queued events, so their spelling is part of every state (and of traces
// and share links made before): it must not change.

import { describe, expect, it } from "vitest";
import { busToken, decodeToken, deviceToken } from "../../web/src/xen/watch-tokens";

const NODE = "/local/domain/0/backend/vbd/1/51712";

describe("watch tokens", () => {
  it("are spelled as they always were", () => {
    expect(busToken("blkbackBus")).toBe("blkback:bus");
    expect(busToken("blkfrontBus")).toBe("blkfront:bus");
    expect(busToken("guestShutdown")).toBe("control:shutdown");
    expect(deviceToken("blkbackPhysicalDevice", NODE)).toBe(`blkback:pd:${NODE}`);
    expect(deviceToken("blkbackOtherend", NODE)).toBe(`blkback:fe:${NODE}`);
    expect(deviceToken("blkfrontBackend", NODE)).toBe(`blkfront:be:${NODE}`);
  });

  it("decode to their callback: a device watch with its nodename, a bus watch with the event's path", () => {
    expect(decodeToken(`blkback:pd:${NODE}`, `${NODE}/physical-device`)).toEqual({ callback: "blkbackPhysicalDevice", subject: NODE });
    expect(decodeToken(`blkfront:be:${NODE}`, `${NODE}/state`)).toEqual({ callback: "blkfrontBackend", subject: NODE });
    expect(decodeToken("blkback:bus", "/local/domain/0/backend/vbd/1")).toEqual({ callback: "blkbackBus", subject: "/local/domain/0/backend/vbd/1" });
    expect(decodeToken("control:shutdown", "/local/domain/1/control/shutdown")).toEqual({ callback: "guestShutdown", subject: "/local/domain/1/control/shutdown" });
    expect(decodeToken("a process's own token", "/x")).toBeUndefined();
  });
});
