// One emulated machine, the composition root of a run: the kernel
// configuration, one kernel per domain (booted into the store), Xen (its
// domains, xenstored, the drivers' boot), the data plane that holds image
// bytes, the kernel threads and the toolstack's daemons that run as actors,
// and the table of hotplug functions the scenario gave. It sits above the
// models (linux knows nothing of Xen: what Xen releases when a process
// exits is handed to the kernel as its onProcessExit hook). It is the
// runtime's ExternalState: the data plane's arena is checkpointed and
// restored with the store, so exploring back and forth also undoes what
// I/O wrote.

import { arenaFrames } from "./capacity";
import type { Config } from "./types";
import { DataPlane } from "../core/data-plane";
import { daemonLoop, type Channel } from "../sim/actor";
import type { ActorSpec, ExternalState } from "../sim/execution";
import type { StepContext, Who } from "../sim/op";
import type { Store } from "../sim/store";
import { dmDeferredStep } from "../linux/dm/deferred";
import { FILE, IMAGE_IDS, type FileObject, type ImageFile } from "../linux/files";
import { BLOCK_DRIVERS } from "../linux/drivers";
import { processExit } from "../linux/exit";
import { kernelConfig, LOOP_CTRL_MINOR, MAPPER_CTRL_MINOR, MISC_MAJOR, type KernelConfig } from "../linux/kconfig";
import { ModelBug, type Kernel } from "../linux/kernel";
import { loopAdd } from "../linux/loop/device";
import { DEV_NODE } from "../linux/objects";
import { udevSettle, udevStep } from "../linux/udev";
import { xenDriversBoot, xenKernelThreads, hasGuests } from "../xen/actors";
import { xenBoot } from "../xen/domctl";
import { xsConnectionClosed } from "../xen/xenstore";
import { hotplugRunner, type ScriptProcess, type ScriptTable } from "../userland/hotplug/runner";

export interface InitialFile {
  domain: string;
  path: string;
  file: { content: string } | { size: number; owner?: string; fill?: number };
}

export class Machine implements Kernel, ExternalState {
  readonly cfg: KernelConfig;
  private plane: DataPlane | null = null;
  private base = 0;

  /** The domains that run blkback (Xen): dom0 and the driver domains. */
  readonly backends: ReadonlySet<number>;

  readonly blockDrivers = BLOCK_DRIVERS;

  /** The hotplug functions the scenario gave, by job id (xl registers them, the runners look them up). */
  readonly scripts: ScriptTable = new Map();

  /** A process's xenstore connection closes when it exits: its watches and open transactions go. */
  readonly onProcessExit = (ctx: StepContext): void => xsConnectionClosed(ctx, ctx.who.name);

  constructor(config: Config, readonly domains: string[], readonly files: InitialFile[], driverDomains: readonly string[] = []) {
    this.cfg = kernelConfig(config);
    this.backends = new Set([0, ...driverDomains.map((d) => domains.indexOf(d)).filter((i) => i > 0)]);
  }

  get dp(): DataPlane | null {
    return this.plane;
  }

  async ready(): Promise<void> {
    if (this.plane) return;
    // 256 MiB for what the run writes (sparse images cost nothing until written), and room for the fills.
    const filled = this.files.flatMap((f) => ("size" in f.file && f.file.fill !== undefined ? [f.file.size] : []));
    this.plane = await DataPlane.create({ maxFrames: arenaFrames(filled) });
    this.base = this.plane.checkpoint();
  }

  private get arena(): DataPlane {
    if (!this.plane) throw new ModelBug("the data plane is used before Execution.start loaded it");
    return this.plane;
  }

  reset(): void {
    this.arena.restore(this.base);
  }
  checkpoint(): number {
    return this.arena.checkpoint();
  }
  restore(id: number): void {
    this.arena.restore(id);
  }
  release(id: number): void {
    this.arena.release(id);
  }
  changedSince(id: number): boolean {
    return this.arena.dirtyFramesSince(id) > 0;
  }

  /** Boots every domain's kernel and creates the scenario's files (ExecutionSpec.setup). */
  boot(store: Store): void {
    for (const d of this.domains) bootKernel(store, this, d);
    let nextImage = 0;
    for (const f of this.files) {
      let obj: FileObject;
      if ("content" in f.file) obj = { content: f.file.content };
      else {
        if (nextImage >= 256) throw new ModelBug("more than 256 disk images");
        this.arena.createImage(nextImage, f.file.size);
        if (f.file.fill !== undefined) fillImage(this.arena, nextImage, f.file.size, f.file.fill);
        const img: ImageFile = { size: f.file.size, image: nextImage++, gen: 0 };
        if (f.file.owner !== undefined) img.owner = f.file.owner;
        obj = img;
      }
      FILE.set(store, FILE.key(f.domain, f.path), obj);
    }
    if (nextImage > 0) IMAGE_IDS.set(store, IMAGE_IDS.key(), { next: nextImage });
    // Xen: the domains (dom0 = 0, guests 1, 2, ... in this.domains' order), xenstored's tree, then what the drivers register.
    xenBoot(store, this.plane, this.domains.map((name, domid) => ({ name, domid })));
    xenDriversBoot(store, this);
  }

  /** A killed process ends as one that exits: the kernel's do_exit. */
  onKill(ctx: StepContext): void {
    processExit(ctx, this);
  }

  /**
   * The Xen daemons, when there are guests: each domain's kernel threads,
   * then the hotplug runners of dom0 and of each driver domain (`spawn`
   * makes a script's process over its runner's channel).
   */
  xenActors(spawn: (ch: Channel, who: Who, name: string) => ScriptProcess): ActorSpec[] {
    if (!hasGuests(this)) return [];
    const runners = [...this.backends].sort((a, b) => a - b).map((b) => hotplugRunner(this.scripts, spawn, b, this.domains[b]!));
    return [...xenKernelThreads(this), ...runners];
  }

  /** The kernel threads of a domain, as daemon actors: udev and dm's deferred-remove worker. */
  kernelActors(d: string): ActorSpec[] {
    const suffix = d === "dom0" ? "" : `@${d}`;
    return [
      { name: `kernel:udev${suffix}`, domain: d, daemon: true, body: daemonLoop(() => udevStep(d)) },
      { name: `kernel:dm-deferred${suffix}`, domain: d, daemon: true, body: daemonLoop(() => dmDeferredStep(this, d)) },
    ];
  }
}

/** Writes `byte` over the whole image, a MiB at a time. */
function fillImage(dp: DataPlane, image: number, size: number, byte: number): void {
  const chunk = new Uint8Array(Math.min(size, 1 << 20)).fill(byte);
  for (let off = 0; off < size; off += chunk.length) dp.writeImage(image, off, chunk.subarray(0, Math.min(chunk.length, size - off)));
}

/** A context for work done outside any step (boot): nothing is recorded, no choice is offered. */
function bootContext(store: Store, d: string): StepContext {
  return { store, who: { index: -1, name: "boot", domain: d }, choose: () => 0, emit: () => {} };
}

/**
 * The state after boot with `max_loop=8` and dm-mod loaded (the golden
 * traces' setup): loop0..7 unbound with diskseq 1..8, the two control
 * nodes, no dm devices, and udev's coldplug done.
 */
function bootKernel(store: Store, k: Kernel, d: string): void {
  const ctx = bootContext(store, d);
  for (let i = 0; i < k.cfg.maxLoop; i++) loopAdd(ctx, d, i);
  DEV_NODE.set(store, DEV_NODE.key(d, "/dev/loop-control"), { type: "char", major: MISC_MAJOR, minor: LOOP_CTRL_MINOR });
  DEV_NODE.set(store, DEV_NODE.key(d, "/dev/mapper/control"), { type: "char", major: MISC_MAJOR, minor: MAPPER_CTRL_MINOR });
  udevSettle(ctx, d);
}
