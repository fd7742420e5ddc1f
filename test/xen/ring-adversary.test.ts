// sys.ring, the adversary API: raw pushes with the notification hold-off,
// responses, a stored producer index that halts the ring, grants revoked by
// hand (a mapped one stays mapped), and bad arguments.

import { describe, expect, it } from "vitest";
import type { ScenarioDefinition, Sys } from "blocklab";
import { worldView } from "../../web/src/api/build";
import { drive } from "./blk-harness";
import { outcome } from "../linux/harness";

async function phy(sys: Sys, be: string): Promise<void> {
  await sys.xenstore.write(`${be}/physical-device`, "7:0");
}

/** work's disk xvda over loop0 (64K of 0x11), and `guest` run once the attach is over. */
function withRing(guest: (sys: Sys) => Promise<void>): ScenarioDefinition {
  return {
    domains: { work: {} },
    files: { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 } },
    actors: {
      toolstack: async (sys) => {
        await sys.losetup.attach("/img/work.img");
        await sys.xl.blockAttach("work", { target: "/dev/loop0", vdev: "xvda", script: phy });
        await sys.xenstore.write("/local/domain/1/data/attached", "1");
      },
      guest: { domain: "work", run: async (sys) => { await sys.xenstore.waitFor("data/attached", (v) => v === "1"); await guest(sys); } },
    },
  };
}

const read = (id: number, sector: number, page: number) => ({ operation: "READ" as const, id, sector, segments: [{ page, firstSect: 0, lastSect: 7 }] });

describe("sys.ring", () => {
  it("push notifies only when the backend asked (req_event); responses consume and re-arm rsp_event", async () => {
    const seen: unknown[] = [];
    // blkback does not run between the two pushes: the second is held off.
    let pushes = 0;
    const d = await drive(withRing(async (sys) => {
      seen.push(await sys.ring.indices("xvda"));
      seen.push(await sys.ring.push("xvda", [read(1, 0, 0)]));
      seen.push(await sys.ring.push("xvda", [read(2, 8, 1), read(3, 16, 2)]));
      const got = [];
      while (got.length < 3) got.push(...(await sys.ring.responses("xvda")));
      seen.push(got);
      seen.push(await sys.ring.indices("xvda"));
    }), { hold: [{ actor: "kernel:blkback.1", while: () => pushes < 2 }], onStep: (rec) => { if (rec.call === "ring.push") pushes++; } });
    expect(d.errors).toEqual({});
    expect(seen).toEqual([
      { req_prod: 0, req_event: 1, rsp_prod: 0, rsp_event: 1 },
      true,
      false,
      [{ id: 1, operation: 0, status: "OKAY" }, { id: 2, operation: 0, status: "OKAY" }, { id: 3, operation: 0, status: "OKAY" }],
      { req_prod: 3, req_event: 4, rsp_prod: 3, rsp_event: 4 },
    ]);
    expect(worldView(d.exec.store).ring("work", "xvda")).toEqual({ pushed: 3, answered: 3, backend: "connected" });
  });

  it("malformed requests are answered ERROR (an unknown operation EOPNOTSUPP), with id and operation echoed", async () => {
    let got: unknown;
    const d = await drive(withRing(async (sys) => {
      await sys.ring.push("xvda", [
        { operation: "READ", id: 7, sector: 127, segments: [{ page: 0, firstSect: 0, lastSect: 1 }] }, // ends past sector 127
        { operation: "WRITE", id: 8, sector: 0, segments: [] }, // no segments
        { operation: "READ", id: 9, sector: 0, segments: [{ page: 0, firstSect: 3, lastSect: 2 }] },
        { operation: 4, id: 10, sector: 0, segments: [] }, // RESERVED_1
      ]);
      got = await sys.ring.responses("xvda");
    }));
    expect(d.errors).toEqual({});
    expect(got).toEqual([
      { id: 7, operation: 0, status: "ERROR" },
      { id: 8, operation: 1, status: "ERROR" },
      { id: 9, operation: 0, status: "ERROR" },
      { id: 10, operation: 4, status: "EOPNOTSUPP" },
    ]);
  });

  it("a producer index more than a ring ahead halts the ring: no answer, blkback serves it no more", async () => {
    const d = await drive(withRing(async (sys) => {
      await sys.ring.setReqProd("xvda", 33);
    }));
    expect(d.errors).toEqual({});
    expect(worldView(d.exec.store).ring("work", "xvda")).toEqual({ pushed: 33, answered: 0, backend: "halted" });
  });

  it("revoking the mapped ring page's grant: reported as mapped, and the mapping survives (the ring still works)", async () => {
    const seen: unknown[] = [];
    const d = await drive(withRing(async (sys) => {
      seen.push(await sys.ring.revokeGrant("xvda", "ring"));
      seen.push(await sys.ring.revokeGrant("xvda", 3)); // a data page nobody maps
      await sys.ring.push("xvda", [read(1, 0, 0)]);
      seen.push(await sys.ring.responses("xvda"));
    }));
    expect(d.errors).toEqual({});
    expect(seen).toEqual([true, false, [{ id: 1, operation: 0, status: "OKAY" }]]);
  });

  it("bad arguments are EINVAL", async () => {
    const seen: string[] = [];
    await drive(withRing(async (sys) => {
      seen.push(await outcome(sys.ring.push("xvda", [])));
      seen.push(await outcome(sys.ring.push("xvda", [{ operation: "READ", sector: -1, segments: [] }])));
      seen.push(await outcome(sys.ring.push("xvda", [{ operation: "READ", sector: 0, segments: [{ page: 44, firstSect: 0, lastSect: 7 }] }])));
      seen.push(await outcome(sys.ring.setReqProd("xvda", 2 ** 32)));
      seen.push(await outcome(sys.ring.revokeGrant("xvda", -1)));
      seen.push(await outcome(sys.ring.indices("floppy")));
    }));
    expect(seen).toEqual(["EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL"]);
  });
});
