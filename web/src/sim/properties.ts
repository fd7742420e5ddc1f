// What an exploration checks: invariants after every step or once at the
// end, deadlock (progress), and "sometimes" properties that must hold in at
// least one explored execution, so that a pass cannot come from a scenario
// that never reached its race window.

import type { Execution } from "./execution";

export interface Invariant {
  name: string;
  /** Checked once, when every actor is done or blocked; otherwise after every step. */
  atEnd?: boolean;
  /** A message when violated, undefined when it holds. */
  check(exec: Execution): string | undefined;
}

export interface Violation {
  invariant: string;
  message: string;
}

export interface Properties {
  invariants: Invariant[];
  /** Each must hold in at least one execution (after some step, or at the end with atEnd). */
  sometimes: Invariant[];
  /** Report quiescence with a blocked non-daemon actor as a "progress" violation. */
  deadlock: boolean;
}

export function checkAfterStep(exec: Execution, props: Properties, seen: Set<string>): Violation | undefined {
  for (const s of props.sometimes) if (!s.atEnd && !seen.has(s.name) && s.check(exec) === undefined) seen.add(s.name);
  for (const inv of props.invariants) {
    if (inv.atEnd) continue;
    const m = inv.check(exec);
    if (m !== undefined) return { invariant: inv.name, message: m };
  }
  return undefined;
}

export function checkAtEnd(exec: Execution, props: Properties, seen: Set<string>): Violation | undefined {
  for (const s of props.sometimes) if (!seen.has(s.name) && s.check(exec) === undefined) seen.add(s.name);
  if (props.deadlock) {
    const stuck = exec.blocked().filter((i) => !exec.actors[i]!.daemon);
    if (stuck.length > 0) {
      const who = stuck.map((i) => {
        const a = exec.actors[i]!;
        return `${a.who.name} waits in ${a.pending!.call}${a.pending!.waitingFor ? ` ${a.pending!.waitingFor}` : ""}`;
      });
      return { invariant: "progress", message: `deadlock: nothing can move; ${who.join("; ")}` };
    }
  }
  for (const inv of props.invariants) {
    const m = inv.check(exec);
    if (m !== undefined) return { invariant: inv.name, message: m };
  }
  return undefined;
}
