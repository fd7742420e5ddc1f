// Values another domain writes, read as Linux reads them (xenbus-scanf.ts):
// a guest's frontend keys read by blkback, a guest's own frontend keys read
// by its blkfront, and a driver domain's backend keys read by the guest's
// blkfront. Whatever the value, the run goes on; a value Linux refuses, or
// one the grant map or the event channel refuses, is xenbus_dev_fatal with
// the error node Linux writes, and the device goes Closing.

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { drive, xsPeek, BE, FE } from "./blk-harness";

const ERROR = "/local/domain/0/error/backend/vbd/1/51712/error";

async function phy(sys: Sys, be: string): Promise<void> {
  await sys.xenstore.write(`${be}/physical-device`, "7:0");
}

/**
 * work's disk over loop0; work's blkfront never runs (its xenwatch is held):
 * the guest's root process plays it, writing `keys` and then `state`.
 */
async function guestAsFrontend(keys: Record<string, string>, state = "3") {
  const def: ScenarioDefinition = {
    domains: { work: {} },
    files: { "/img/work.img": { size: "64K", owner: "work" } },
    actors: {
      toolstack: async (sys) => {
        await sys.losetup.attach("/img/work.img");
        await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy });
      },
      guest: { domain: "work", run: async (sys) => {
        await sys.xenstore.waitFor(`${BE}/state`, (v) => v === "2");
        for (const [k, v] of Object.entries(keys)) await sys.xenstore.write(`${FE}/${k}`, v);
        await sys.xenstore.write(`${FE}/state`, state);
      } },
    },
  };
  return drive(def, { hold: [{ actor: "kernel:xenwatch@work", while: () => true }] });
}

describe("blkback reads a guest's frontend keys as Linux does", () => {
  it.each<[string, Record<string, string>, string, string]>([
    ["ring-ref -1: %u takes no sign", { "ring-ref": "-1", "event-channel": "1" }, "3", `22 reading ${FE}/ring-ref`],
    ["ring-ref 4294967296: ref 0, which is not granted", { "ring-ref": "4294967296", "event-channel": "1" }, "3", "2 mapping ring-ref port 1"],
    ["ring-ref 1e300: ref 1, not granted", { "ring-ref": "1e300", "event-channel": "1" }, "3", "2 mapping ring-ref port 1"],
    ["ring-ref empty", { "ring-ref": "", "event-channel": "1" }, "3", `22 reading ${FE}/ring-ref`],
    ["event-channel -1", { "ring-ref": "8", "event-channel": "-1" }, "3", `22 reading ${FE}/event-channel`],
    ["no event-channel", { "ring-ref": "8" }, "3", `22 reading ${FE}/event-channel`],
    ["state 9: no state of xenbus.h", { "ring-ref": "8", "event-channel": "1" }, "9", "22 saw state 9 at frontend"],
    ["state -1", {}, "-1", "22 saw state -1 at frontend"],
    ["protocol unknown: scanf's count is the error", { protocol: "x86_16-abi" }, "3", "-1 unknown fe protocol x86_16-abi"],
    // The "error" is what reading protocol returned: -ENOENT when there is none, printed 2.
    ["two queues of a backend that serves one", { "multi-queue-num-queues": "2" }, "3", "2 guest requested 2 queues, exceeding the maximum of 1."],
    ["no queue", { protocol: "x86_64-abi", "multi-queue-num-queues": "0" }, "3", "-1 guest requested 0 queues, exceeding the maximum of 1."],
    ["a ring page order over the maximum", { "ring-page-order": "4294967295", "event-channel": "1" }, "3", "22 requested ring page order -1 exceed max:0"],
    ["ring-page-order 0 means ring-ref0", { "ring-page-order": "0", "ring-ref": "8", "event-channel": "1" }, "3", `22 reading ${FE}/ring-ref0`],
  ])("%s", async (_, keys, state, error) => {
    const d = await guestAsFrontend(keys, state);
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, ERROR)).toBe(error);
    expect(xsPeek(d.exec.store, `${BE}/state`)).toBe("5");
  });

  it("a value that parses and maps goes on: ring-ref \" 12abc\" is ref 12, but the guest granted none, so the map fails", async () => {
    const d = await guestAsFrontend({ "ring-ref": " 12abc", "event-channel": "1" });
    expect(xsPeek(d.exec.store, ERROR)).toBe("2 mapping ring-ref port 1");
  });
});

/** work's disk as usual, but work's root rewrites its own `key` before its kernel probes the device. */
async function guestRewritesOwn(key: string, value: string) {
  let probed = false;
  const def: ScenarioDefinition = {
    domains: { work: {} },
    files: { "/img/work.img": { size: "64K", owner: "work" } },
    actors: {
      toolstack: async (sys) => {
        await sys.losetup.attach("/img/work.img");
        await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy });
      },
      guest: { domain: "work", run: async (sys) => {
        await sys.xenstore.waitFor(`${FE}/state`, (v) => v === "1");
        await sys.xenstore.write(`${FE}/${key}`, value);
        probed = true;
      } },
    },
  };
  return drive(def, { hold: [{ actor: "kernel:xenwatch@work", while: () => !probed }] });
}

// A guest's xenbus_dev_fatal cannot write its error node (its home is dom0's, and the model's boot
// tree gives it no `error` directory): what shows is its device's state, Closing, and no ring.
describe("blkfront reads its own frontend keys as Linux does (a guest's root may rewrite them)", () => {
  it.each<[string, string, string]>([
    ["backend-id \"abc\": \"reading other end details\" (-EINVAL)", "backend-id", "abc"],
    ["backend-id \"-1\": domid 0xffff, a domain that does not exist: allocating the event channel fails", "backend-id", "-1"],
    ["backend \"\": \"unable to read other end\"", "backend", ""],
    ["virtual-device \"x\": \"reading virtual-device\" (-ERANGE)", "virtual-device", "x"],
  ])("%s", async (_, key, value) => {
    const d = await guestRewritesOwn(key, value);
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, `${FE}/state`)).toBe("5");
    expect(d.exec.store.peek<{ ring: number | null }>("blkfront:1:51712")?.ring ?? null).toBeNull();
  });

  it("backend-id \"65536\": an int truncated to the domid_t 0, dom0: the disk connects", async () => {
    const d = await guestRewritesOwn("backend-id", "65536");
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, `${FE}/state`)).toBe("4");
  });
});

describe("blkfront reads a driver domain's backend keys as Linux does", () => {
  // storage is domid 1, work domid 2.
  const DBE = "/local/domain/1/backend/vbd/2/51712";
  const DFE = "/local/domain/2/device/vbd/51712";
  async function storageRewrites(key: string, value: string) {
    let done = false;
    const def: ScenarioDefinition = {
      domains: { storage: { backend: true }, work: {} },
      files: { "/srv/work.img": { size: "64K", owner: "work", domain: "storage" } },
      actors: {
        toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/srv/work.img", vdev: "xvda", script: "qubes-block", backend: "storage" }); },
        rogue: { domain: "storage", run: async (sys) => {
          await sys.xenstore.waitFor(`${DBE}/state`, (v) => v === "4");
          await sys.xenstore.write(`${DBE}/${key}`, value);
          done = true;
        } },
      },
    };
    return drive(def, { patches: "v2", hold: [{ actor: "kernel:xenwatch@work", while: (store) => !done && xsPeek(store, `${DFE}/state`) === "3" }] });
  }

  it("sectors \"abc\" before blkfront connects: \"reading backend fields\"", async () => {
    const d = await storageRewrites("sectors", "abc");
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, `${DFE}/state`)).toBe("5");
  });

  it("sectors \"18446744073709551616\" (2^64): %llu wraps it to 0, a disk of no sectors", async () => {
    const d = await storageRewrites("sectors", "18446744073709551616");
    expect(d.errors).toEqual({});
    expect(xsPeek(d.exec.store, `${DFE}/state`)).toBe("4");
    expect(d.exec.store.peek<{ sectors: number }>("blkfront:2:51712")?.sectors).toBe(0);
  });
});
