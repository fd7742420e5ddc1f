// The xenstored operations over a tree (global or a transaction's view),
// each as core.c does it ([V] tools/xenstored/core.c: do_read, do_write,
// do_mkdir, do_rm, send_directory, do_get_perms, do_set_perms):
//
// - Access needs the right on the node itself. A missing node, or a denied
//   one, is reported as xenstored's `errno_from_parents` does: ENOENT only
//   if the caller has that same right on the nearest existing ancestor,
//   EACCES otherwise, so an error never tells a domain that a node it may
//   not see exists.
// - WRITE and MKDIR of a missing node need write on the nearest existing
//   ancestor, and create every missing level with an empty value; each new
//   node copies its parent's permissions, and an unprivileged creator
//   becomes its owner (`construct_node`). Only the written node fires
//   watches. This is the stale-directory hazard: a late write into a
//   directory someone removed re-creates it, empty but for that key.
// - RM removes the whole subtree (no right is needed below the node); a
//   missing node is fine when its parent exists, ENOENT when the parent is
//   missing too; "/" is EINVAL. Each removed node fires the watches set
//   exactly on it, children first, and the root fires its own and its
//   ancestors' watches (`delnode_sub`).
// - Check, then change: every check happens before the first write.

import { xsFail } from "./errors";
import type { TreeAccess, XsNode } from "./node";
import { baseName, childPath, isSpecial, parentOf, PAYLOAD_MAX } from "./path";
import { isPrivileged, ownerOf, parsePerms, permFor, PERM_OWNER, PERM_READ, PERM_WRITE } from "./perms";

function rights(t: TreeAccess, node: XsNode): number {
  return permFor(t.domid, node.perms);
}

/** The nearest existing strict ancestor of `path` (ask_parents), with its path. */
function nearestAncestor(t: TreeAccess, path: string): { path: string; node: XsNode } | undefined {
  for (let p = parentOf(path); p !== undefined; p = parentOf(p)) {
    const n = t.get(p);
    if (n) return { path: p, node: n };
  }
  return undefined;
}

/**
 * get_node + get_node_chk_perm: the node if the caller has `want` on it;
 * otherwise the error xenstored gives, ENOENT (missing) being softened to
 * EACCES unless the nearest ancestor grants `want`. A missing node returns
 * undefined only where `missingOk` (the caller creates or ignores it).
 */
function lookup(t: TreeAccess, path: string, want: number, missingOk: true): XsNode | undefined;
function lookup(t: TreeAccess, path: string, want: number, missingOk?: false): XsNode;
function lookup(t: TreeAccess, path: string, want: number, missingOk = false): XsNode | undefined {
  const node = t.get(path);
  if (node) {
    if ((rights(t, node) & want) === want) return node;
    xsFail("EACCES", `${path}: permission denied`);
  }
  const anc = isSpecial(path) ? undefined : nearestAncestor(t, path);
  const parentRights = anc ? rights(t, anc.node) : 0;
  if ((parentRights & want) === 0) xsFail("EACCES", `${path}: permission denied`);
  if (missingOk) return undefined;
  xsFail("ENOENT", `${path}: no such node`);
}

export function opRead(t: TreeAccess, path: string): string {
  return lookup(t, path, PERM_READ).value;
}

export function opDirectory(t: TreeAccess, path: string): string[] {
  return [...lookup(t, path, PERM_READ).children];
}

export function opGetPerms(t: TreeAccess, path: string): string[] {
  return [...lookup(t, path, PERM_READ).perms];
}

function checkValue(path: string, value: unknown): string {
  if (typeof value !== "string") xsFail("EINVAL", `${path}: a xenstore value is a string`);
  if (path.length + 1 + value.length > PAYLOAD_MAX) xsFail("E2BIG", `${path}: the request is longer than ${PAYLOAD_MAX} bytes`);
  return value;
}

/** construct_node + create_node: the missing levels down to `path`, each inheriting its parent's list. */
function create(t: TreeAccess, path: string, value: string): XsNode {
  const missing: string[] = [path];
  let p = parentOf(path)!;
  let parent = t.get(p);
  while (!parent) {
    missing.push(p);
    p = parentOf(p)!;
    parent = t.get(p);
  }
  // Every new level copies the list of the level above it (so all copy the
  // existing ancestor's), with an unprivileged creator as owner.
  const perms = [...parent.perms];
  if (!isPrivileged(t.domid)) perms[0] = `${perms[0]![0]}${t.domid}`;
  t.put(p, { ...parent, children: [...parent.children, baseName(missing[missing.length - 1]!)] });
  let node: XsNode | undefined;
  for (let i = missing.length - 1; i >= 0; i--) {
    node = { value: i === 0 ? value : "", perms: [...perms], children: i === 0 ? [] : [baseName(missing[i - 1]!)], gen: 0 };
    t.put(missing[i]!, node);
  }
  return node!;
}

export function opWrite(t: TreeAccess, path: string, value: unknown): void {
  if (isSpecial(path)) xsFail("EINVAL", `${path}: not a node that can be written`);
  const v = checkValue(path, value);
  const node = lookup(t, path, PERM_WRITE, true);
  const written = node ? { ...node, value: v } : create(t, path, v);
  if (node) t.put(path, written);
  fireFor(t, path, written);
}

export function opMkdir(t: TreeAccess, path: string): void {
  if (isSpecial(path)) xsFail("EINVAL", `${path}: not a node that can be created`);
  if (lookup(t, path, PERM_WRITE, true)) return;
  fireFor(t, path, create(t, path, ""));
}

function fireFor(t: TreeAccess, path: string, node: XsNode, oldPerms?: string[]): void {
  const parent = parentOf(path);
  const pn = parent === undefined ? undefined : t.get(parent);
  t.changed({ path, exact: false, perms: node.perms, ...(pn ? { parentPerms: pn.perms } : {}), ...(oldPerms ? { oldPerms } : {}) });
}

export function opRm(t: TreeAccess, path: string): void {
  if (isSpecial(path)) xsFail("EINVAL", `${path}: not a node that can be removed`);
  const node = lookup(t, path, PERM_WRITE, true);
  if (!node) {
    const parent = parentOf(path);
    if (parent !== undefined && t.get(parent)) return;
    xsFail("ENOENT", `${path}: neither the node nor its parent exists`);
  }
  if (path === "/") xsFail("EINVAL", "the root cannot be removed");
  // rm_node reads the parent and answers EINVAL when it cannot: only a
  // transaction can see that (a node it meets for the first time whose
  // parent it saw missing earlier); its commit fails with EAGAIN anyway.
  if (!t.get(parentOf(path)!)) xsFail("EINVAL", `${path}: its parent is missing in this transaction's view`);
  removeTree(t, path, node);
}

/** rm_node: the subtree, children first, then the entry in the parent. Also xenstored's own removals (a dead domain's nodes). */
export function removeTree(t: TreeAccess, path: string, node: XsNode): void {
  const parentPath = parentOf(path)!;
  const parent = t.get(parentPath)!;
  const walk = (p: string, n: XsNode, parentPerms: string[], exact: boolean): void => {
    for (const c of n.children) {
      const cp = childPath(p, c);
      const cn = t.get(cp);
      if (cn) walk(cp, cn, n.perms, true);
    }
    t.del(p);
    t.changed({ path: p, exact, perms: n.perms, parentPerms });
  };
  walk(path, node, parent.perms, false);
  const name = baseName(path);
  t.put(parentPath, { ...parent, children: parent.children.filter((c) => c !== name) });
}

export function opSetPerms(t: TreeAccess, path: string, list: unknown): void {
  const perms = parsePerms(list);
  const node = lookup(t, path, PERM_WRITE | PERM_OWNER);
  if (!isPrivileged(t.domid) && ownerOf(perms) !== ownerOf(node.perms)) xsFail("EPERM", `${path}: only the privileged domain may change a node's owner`);
  const updated = { ...node, perms };
  t.put(path, updated);
  fireFor(t, path, updated, node.perms);
}
