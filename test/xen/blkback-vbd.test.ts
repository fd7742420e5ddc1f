// blkback's reading of `physical-device` and `diskseq` (backend_changed,
// blkback-vbd.ts) under mainline and both wire forms of patch 3/7, as a
// table; then through the whole handshake: what a bad value does to the
// device (the error node, Closing, nothing opened), the diskseq check, and
// patch 7/7's `opened` writes.

import { describe, expect, it } from "vitest";
import type { PatchSelection, ScenarioDefinition, Sys } from "blocklab";
import { parsePhysicalDevice, type DiskseqMode, type PhysicalDevice } from "../../web/src/xen/blkback-vbd";
import type { BlkbackDevice } from "../../web/src/xen/blkback";
import type { Gendisk } from "../../web/src/linux/objects";
import { BE, drive, FE, tracker, xsPeek } from "./blk-harness";

const dev = (major: number, minor: number, diskseq = 0): PhysicalDevice => ({ kind: "device", major, minor, diskseq });
const fatal = (err: number): { kind: "fatal"; err: number } => ({ kind: "fatal", err });
const ABSENT: PhysicalDevice = { kind: "absent" };
const [EFAULT, EINVAL, ERANGE] = [14, 22, 34];

// [mode, physical-device, diskseq node, expected]
const TABLE: [DiskseqMode, string | undefined, string | undefined, PhysicalDevice | { kind: "fatal"; err: number }][] = [
  // Mainline: sscanf("%x:%x"); nothing convertible (or no node) is "not written yet".
  ["none", undefined, undefined, ABSENT],
  ["none", "7:0", undefined, dev(7, 0)],
  ["none", "fd:3", undefined, dev(0xfd, 3)],
  ["none", "0x7:0x1", undefined, dev(7, 1)],
  ["none", " 7:2", undefined, dev(7, 2)],
  ["none", "7:0junk", undefined, dev(7, 0)],
  ["none", "zz", undefined, ABSENT],
  ["none", "", undefined, ABSENT],
  ["none", "7", undefined, fatal(-1)],
  ["none", "7:", undefined, fatal(-1)],
  ["none", "7:0", "", dev(7, 0)], // mainline never reads `diskseq`
  ["none", "1@7:0", undefined, fatal(-1)], // the RFC's form is one item to mainline
  // v2, `diskseq` node: absent is 0 (no check); empty EFAULT; > 16 characters or a leading 0 ERANGE; not hex EINVAL.
  ["node", "7:0", undefined, dev(7, 0, 0)],
  ["node", "7:0", "1a", dev(7, 0, 0x1a)],
  ["node", "7:0", "ffffffffffffffff", dev(7, 0, Number(0xffffffffffffffffn))],
  ["node", "7:0", "", fatal(EFAULT)],
  ["node", "7:0", "11111111111111111", fatal(ERANGE)],
  ["node", "7:0", "01", fatal(ERANGE)],
  ["node", "7:0", "0", fatal(ERANGE)],
  ["node", "7:0", "1g", fatal(EINVAL)],
  ["node", "7:0", "-1", fatal(EINVAL)],
  ["node", "7:0", " 1", fatal(EINVAL)],
  ["node", undefined, "zz", ABSENT], // the diskseq is read only once physical-device is there
  ["node", "zz", "zz", ABSENT],
  ["node", "7", "1", fatal(-1)],
  // RFC v1, inline "<diskseq>@<major>:<minor>": every byte 0x21..0x7e, at most 16/8/8 hex digits, diskseq not 0, no junk; all EINVAL.
  ["inline", undefined, undefined, ABSENT],
  ["inline", "7:0", undefined, dev(7, 0, 0)],
  ["inline", "1f@7:0", undefined, dev(7, 0, 0x1f)],
  ["inline", "1F@fd:a", undefined, dev(0xfd, 0xa, 0x1f)],
  ["inline", "ffffffffffffffff@ffffffff:ffffffff", undefined, dev(0xffffffff, 0xffffffff, Number(0xffffffffffffffffn))],
  ["inline", "0@7:0", undefined, fatal(EINVAL)],
  ["inline", "@7:0", undefined, fatal(EINVAL)],
  ["inline", "11111111111111111@7:0", undefined, fatal(EINVAL)],
  ["inline", "1@7:0 ", undefined, fatal(EINVAL)],
  ["inline", " 1@7:0", undefined, fatal(EINVAL)],
  ["inline", "1@7:0\u00e9", undefined, fatal(EINVAL)],
  ["inline", "1@7:0x", undefined, fatal(EINVAL)],
  ["inline", "1@0x7:0", undefined, fatal(EINVAL)],
  ["inline", "1@7", undefined, fatal(EINVAL)],
  ["inline", "1@7:", undefined, fatal(EINVAL)],
  ["inline", "1@:0", undefined, fatal(EINVAL)],
  ["inline", "1@123456789:0", undefined, fatal(EINVAL)],
  ["inline", "1@7:123456789", undefined, fatal(EINVAL)],
  ["inline", "g@7:0", undefined, fatal(EINVAL)],
  ["inline", "1@2@7:0", undefined, fatal(EINVAL)],
  ["inline", "", undefined, fatal(EINVAL)],
  ["inline", "7:0", "zz", dev(7, 0, 0)], // the RFC never reads a `diskseq` node
];

describe("parsePhysicalDevice", () => {
  it.each(TABLE)("%s: physical-device %j, diskseq %j", (mode, pd, seq, expected) => {
    const got = parsePhysicalDevice(mode, pd, seq);
    if (expected.kind === "fatal") {
      expect(got.kind).toBe("fatal");
      expect((got as { err: number }).err).toBe(expected.err);
    } else {
      expect(got).toEqual(expected);
    }
  });
});

/** A hotplug script that binds the image to a loop device and writes what `keys` makes of its number and diskseq. */
function scriptWriting(keys: (major: number, minor: number, diskseq: number) => Record<string, string>) {
  return async function write(sys: Sys, be: string, action?: string) {
    if (action === "remove") return;
    const a = await sys.losetup.attach("/img/work.img", { keepFd: true });
    await sys.xenstore.transaction(async (tx) => {
      for (const [k, v] of Object.entries(keys(a.major, a.minor, a.diskseq))) await tx.write(`${be}/${k}`, v);
    });
  };
}

function attach(script: (sys: Sys, be: string) => Promise<void>): ScenarioDefinition {
  return {
    domains: { work: {} },
    files: { "/img/work.img": { size: "64K", owner: "work" } },
    actors: { toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script }); } },
  };
}

async function outcomeOf(patches: PatchSelection, script: (sys: Sys, be: string) => Promise<void>) {
  const t = tracker([`${BE}/state`]);
  const d = await drive(attach(script), { patches, onStep: t.onStep });
  const be = d.exec.store.peek<BlkbackDevice>("blkback:0:1:51712");
  const loop0 = d.exec.store.peek<Gendisk>("disk:dom0:s1");
  return {
    states: t.seen[`${BE}/state`],
    error: xsPeek(d.exec.store, "/local/domain/0/error/backend/vbd/1/51712/error"),
    opened: be?.vbd ? `${be.vbd.major}:${be.vbd.minor}` : null,
    loopOpeners: loop0?.openers,
  };
}

describe("a malformed or mismatched diskseq fails the device as the running blkback would", () => {
  const hex = (n: number) => n.toString(16);
  it("node format: a malformed diskseq is fatal (EFAULT, ERANGE, EINVAL): error node, Closing, nothing opened", async () => {
    for (const [value, err] of [["", 14], ["0001", 34], ["xyz", 22]] as const) {
      const r = await outcomeOf("v2", scriptWriting((M, m) => ({ "physical-device": `${hex(M)}:${hex(m)}`, diskseq: value })));
      expect(r.states).toEqual(["1", "2", "5", "6"]); // Closing; the frontend closes, and blkback follows
      expect(r.error).toMatch(new RegExp(`^${err} reading diskseq: `));
      expect(r.opened).toBeNull();
    }
  });

  it("inline format: a malformed physical-device is fatal EINVAL", async () => {
    for (const value of ["0@7:0", "1@7:0 ", "1@7"]) {
      const r = await outcomeOf({ "blkback-diskseq": "inline" }, scriptWriting(() => ({ "physical-device": value })));
      expect(r.states).toEqual(["1", "2", "5", "6"]); // Closing; the frontend closes, and blkback follows
      expect(r.error).toMatch(/^22 invalid physical-device /);
      expect(r.opened).toBeNull();
    }
  });

  it("mainline ignores both: the node is never read, and the inline form is one item (fatal -1)", async () => {
    const ignored = await outcomeOf("none", scriptWriting((M, m) => ({ "physical-device": `${hex(M)}:${hex(m)}`, diskseq: "xyz" })));
    expect(ignored.states).toEqual(["1", "2", "4"]);
    expect(ignored.opened).toBe("7:0");
    const inline = await outcomeOf("none", scriptWriting((M, m, s) => ({ "physical-device": `${hex(s)}@${hex(M)}:${hex(m)}` })));
    expect(inline.error).toBe("-1 reading physical-device");
  });

  it("a well-formed diskseq that is not the opened disk's: ENODEV (19 creating vbd structure), and the device is closed again", async () => {
    for (const patches of ["v2", { "blkback-diskseq": "inline" }] as PatchSelection[]) {
      const inline = typeof patches === "object";
      const r = await outcomeOf(patches, scriptWriting((M, m, s): Record<string, string> => (inline
        ? { "physical-device": `${hex(s + 1)}@${hex(M)}:${hex(m)}` }
        : { "physical-device": `${hex(M)}:${hex(m)}`, diskseq: hex(s + 1) })));
      expect(r.states).toEqual(["1", "2", "5", "6"]); // Closing; the frontend closes, and blkback follows
      expect(r.error).toBe("19 creating vbd structure");
      expect(r.opened).toBeNull();
      expect(r.loopOpeners).toBe(0); // the script has exited, and blkback's open was undone
    }
  });

  it("the right diskseq, in either form: opened", async () => {
    for (const patches of ["v2", { "blkback-diskseq": "inline" }] as PatchSelection[]) {
      const inline = typeof patches === "object";
      const r = await outcomeOf(patches, scriptWriting((M, m, s): Record<string, string> => (inline
        ? { "physical-device": `${hex(s)}@${hex(M)}:${hex(m)}` }
        : { "physical-device": `${hex(M)}:${hex(m)}`, diskseq: hex(s) })));
      expect(r.error).toBeUndefined();
      expect(r.opened).toBe("7:0");
      expect(r.loopOpeners).toBe(1); // blkback's, after the script exited
    }
  });
});

describe("blkback-opened (7/7)", () => {
  // The guest's frontend is held back until blkback has written opened = 1, so that the open and the
  // connect (one handler step when the ring is already there) show as two steps.
  const run = async (patches: PatchSelection) => {
    const t = tracker([`${BE}/opened`, `${BE}/state`, `${FE}/state`]);
    const both: string[] = [];
    const d = await drive({
      domains: { work: {} },
      files: { "/img/work.img": { size: "64K", owner: "work" } },
      actors: { toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" }); } },
    }, {
      patches,
      hold: [{ actor: "kernel:xenwatch@work", while: (s) => xsPeek(s, `${BE}/opened`) !== "1" }],
      onStep: (rec, exec) => {
        t.onStep(rec, exec);
        const now = `opened=${xsPeek(exec.store, `${BE}/opened`) ?? "-"} state=${xsPeek(exec.store, `${BE}/state`) ?? "-"}`;
        if (both[both.length - 1] !== now) both.push(now);
      },
    });
    return { both, d };
  };

  it("on: opened = 0 at probe, before InitWait (so before any script), and 1 once the checked device is held, before Connected", async () => {
    const { both, d } = await run("v2");
    expect(d.errors).toEqual({});
    expect(both).toEqual(["opened=- state=1", "opened=0 state=2", "opened=1 state=2", "opened=1 state=4"]);
  });

  it("off: blkback never writes opened (and qubes-block falls back to a loop device without autoclear)", async () => {
    const { both, d } = await run("none");
    expect(d.errors).toEqual({});
    expect(both).toEqual(["opened=- state=1", "opened=- state=2", "opened=- state=4"]);
    const lo = d.exec.store.peek<{ flags: number }>("loop:dom0:0")!;
    expect(lo.flags & 4).toBe(0); // LO_FLAGS_AUTOCLEAR
  });
});
