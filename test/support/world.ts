// A small backend/frontend setup shared by the data-plane tests:
// dom0 serves guest d1's vbd from dm-linear over loop0 over an image.

import { DataPlane, encodeRequest, type BlkifAbi, type BlkifRequest, type Segment } from "../../web/src/core";

export const DOM0 = 0;
export const GUEST = 1;
export const IMAGE = 0;
export const LOOP0 = 0;
export const DM0 = 1;
export const RING_GFN = 0;
export const RING_REF = 8;
/** Data pages: gfn 16 + i, granted to dom0 as ref 16 + i. */
export const dataGfn = (i: number) => 16 + i;
export const dataRef = (i: number) => 16 + i;

export interface Setup {
  dp: DataPlane;
  front: number;
  back: number;
  abi: BlkifAbi;
  /** Queue requests, push, let blkback run once, consume the responses. */
  roundTrip(reqs: BlkifRequest[], budget?: number): ReturnType<DataPlane["frontendConsume"]>;
}

export async function setup(options: {
  imageBytes?: number; loopOffset?: number; dmOffset?: number; vbdSectors?: number;
  readOnly?: boolean; discard?: boolean; logicalBlockSize?: number; abi?: BlkifAbi; dataPages?: number;
} = {}): Promise<Setup> {
  const dp = await DataPlane.create({ maxFrames: 8192 });
  const abi = options.abi ?? "x86_64-abi";
  const imageBytes = options.imageBytes ?? 4 << 20;
  const loopOffset = options.loopOffset ?? 0;
  const dmOffset = options.dmOffset ?? 0;
  dp.createDomain(DOM0);
  dp.createDomain(GUEST, { pages: 512 });
  dp.createImage(IMAGE, imageBytes);
  const loopSectors = Math.floor((imageBytes - loopOffset) / 512);
  dp.setImageDevice(LOOP0, { image: IMAGE, offset: loopOffset, sectors: loopSectors });
  const dmSectors = loopSectors - dmOffset;
  dp.setTableDevice(DM0, [{ start: 0, length: dmSectors, type: "linear", device: LOOP0, offset: dmOffset }]);
  const front = dp.frontendInit(GUEST, [RING_GFN], { abi });
  dp.grantAccess(GUEST, RING_REF, DOM0, RING_GFN);
  for (let i = 0; i < (options.dataPages ?? 32); i++) dp.grantAccess(GUEST, dataRef(i), DOM0, dataGfn(i));
  const conn = dp.backendConnect(DOM0, GUEST, {
    grefs: [RING_REF], device: DM0, sectors: options.vbdSectors ?? dmSectors, abi,
    readOnly: options.readOnly, discard: options.discard, logicalBlockSize: options.logicalBlockSize,
  });
  if (!conn.ok) throw new Error(`connect failed: ${JSON.stringify(conn)}`);
  const back = conn.ring;
  return {
    dp, front, back, abi,
    roundTrip(reqs, budget) {
      dp.frontendQueue(front, reqs.map((r) => encodeRequest(r, abi)));
      dp.frontendPush(front);
      dp.backendProcess(back, budget);
      return dp.frontendConsume(front);
    },
  };
}

export function page(fill: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length: 4096 }, (_, i) => fill(i) & 0xff);
}

export const fullPage = (i: number): Segment => ({ gref: dataRef(i), firstSect: 0, lastSect: 7 });
