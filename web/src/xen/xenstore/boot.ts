// The tree when a scenario starts: what xenstored creates for itself ("/",
// "/tool", the special nodes owned by dom0) and what the toolstack wrote
// when it built dom0 and each guest (libxl__domain_make [M]: the home
// /local/domain/<id> readable by the guest, its `device` and `control`
// directories read-only to it, `control/shutdown` and `data` its own, the
// toolstack's private /libxl/<id>).

import type { Store } from "../../sim/store";
import { XS_NODE } from "./node";
import { baseName, homeOf, parentOf, SPECIAL_PATHS } from "./path";

/** Creates a node and its entry in the parent, outside any step (boot or domain build). */
export function seedNode(store: Store, path: string, value: string, perms: string[]): void {
  const parent = parentOf(path);
  if (parent !== undefined) {
    const p = XS_NODE.get(store, XS_NODE.key(parent));
    if (!p) throw new Error(`xenstore seed: ${parent} must exist before ${path}`);
    const name = baseName(path);
    if (!p.children.includes(name)) XS_NODE.update(store, XS_NODE.key(parent), p, { children: [...p.children, name], gen: p.gen + 1 });
  }
  const old = XS_NODE.get(store, XS_NODE.key(path));
  XS_NODE.set(store, XS_NODE.key(path), { value, perms, children: old?.children ?? [], gen: old ? old.gen + 1 : 0 });
}

/** The nodes libxl writes for a domain it builds (dom0's are xen-init-dom0's). */
export function domainNodes(domid: number, name: string): [path: string, value: string, perms: string[]][] {
  const home = homeOf(domid);
  if (domid === 0) return [[home, "", ["n0"]], [`${home}/name`, name === "dom0" ? "Domain-0" : name, ["n0"]], [`${home}/domid`, "0", ["n0"]]];
  const ro = ["n0", `r${domid}`];
  const rw = [`n${domid}`];
  return [
    [home, "", ro],
    [`${home}/name`, name, ro],
    [`${home}/domid`, String(domid), ro],
    [`${home}/device`, "", ro],
    [`${home}/control`, "", ro],
    [`${home}/control/shutdown`, "", rw],
    [`${home}/data`, "", rw],
    [`/libxl/${domid}`, "", ["n0"]],
  ];
}

/** The tree at boot for these domains (domid = index; dom0 first). */
export function xsBoot(store: Store, domains: readonly { name: string; domid: number }[]): void {
  XS_NODE.set(store, XS_NODE.key("/"), { value: "", perms: ["n0"], children: [], gen: 0 });
  for (const s of SPECIAL_PATHS) XS_NODE.set(store, XS_NODE.key(s), { value: "", perms: ["n0"], children: [], gen: 0 });
  for (const p of ["/tool", "/tool/xenstored", "/local", "/local/domain", "/libxl"]) seedNode(store, p, "", ["n0"]);
  for (const d of domains) for (const [p, v, perms] of domainNodes(d.domid, d.name)) seedNode(store, p, v, perms);
}
