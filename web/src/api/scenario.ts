// `scenario(def)`: the typed identity every scenario file starts with. It
// checks the definition at once, so a typo fails where it was written (the
// error's stack points at the scenario file) rather than as a puzzling run.

import { capacityProblems, type ImageSpec } from "./capacity";
import { isKernelId, resolveConfig } from "./config";
import { formatValue } from "../sim/format-value";
import type { BuiltinInvariant, ScenarioDefinition } from "./types";

/** A malformed scenario definition; `problems` lists every one found. */
export class ScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? `malformed scenario: ${problems[0]}` : `malformed scenario:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ScenarioError";
  }
}

export const BUILTIN_INVARIANTS: readonly BuiltinInvariant[] = ["isolation", "no-leak", "no-stale-open", "progress"];

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes from a size: a whole number, or digits with a K, M or G suffix (powers of 1024). */
export function parseSize(size: unknown): number {
  if (typeof size === "number") {
    if (Number.isSafeInteger(size) && size >= 0) return size;
    throw new Error(`size ${size} is not a whole number of bytes`);
  }
  if (typeof size === "string") {
    const m = /^(\d+)([KMG]?)$/i.exec(size.trim());
    if (m) {
      const n = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
      if (Number.isSafeInteger(n)) return n;
    }
    throw new Error(`bad size ${formatValue(size)}: use bytes or a number with K, M or G, e.g. "8M"`);
  }
  throw new Error(`bad size ${formatValue(size)}: use bytes or a string such as "8M"`);
}

const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function extraKeys(where: string, o: Record<string, unknown>, allowed: readonly string[], problems: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${where}: unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(", ")})`);
}

/** Every problem with a definition; empty when it is well formed. */
export function scenarioProblems(def: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(def)) return [`a scenario is an object ({ title, actors, ... }), got ${def === null ? "null" : typeof def}`];
  extraKeys("scenario", def, ["title", "kernel", "patches", "domains", "files", "actors", "invariants", "sometimes"], problems);
  if (def.title !== undefined && typeof def.title !== "string") problems.push("title must be a string");

  if (def.kernel !== undefined && !isKernelId(def.kernel)) {
    try { resolveConfig(def.kernel, undefined); } catch (e) { problems.push((e as Error).message); }
  }
  try {
    resolveConfig(undefined, def.patches);
  } catch (e) {
    problems.push((e as Error).message);
  }

  const domains = new Set(["dom0"]);
  const images: ImageSpec[] = [];
  if (def.domains !== undefined) {
    if (!isObject(def.domains)) problems.push("domains must be an object: { work: {}, vault: {} }");
    else {
      for (const [name, d] of Object.entries(def.domains)) {
        if (name === "dom0") problems.push("domains: dom0 always exists; do not list it");
        else if (!DOMAIN_NAME.test(name)) problems.push(`domains: ${JSON.stringify(name)} is not a domain name (letters, digits, _ . -)`);
        if (!isObject(d)) problems.push(`domains.${name} must be an object ({}, or { backend: true } for a driver domain)`);
        else {
          extraKeys(`domains.${name}`, d, ["backend"], problems);
          if (d.backend !== undefined && typeof d.backend !== "boolean") problems.push(`domains.${name}.backend must be true or false`);
        }
        domains.add(name);
      }
    }
  }
  const knownDomain = (where: string, d: unknown) => {
    if (d === undefined) return;
    if (typeof d !== "string" || !domains.has(d)) problems.push(`${where}: unknown domain ${formatValue(d)} (known: ${[...domains].join(", ")})`);
  };

  if (def.files !== undefined) {
    if (!isObject(def.files)) problems.push("files must be an object of path -> { size, owner } or { content }");
    else {
      for (const [path, f] of Object.entries(def.files)) {
        const where = `files[${JSON.stringify(path)}]`;
        if (!path.startsWith("/")) problems.push(`${where}: a file path must be absolute`);
        if (!isObject(f)) { problems.push(`${where} must be { size, owner? } or { content }`); continue; }
        extraKeys(where, f, ["size", "owner", "content", "domain", "fill"], problems);
        const hasSize = f.size !== undefined;
        const hasContent = f.content !== undefined;
        if (hasSize === hasContent) problems.push(`${where}: give either size (a disk image) or content (a text file)`);
        let size: number | undefined;
        if (hasSize) {
          try { size = parseSize(f.size); } catch (e) { problems.push(`${where}: ${(e as Error).message}`); }
        }
        if (hasContent && typeof f.content !== "string") problems.push(`${where}: content must be a string`);
        if (f.owner !== undefined && !hasSize) problems.push(`${where}: owner belongs to a disk image (one with a size)`);
        if (f.fill !== undefined) {
          if (!hasSize) problems.push(`${where}: fill belongs to a disk image (one with a size)`);
          else if (typeof f.fill !== "number" || !Number.isInteger(f.fill) || f.fill < 0 || f.fill > 255) problems.push(`${where}: fill must be a byte value 0..255`);
        }
        if (size !== undefined && !hasContent) images.push({ where, size, ...(typeof f.fill === "number" && f.fill !== 0 ? { fill: f.fill } : {}) });
        knownDomain(`${where}.owner`, f.owner);
        knownDomain(`${where}.domain`, f.domain);
      }
    }
  }

  problems.push(...capacityProblems(domains.size - 1, images));

  if (!isObject(def.actors)) problems.push("actors must be an object of name -> async (sys) => { ... }");
  else {
    if (Object.keys(def.actors).length === 0) problems.push("a scenario needs at least one actor");
    for (const [name, a] of Object.entries(def.actors)) {
      const where = `actors.${name}`;
      if (typeof a === "function") continue;
      if (!isObject(a)) { problems.push(`${where} must be an async function (sys) => { ... } or { domain, run }`); continue; }
      extraKeys(where, a, ["domain", "run", "mayCrash", "daemon", "privileged"], problems);
      if (typeof a.run !== "function") problems.push(`${where}.run must be a function (sys) => { ... }`);
      knownDomain(`${where}.domain`, a.domain);
      for (const k of ["mayCrash", "daemon", "privileged"]) if (a[k] !== undefined && typeof a[k] !== "boolean") problems.push(`${where}.${k} must be true or false`);
    }
  }

  const names = new Set<string>();
  const check = (where: string, c: unknown, builtinsAllowed: boolean) => {
    if (typeof c === "string") {
      if (!builtinsAllowed) problems.push(`${where}: give a check { name, check(world) }, not a name`);
      else if (!(BUILTIN_INVARIANTS as readonly string[]).includes(c)) problems.push(`${where}: unknown built-in invariant ${JSON.stringify(c)} (known: ${BUILTIN_INVARIANTS.join(", ")})`);
      else if (names.has(c)) problems.push(`${where}: ${JSON.stringify(c)} is listed twice`);
      names.add(c);
      return;
    }
    if (!isObject(c)) { problems.push(`${where} must be ${builtinsAllowed ? "a built-in invariant's name or " : ""}{ name, check(world) }`); return; }
    extraKeys(where, c, ["name", "atEnd", "check"], problems);
    if (typeof c.name !== "string" || c.name === "") problems.push(`${where}.name must be a non-empty string`);
    else if (names.has(c.name) || (BUILTIN_INVARIANTS as readonly string[]).includes(c.name)) problems.push(`${where}: the name ${JSON.stringify(c.name)} is already taken`);
    else names.add(c.name);
    if (typeof c.check !== "function") problems.push(`${where}.check must be a function (world) => message | undefined`);
    if (c.atEnd !== undefined && typeof c.atEnd !== "boolean") problems.push(`${where}.atEnd must be true or false`);
  };
  for (const [key, builtins] of [["invariants", true], ["sometimes", false]] as const) {
    const list = def[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) { problems.push(`${key} must be a list`); continue; }
    list.forEach((c, i) => check(`${key}[${i}]`, c, builtins));
  }
  return problems;
}

/** Checks a scenario definition (throws a ScenarioError listing every problem) and returns it. */
export function scenario(def: ScenarioDefinition): ScenarioDefinition {
  const problems = scenarioProblems(def);
  if (problems.length > 0) throw new ScenarioError(problems);
  return def;
}
