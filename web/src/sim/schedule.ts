// A schedule is the list of transitions an execution took, written as a
// compact token that fits in a URL and a command line:
//
//   "1." then items joined by "-"; an item is the actor index in base 36
//   (lower case), then "K" if the actor was killed there, then ".v" per
//   choice value (base 36), then "X" and a repeat count (base 36) for a run
//   of identical items. Example: "1.0X3-1-0K-2.1" = actor 0 three times,
//   actor 1, actor 0 killed, actor 2 with choice value 1.
//
// Only characters that URLs, shells and chat tools leave alone are used.

import type { Transition } from "./execution";

export const SCHEDULE_VERSION = "1";

function item(t: Transition): string {
  return `${t.actor.toString(36)}${t.kill ? "K" : ""}${(t.choices ?? []).map((c) => `.${c.toString(36)}`).join("")}`;
}

export function encodeSchedule(ts: readonly Transition[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ts.length; ) {
    const s = item(ts[i]!);
    let n = 1;
    while (i + n < ts.length && item(ts[i + n]!) === s) n++;
    parts.push(n > 1 ? `${s}X${n.toString(36)}` : s);
    i += n;
  }
  return `${SCHEDULE_VERSION}.${parts.join("-")}`;
}

export class ScheduleSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleSyntaxError";
  }
}

export function decodeSchedule(token: string): Transition[] {
  const dot = token.indexOf(".");
  if (dot < 0 || token.slice(0, dot) !== SCHEDULE_VERSION) {
    throw new ScheduleSyntaxError(`not a version-${SCHEDULE_VERSION} schedule token: ${JSON.stringify(token.slice(0, 40))}`);
  }
  const body = token.slice(dot + 1);
  if (body === "") return [];
  const out: Transition[] = [];
  for (const part of body.split("-")) {
    const m = /^([0-9a-z]+)(K?)((?:\.[0-9a-z]+)*)(?:X([0-9a-z]+))?$/.exec(part);
    if (!m) throw new ScheduleSyntaxError(`bad schedule item ${JSON.stringify(part)}`);
    const t: Transition = { actor: parseInt(m[1]!, 36) };
    if (m[2]) t.kill = true;
    if (m[3]) t.choices = m[3].slice(1).split(".").map((c) => parseInt(c, 36));
    const n = m[4] ? parseInt(m[4], 36) : 1;
    if (!(n >= 1) || n > 1_000_000) throw new ScheduleSyntaxError(`bad repeat count in ${JSON.stringify(part)}`);
    for (let i = 0; i < n; i++) out.push({ ...t, choices: t.choices ? [...t.choices] : undefined });
  }
  return out;
}
