// The tree as store objects: one object per node, so that a step's
// footprint names exactly the nodes it touched. Reading one key conflicts
// only with writes of that key; creating or removing a child rewrites the
// parent's child list, so listing a directory (which reads that one node)
// conflicts with creations and removals below it and with nothing else.
//
//   "xs:<path>"  { value, perms, children, gen }
//
// `children` keeps xenstored's order (creation order, `add_child`).
// `gen` counts the node's changes (value, permissions, child list): a
// transaction remembers every node it touches as it was, and its commit
// fails with EAGAIN when one moved. xenstored uses one global generation
// counter instead; a per-node count gives the same answer without making
// every write depend on every other. A re-created node restarts at 0, so
// the commit compares the content when the counts agree (one difference
// remains: a node removed and re-created identically between a
// transaction's access and its commit is not seen as changed; the tree is
// then the same either way, so the commit order stays serializable).
//
// The special nodes "@introduceDomain" and "@releaseDomain" are objects
// too (no value, no children): they carry the permissions that decide who
// may watch them, as in xenstored since 4.15.

import { declareKind } from "../../sim/object-kind";
import type { Store } from "../../sim/store";

export interface XsNode {
  value: string;
  /** The permission list in xenstored's wire form: ["n0", "r5"]; entry 0 is the owner. */
  perms: string[];
  /** Child names, in creation order. */
  children: string[];
  gen: number;
}

export const XS_NODE = declareKind<XsNode, [path: string]>("xs", (path) => path);

/**
 * How an operation reaches the tree: the global tree, or a transaction's
 * private view of it (transaction.ts). Operations are written once, over
 * this, and fire their watch events through it (a transaction queues them
 * until its commit).
 */
export interface TreeAccess {
  /** The domain making the call. */
  readonly domid: number;
  readonly store: Store;
  get(path: string): XsNode | undefined;
  /** Replaces or creates a node (its `gen` is the access's business). */
  put(path: string, node: XsNode): void;
  del(path: string): void;
  /** A change for the watches (core.c `fire_watches`): at `path`; `exact` for nodes removed below an rm's root. */
  changed(event: ChangeEvent): void;
}

/** A change as fire_watches sees it: where, which permissions decide who may see it. */
export interface ChangeEvent {
  path: string;
  exact: boolean;
  /** The node's permissions (for a removal, those it had). */
  perms: string[];
  /** The parent's permissions, when there is a parent (a watcher that can read the parent sees the event too). */
  parentPerms?: string[];
  /** SET_PERMS: the permissions before (a watcher losing access still sees the change). */
  oldPerms?: string[];
}
