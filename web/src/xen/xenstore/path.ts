// Xenstore paths as xenstored checks them (tools/xenstored/core.c,
// `canonicalize` and `valid_chars`, [V]): the characters [A-Za-z0-9/_@-];
// a relative path is resolved under the caller's home /local/domain/<domid>;
// no trailing slash (except "/" itself), no "//"; '@' starts only the
// special watch names, and only where the operation allows them (WATCH,
// GET_PERMS, SET_PERMS). Limits: 3072 bytes absolute (XENSTORE_ABS_PATH_MAX);
// for an unprivileged domain the part after /local/domain/<id>/ may be at
// most 2048 bytes (the ACC_PATHLEN quota's default, XENSTORE_REL_PATH_MAX).

import { xsFail } from "./errors";

export const ABS_PATH_MAX = 3072;
export const REL_PATH_MAX = 2048;
/** A message's payload limit (XENSTORE_PAYLOAD_MAX). */
export const PAYLOAD_MAX = 4096;

export const INTRODUCE_DOMAIN = "@introduceDomain";
export const RELEASE_DOMAIN = "@releaseDomain";
export const SPECIAL_PATHS = [INTRODUCE_DOMAIN, RELEASE_DOMAIN] as const;

const VALID = /^[A-Za-z0-9/_@-]*$/;

export function homeOf(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Whether `path` is a special watch name ("@releaseDomain"). */
export function isSpecial(path: string): boolean {
  return path.startsWith("@");
}

/**
 * The absolute path `raw` names for domain `domid`, or EINVAL. `special`
 * allows the '@' names (watches and permissions of the special nodes).
 */
export function canonicalize(domid: number, raw: unknown, special = false): string {
  if (typeof raw !== "string") xsFail("EINVAL", `not a xenstore path: ${String(raw)}`);
  const node = raw;
  if (!VALID.test(node) || (node.startsWith("@") && !special)) xsFail("EINVAL", `invalid xenstore path "${node}"`);
  const name = node.startsWith("/") || node.startsWith("@") ? node : `${homeOf(domid)}/${node}`;
  const local = /^\/local\/domain\/\d{1,5}\//.exec(name);
  const localOff = local ? local[0].length : 0;
  if ((name.endsWith("/") && name !== "/") || name.includes("//")) xsFail("EINVAL", `invalid xenstore path "${node}"`);
  if (name.length > ABS_PATH_MAX) xsFail("EINVAL", `xenstore path longer than ${ABS_PATH_MAX} bytes`);
  if (domid !== 0 && name.length - localOff > REL_PATH_MAX) xsFail("EINVAL", `xenstore path longer than ${REL_PATH_MAX} bytes below the domain's home`);
  return name;
}

/** The parent of an absolute path ("/" for "/a"); undefined for "/" and the special names. */
export function parentOf(path: string): string | undefined {
  if (path === "/" || isSpecial(path)) return undefined;
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** `path` itself and its ancestors up to "/", nearest first. */
export function selfAndAncestors(path: string): string[] {
  if (isSpecial(path)) return [path];
  const out: string[] = [];
  for (let p: string | undefined = path; p !== undefined; p = parentOf(p)) out.push(p);
  return out;
}

/** watch.c `is_child`: `child` is `parent` or below it ("/" is above everything). */
export function isAtOrBelow(child: string, parent: string): boolean {
  if (parent === "/") return !isSpecial(child);
  return child === parent || child.startsWith(`${parent}/`);
}
