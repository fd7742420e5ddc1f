// Node permissions (docs/misc/xenstore.txt; core.c `perm_for_conn`, [V]).
//
// A node's list is written as xenstored writes it on the wire: "n0", "r5",
// "w5", "b5" (none, read, write, both, then the domid). Entry 0 names the
// owner, who has every right, and its letter is the default for domains the
// list does not name; the first later entry naming the caller decides for
// it. The privileged domain (dom0) bypasses every check. Only the owner
// (or dom0) may change the list, and only dom0 may change the owner.
// xenstored ignores entries naming a domain younger than the node
// (`domain_adjust_node_perms`, XSA-322), so that a new domain given a dead
// one's domid does not inherit its rights; the caller of a check is alive,
// so this matters only when domids are reused, which the model never does.

import { xsFail } from "./errors";

export const PERM_READ = 1;
export const PERM_WRITE = 2;
/** Owner rights: changing the permissions (XS_PERM_OWNER). */
export const PERM_OWNER = 8;
const ALL = PERM_READ | PERM_WRITE | PERM_OWNER;

const LETTER_BITS: Record<string, number> = { n: 0, r: PERM_READ, w: PERM_WRITE, b: PERM_READ | PERM_WRITE };

export interface Perm {
  domid: number;
  bits: number;
}

/** The privileged caller: dom0's kernel and tools. */
export function isPrivileged(domid: number): boolean {
  return domid === 0;
}

/** "r5" → { domid: 5, bits: READ }, or EINVAL. */
export function parsePerm(s: unknown): Perm {
  const m = typeof s === "string" ? /^([nrwb])(\d{1,5})$/.exec(s) : null;
  if (!m || Number(m[2]) > 0xffff) xsFail("EINVAL", `invalid permission "${String(s)}" (a letter n, r, w or b, then a domid)`);
  return { domid: Number(m[2]), bits: LETTER_BITS[m[1]!]! };
}

/** A whole list, or EINVAL (empty, or any entry malformed). */
export function parsePerms(list: unknown): string[] {
  if (!Array.isArray(list) || list.length === 0) xsFail("EINVAL", "a permission list needs at least the owner's entry");
  for (const s of list) parsePerm(s);
  return list.map((s) => normalPerm(s as string));
}

/** "r05" → "r5": the form xenstored writes back. */
function normalPerm(s: string): string {
  const p = parsePerm(s);
  return `${s[0]}${p.domid}`;
}

export function ownerOf(perms: readonly string[]): number {
  return parsePerm(perms[0]).domid;
}

/** perm_for_conn: the rights `domid` has on a node with this list. */
export function permFor(domid: number, perms: readonly string[]): number {
  if (isPrivileged(domid)) return ALL;
  const owner = parsePerm(perms[0]);
  if (owner.domid === domid) return ALL;
  for (let i = 1; i < perms.length; i++) {
    const p = parsePerm(perms[i]);
    if (p.domid === domid) return p.bits;
  }
  return owner.bits;
}
