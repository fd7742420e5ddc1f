// What one machine can hold, checked when a scenario is built: a scenario
// past a capacity gets a ScenarioError that names the limit and the number,
// instead of an internal error from deep inside a run. The capacities are
// the data plane's own (assembly/abi.ts, through LIMITS), each below what
// Linux and Xen allow; docs/scenario-api.md lists them for users.

import { LIMITS } from "../core/data-plane";
import { EXT4_MAX_FILE_BYTES } from "../linux/vfs";

/** The largest image a scenario may fill with a byte: fill writes every byte of it whenever the world is reset. */
export const MAX_FILLED_IMAGE = 64 << 20;
/** All filled images together, for the same reason: the arena grows by what they take (arenaFrames). */
export const MAX_FILLED_TOTAL = 256 << 20;
/** The arena's frames for what a run writes (256 MiB), on top of what the filled images take. */
const RUN_FRAMES = 1 << 16;

const PAGE = 4096;
/** Block entries per table of an image's radix tree (assembly/image.ts): a leaf maps 1024 blocks, a middle table 1024 leaves. */
const FANOUT = 1024;

/** Bytes as a scenario writes sizes: with the largest of G, M, K that divides them, or in bytes. */
export function sizeText(bytes: number): string {
  for (const [unit, n] of [["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes} bytes`;
}

/** Frames an image filled whole takes: its 4 KiB blocks and the radix tree's tables over them. */
function filledFrames(size: number): number {
  const blocks = Math.ceil(size / PAGE);
  return blocks + Math.ceil(blocks / FANOUT) + Math.ceil(blocks / FANOUT ** 2);
}

/** The arena a machine needs: the run's own 256 MiB, and the frames its filled images take at boot. */
export function arenaFrames(filledSizes: readonly number[]): number {
  return RUN_FRAMES + filledSizes.reduce((n, s) => n + filledFrames(s), 0);
}

export interface ImageSpec {
  /** How the scenario names it: files["/path"]. */
  where: string;
  size: number;
  fill?: number;
}

/** The data plane's capacities against a scenario's guests and disk images. */
export function capacityProblems(guests: number, images: readonly ImageSpec[]): string[] {
  const problems: string[] = [];
  if (guests > LIMITS.domains - 1) {
    problems.push(`domains: ${guests} guests; at most ${LIMITS.domains - 1} (the data plane has ${LIMITS.domains} domain ids, dom0's included)`);
  }
  if (images.length > LIMITS.images) problems.push(`files: ${images.length} disk images; the data plane holds at most ${LIMITS.images}`);
  for (const img of images) {
    if (img.size > LIMITS.imageBytes) {
      problems.push(`${img.where}: size ${sizeText(img.size)} is more than the data plane's largest image, ${sizeText(LIMITS.imageBytes)} (4 TiB; Linux's ext4 takes files up to 16T - 4K, ${EXT4_MAX_FILE_BYTES} bytes)`);
    }
    if (img.fill !== undefined && img.size > MAX_FILLED_IMAGE) {
      problems.push(`${img.where}: a filled image may be at most ${sizeText(MAX_FILLED_IMAGE)}, got ${sizeText(img.size)} (fill writes every byte at each reset)`);
    }
  }
  const filled = images.filter((i) => i.fill !== undefined).reduce((n, i) => n + i.size, 0);
  if (filled > MAX_FILLED_TOTAL) {
    problems.push(`files: the filled images hold ${sizeText(filled)} in all; at most ${sizeText(MAX_FILLED_TOTAL)} (fill writes every byte into the data plane's arena at each reset)`);
  }
  return problems;
}
