// A round trip through the whole data plane, small enough to read: a guest
// writes a sector through its blkif ring to a dm-linear device over a loop
// device over a file image, then reads it back. The page runs it to show
// that the WebAssembly core answers; the end-to-end test checks its lines.

import { encodeRequest } from "./abi";
import { DataPlane } from "./data-plane";

export async function runCoreDemo(): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const dp = await DataPlane.create({ maxFrames: 4096 });
  const DOM0 = 0, GUEST = 1, IMAGE = 0, LOOP0 = 0, DM0 = 1;
  dp.createDomain(DOM0);
  dp.createDomain(GUEST, { pages: 64 });
  dp.createImage(IMAGE, 8 << 20);
  dp.setImageDevice(LOOP0, { image: IMAGE, sectors: (8 << 20) / 512 });
  dp.setTableDevice(DM0, [{ start: 0, length: 4096, type: "linear", device: LOOP0, offset: 2048 }]);
  lines.push("dom0 and guest d1 created; /var/lib/images/work.img is 8 MiB (sparse)");
  lines.push("loop0 -> work.img; dm-0: 0 4096 linear 7:0 2048");

  const RING_GFN = 0, DATA_GFN = 1, RING_REF = 8, DATA_REF = 9;
  const front = dp.frontendInit(GUEST, [RING_GFN]);
  dp.grantAccess(GUEST, RING_REF, DOM0, RING_GFN);
  dp.grantAccess(GUEST, DATA_REF, DOM0, DATA_GFN);
  const conn = dp.backendConnect(DOM0, GUEST, { grefs: [RING_REF], device: DM0, sectors: dp.deviceSectors(DM0) });
  if (!conn.ok) return { ok: false, lines: [...lines, `blkback could not connect: ${JSON.stringify(conn)}`] };
  lines.push(`blkif ring: 1 page, ${dp.frontendIndices(front).entries} slots; blkback mapped grant ${RING_REF}`);

  const payload = new TextEncoder().encode("Blocklab: a sector written by guest d1 through blkfront/blkback.".padEnd(4096, "."));
  dp.guestWrite(GUEST, DATA_GFN, 0, payload);
  const seg = { gref: DATA_REF, firstSect: 0, lastSect: 7 };
  dp.frontendQueue(front, encodeRequest({ operation: "WRITE", id: 1, sector: 0, segments: [seg] }));
  const notifyWrite = dp.frontendPush(front);
  const w = dp.backendProcess(conn.ring);
  const wr = dp.frontendConsume(front);
  if (wr === "broken" || wr[0]?.statusName !== "OKAY") return { ok: false, lines: [...lines, `write failed: ${JSON.stringify(wr)}`] };
  lines.push(`WRITE sector 0 (4 KiB): notify=${notifyWrite}, blkback answered ${w.answered}: ${wr[0].statusName}`);

  const onDisk = dp.readImage(IMAGE, 2048 * 512, 4096);
  const same = dp.crc32c(onDisk) === dp.crc32c(payload);
  lines.push(`image bytes at offset 1 MiB: crc32c ${hex(dp.crc32c(onDisk))} ${same ? "= payload" : "!= payload"}`);

  dp.guestWrite(GUEST, DATA_GFN, 0, new Uint8Array(4096));
  dp.frontendQueue(front, encodeRequest({ operation: "READ", id: 2, sector: 0, segments: [seg] }));
  dp.frontendPush(front);
  dp.backendProcess(conn.ring);
  const rr = dp.frontendConsume(front);
  const back = dp.guestRead(GUEST, DATA_GFN, 0, 4096);
  const match = rr !== "broken" && rr[0]?.statusName === "OKAY" && dp.crc32c(back) === dp.crc32c(payload);
  lines.push(`read back through the ring: ${match ? "match" : "MISMATCH"}`);
  return { ok: same && match, lines };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
