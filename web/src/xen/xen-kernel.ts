// What the Xen drivers are given besides the step's context: the kernel
// model of the domain they run in (configuration, data plane) and the
// names of the run's domains (dom0 is 0, guests 1, 2, ... in the order the
// scenario lists them).

import type { Kernel } from "../linux/kernel";

export interface XenKernel extends Kernel {
  /** Domain names by domid. */
  readonly domains: readonly string[];
  /** The domains that run blkback: dom0 and the driver domains. */
  readonly backends: ReadonlySet<number>;
}

/** Whether a domain runs blkback (dom0, or a driver domain). */
export function isBackend(k: XenKernel, domid: number): boolean {
  return k.backends.has(domid);
}

export function domainName(k: XenKernel, domid: number): string {
  return k.domains[domid] ?? `domain-${domid}`;
}

export function domidOf(k: XenKernel, name: string): number | undefined {
  const i = k.domains.indexOf(name);
  return i < 0 ? undefined : i;
}

/** The blkback switches of the run. */
export function blkbackMode(k: Kernel): { diskseq: "none" | "node" | "inline"; opened: boolean } {
  const p = k.cfg.patches;
  return { diskseq: p["blkback-diskseq"] ? p.diskseqFormat : "none", opened: p["blkback-opened"] };
}
