// Shortening a counterexample, so that a reader sees the race and not the
// noise around it: among the executions that violate the same invariant,
// the one with the fewest preemptions, and among those the fewest steps.
//
// Iterative context bounding (Musuvathi and Qadeer, "Iterative context
// bounding for systematic testing of multithreaded programs", PLDI 2007):
// for c = 0, 1, 2, ... up to the original's preemption count, a bounded
// depth-first search over the executions with at most c preemptions; the
// first c with a violation is the answer's count, and the search at that c
// goes on with a shrinking length bound (branch and bound) to the shortest.
// A preemption is a switch away from an actor that could still have moved;
// switching when it finished, blocked or died is free. Deaths and choice
// values are explored as the exhaustive search does.
//
// The search keeps, per state (state key and last actor), the fewest
// preemptions and steps it was reached with: a state reached again with no
// fewer of either cannot lead anywhere new. Like the exhaustive search's
// state cache, that assumes invariants judge the state, not the order of
// past steps; `caching: false` turns it off.
//
// Bounded by work alone (states visited, steps per execution), never by
// time: what is printed must not depend on the machine or its load, and a
// deadline made the same command print different counterexamples. When a
// bound stops it, the best counterexample found so far is returned (at worst
// the original), and the result says it is not proved shortest.

import { Execution, type ExecutionSpec, type Transition } from "./execution";
import type { FoundViolation } from "./exhaustive";
import { checkAfterStep, checkAtEnd, type Properties } from "./properties";
import { normalizeTransition, replaySchedule } from "./replay";

/** Switches away from an actor that was still enabled: `enabledAtEachStep[i]` lists the actors enabled before step i. */
export function preemptions(path: readonly Transition[], enabledAtEachStep: readonly (readonly number[])[]): number {
  let n = 0;
  for (let i = 1; i < path.length; i++) {
    const prev = path[i - 1]!.actor;
    if (path[i]!.actor !== prev && (enabledAtEachStep[i] ?? []).includes(prev)) n++;
  }
  return n;
}

/**
 * States a shortening visits by default. Every gallery counterexample but
 * qubes-lifecycle's is proved shortest in far fewer; that one's
 * 0-preemption search goes from the original 198 steps to 164 (found after
 * 113,424 states; 165 after 56,946), where the 5 s deadline this replaces
 * printed 165 to 187 steps depending on the machine's load. About 7 s of
 * CPU time on the development machine.
 */
export const SHORTEN_STATES = 120_000;

export interface ShortenOptions {
  /** States visited over the whole search (default SHORTEN_STATES). */
  maxStates?: number;
  /** Longest execution searched (default: the original's length, at least 1000). */
  maxSteps?: number;
  /** Skip states already explored with no fewer preemptions and steps (default true). */
  caching?: boolean;
  /** Called every 256 states, for live progress; what it returns is ignored, so it decides nothing. */
  tick?: () => unknown;
}

export interface ShortenResult {
  violation: FoundViolation;
  preemptions: number;
  originalPreemptions: number;
  /** True when the search proved the result minimal (no bound stopped it). */
  complete: boolean;
  states: number;
  /** False when the original path did not reproduce its violation (the search then ran without it). */
  reproduced: boolean;
}

class Stop extends Error {}

export async function shorten(spec: ExecutionSpec, props: Properties, found: FoundViolation, opts: ShortenOptions = {}): Promise<FoundViolation> {
  return (await shortenWithStats(spec, props, found, opts)).violation;
}

export async function shortenWithStats(spec: ExecutionSpec, props: Properties, found: FoundViolation, opts: ShortenOptions = {}): Promise<ShortenResult> {
  const maxStates = opts.maxStates ?? SHORTEN_STATES;
  const caching = opts.caching ?? true;
  const target = found.invariant;

  const orig = await replaySchedule(spec, props, found.path, { maxSteps: Math.max(found.path.length, 1) });
  const reproduced = !orig.divergence && orig.violation?.invariant === target && orig.continuedAt === undefined;
  const origP = reproduced ? preemptions(orig.taken, orig.enabled) : Infinity;
  let best: FoundViolation = reproduced ? orig.violation! : found;
  let bestP = origP;
  const maxSteps = opts.maxSteps ?? Math.max(1000, found.path.length);
  // Without a reproducible original, search every bound up to the path's length (each step one preemption at most).
  const limit = reproduced ? origP : Math.max(found.path.length, 1);

  const exec = new Execution(spec);
  await exec.start();
  const root = exec.checkpoint();
  const scratch = new Set<string>();
  let states = 0;
  let complete = true;
  const atStart = checkAfterStep(exec, props, scratch);
  if (atStart?.invariant === target) {
    // Violated before anyone moves: the empty schedule.
    return { violation: { ...atStart, path: [] }, preemptions: 0, originalPreemptions: origP, complete: true, states: 1, reproduced };
  }

  for (let c = 0; c <= Math.min(limit, bestP); c++) {
    // Executions of at most `bound` steps with at most c preemptions; at the
    // original's count, only ones shorter than the original are news.
    let bound = c === bestP ? best.path.length - 1 : maxSteps;
    let levelBest: FoundViolation | undefined;
    const seen = new Map<string, [number, number][]>();
    const path: Transition[] = [];

    const dominated = (key: string, p: number, depth: number): boolean => {
      const list = seen.get(key);
      if (list?.some(([p0, d0]) => p0 <= p && d0 <= depth)) return true;
      const kept = (list ?? []).filter(([p0, d0]) => !(p <= p0 && depth <= d0));
      kept.push([p, depth]);
      seen.set(key, kept);
      return false;
    };

    const record = (v: { invariant: string; message: string }) => {
      levelBest = { ...v, path: path.map(normalizeTransition) };
      bound = path.length - 1; // from now on, only shorter ones
    };

    const visit = async (p: number, last: number): Promise<void> => {
      if (++states > maxStates) throw new Stop();
      if ((states & 255) === 0) opts.tick?.();
      const depth = path.length;
      if (caching && dominated(`${exec.stateKeyHex()}|${last}`, p, depth)) return;
      const actors = exec.enabled();
      if (actors.length === 0) {
        const v = checkAtEnd(exec, props, scratch);
        if (v?.invariant === target) record(v);
        return;
      }
      if (depth >= bound) return;
      const lastEnabled = actors.includes(last);
      // Staying with the last actor first: cheap executions are found before
      // costly ones. With no preemption left, only it may move, and the
      // others are not even probed.
      const movers = !lastEnabled ? actors : p < c ? [last, ...actors.filter((a) => a !== last)] : [last];
      const cp = exec.checkpoint();
      try {
        for (const a of movers) {
          if (depth >= bound) break; // a shorter one was found meanwhile
          const cost = lastEnabled && a !== last ? 1 : 0;
          // Probed in this state (restored after each sibling): the step applies what the probe recorded.
          const probe = exec.probe(a);
          for (let alt = 0; alt < probe.alternatives.length; alt++) {
            if (depth >= bound) break;
            const t = probe.alternatives[alt]!;
            const taken = exec.stepNow(t, undefined, { probe, alt });
            if (taken instanceof Promise) await taken;
            path.push(t);
            const v = checkAfterStep(exec, props, scratch);
            if (v) {
              if (v.invariant === target) record(v);
              // Another invariant's violation ends this execution: it is not a counterexample for ours.
            } else {
              await visit(p + cost, t.kill ? -1 : t.actor);
            }
            path.pop();
            await exec.restore(cp);
          }
        }
      } finally {
        exec.release(cp);
      }
    };

    try {
      await exec.restore(root);
      await visit(0, -1);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      complete = false;
    }
    if (levelBest) {
      best = levelBest; // fewer preemptions, or as many and shorter: the bound saw to that
      bestP = c;
      break;
    }
    if (!complete || c === bestP) break;
  }
  if (bestP === Infinity) bestP = preemptionsOf(best);
  return { violation: best, preemptions: bestP, originalPreemptions: origP, complete, states, reproduced };

  function preemptionsOf(v: FoundViolation): number {
    // Unreproduced original and nothing found: count on the path as given, from the actors alone.
    let n = 0;
    for (let i = 1; i < v.path.length; i++) if (v.path[i]!.actor !== v.path[i - 1]!.actor) n++;
    return n;
  }
}
