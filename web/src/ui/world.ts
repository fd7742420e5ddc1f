// The page's side of the world views: looking up what the sandbox recorded
// (worker/world.ts) at the selected step. Devices and rings are frames
// indexed per step; the xenstore tree is rebuilt from the nearest
// checkpoint (one every CHECKPOINT steps, made when first needed) plus at
// most CHECKPOINT - 1 steps of changes, so a move of the step slider costs
// a few hundred map operations at most, whatever the trace's length.

import type { Frames, WorldFrames, XsNodeView } from "../worker/world-types";

const CHECKPOINT = 32;

export function frameAt<T>(f: Frames<T>, step: number): T | undefined {
  if (f.at.length === 0) return undefined;
  const i = f.at[Math.max(0, Math.min(step, f.at.length - 1))]!;
  return f.frames[i];
}

export interface XsRow {
  path: string;
  name: string;
  depth: number;
  node: XsNodeView;
}

export class XenstoreHistory {
  private readonly checkpoints: Map<string, XsNodeView>[] = [];

  constructor(private readonly world: WorldFrames) {
    this.checkpoints.push(new Map(Object.entries(world.xenstore.initial)));
    this.versions = [0];
    world.xenstore.changes.forEach((c, i) => this.versions.push(c.length > 0 ? i + 1 : this.versions[i]!));
  }

  /** versionAt[s]: the last step at or before s that changed the tree (0: the initial tree). */
  private readonly versions: number[];

  /** The tree's version after `step` steps: equal versions, equal trees (so the view need not rebuild its rows). */
  versionAt(step: number): number {
    return this.versions[Math.max(0, Math.min(step, this.versions.length - 1))]!;
  }

  /** Steps recorded (the tree exists for 0..steps). */
  get steps(): number {
    return this.world.xenstore.changes.length;
  }

  private apply(tree: Map<string, XsNodeView>, step: number): void {
    for (const [path, node] of this.world.xenstore.changes[step - 1] ?? []) {
      if (node) tree.set(path, node);
      else tree.delete(path);
    }
  }

  /** The tree after `step` steps (clamped to what was recorded). */
  treeAt(step: number): Map<string, XsNodeView> {
    const s = Math.max(0, Math.min(step, this.steps));
    const k = Math.floor(s / CHECKPOINT);
    while (this.checkpoints.length <= k) {
      const i = this.checkpoints.length;
      const next = new Map(this.checkpoints[i - 1]!);
      for (let t = (i - 1) * CHECKPOINT + 1; t <= i * CHECKPOINT; t++) this.apply(next, t);
      this.checkpoints.push(next);
    }
    const tree = new Map(this.checkpoints[k]!);
    for (let t = k * CHECKPOINT + 1; t <= s; t++) this.apply(tree, t);
    return tree;
  }

  /** What step `step` wrote (step 1 is the first): paths, and those it removed. */
  changedAt(step: number): { written: Set<string>; removed: string[] } {
    const written = new Set<string>();
    const removed: string[] = [];
    for (const [path, node] of step >= 1 ? (this.world.xenstore.changes[step - 1] ?? []) : []) {
      if (node) written.add(path);
      else removed.push(path);
    }
    return { written, removed };
  }
}

/** The tree as xenstore-ls lists it: depth-first from `/`, children in creation order; special nodes (@...) last. */
export function xsRows(tree: Map<string, XsNodeView>): XsRow[] {
  const rows: XsRow[] = [];
  const seen = new Set<string>();
  const visit = (path: string, depth: number) => {
    const node = tree.get(path);
    if (!node || seen.has(path)) return;
    seen.add(path);
    rows.push({ path, name: path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1), depth, node });
    for (const c of node.children) visit(path === "/" ? `/${c}` : `${path}/${c}`, depth + 1);
  };
  visit("/", 0);
  // Nodes not reachable from / (the special @ nodes, or a tree recorded without its root) follow, sorted.
  for (const path of [...tree.keys()].sort()) {
    if (!seen.has(path)) rows.push({ path, name: path, depth: 0, node: tree.get(path)! });
  }
  return rows;
}

/** xenstore-ls -p's permission list: (n0,r1). */
export function permsText(perms: readonly string[]): string {
  return `(${perms.join(",")})`;
}
