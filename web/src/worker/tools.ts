// Tool calls (sys.losetup.attach, sys.dmsetup.create, sys.xl.blockAttach,
// ...) and the system calls they make. A tool is library code over Sys:
// each of its system calls is a step of its own, and nothing in the trace
// says which steps belong to which tool call. The sandbox learns it by
// watching the script from both ends: the actor's channel counts the
// operations it submits (one per step), and a thin wrapper around each
// namespace of `sys` notes the count when a tool call starts and when it
// returns. The wrapper adds no step and changes no result; it records only
// while `recording` is on (the replays for the views and step mode, not
// explorations).

import type { ActorDefinition, ActorFunction, ScenarioDefinition, Sys } from "../api/types";
import type { ExecutionSpec } from "../sim/execution";
import type { Trace } from "../sim/trace";
import { short } from "./format";

/** One tool call: the actor's operations with ordinals start..end-1 (end unset while it runs). */
interface Span {
  name: string;
  args: string;
  start: number;
  end?: number;
}

/** A tool call placed in a trace: the global indices of its steps (0-based), in order. */
export interface ToolCall {
  actor: string;
  name: string;
  args: string;
  steps: number[];
  /** The call had not returned at the end of the trace. */
  open: boolean;
}

/** A frozen property: a Proxy must return it unchanged (so such a tool goes unwatched rather than failing). */
function pinned(target: object, prop: string): boolean {
  const d = Object.getOwnPropertyDescriptor(target, prop);
  return d !== undefined && !d.configurable && !d.writable;
}

export class ToolTracker {
  recording = false;
  /** Operations each actor has submitted in the current execution. */
  private readonly submitted = new Map<string, number>();
  /** Tool calls per actor, by the ordinal of their first operation (a replayed step re-records the same span). */
  private readonly spans = new Map<string, Map<number, Span>>();
  private readonly depth = new Map<string, number>();

  /** Counts each actor's operations: its channel sees one call per step. */
  wrapSpec(spec: ExecutionSpec): void {
    spec.actors = spec.actors.map((a) => ({
      ...a,
      body: (ch, who) => {
        this.submitted.set(a.name, 0);
        this.depth.set(a.name, 0);
        return a.body({ call: (op) => {
          this.submitted.set(a.name, (this.submitted.get(a.name) ?? 0) + 1);
          return ch.call(op);
        } }, who);
      },
    }));
  }

  /** The scenario with each actor's `sys` seen through the tool wrapper. */
  wrapDef(def: ScenarioDefinition): ScenarioDefinition {
    const actors: Record<string, ActorFunction | ActorDefinition> = {};
    for (const [name, a] of Object.entries(def.actors)) {
      if (typeof a === "function") actors[name] = (sys: Sys) => a(this.wrapSys(name, sys));
      else if (a && typeof a === "object" && typeof a.run === "function") actors[name] = { ...a, run: (sys: Sys) => a.run(this.wrapSys(name, sys)) };
      else actors[name] = a;
    }
    return { ...def, actors };
  }

  private wrapSys(actor: string, sys: Sys): Sys {
    const namespaces = new Map<string, unknown>();
    return new Proxy(sys as object, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof prop !== "string" || v === null || typeof v !== "object" || Array.isArray(v) || pinned(target, prop)) return v;
        let ns = namespaces.get(prop);
        if (!ns) namespaces.set(prop, (ns = this.wrapNamespace(actor, prop, v as Record<string, unknown>)));
        return ns;
      },
    }) as Sys;
  }

  private wrapNamespace(actor: string, nsName: string, ns: Record<string, unknown>): object {
    return new Proxy(ns, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof prop !== "string" || typeof v !== "function" || pinned(target, prop)) return v;
        return (...args: unknown[]) => this.track(actor, `${nsName}.${prop}`, args, () => (v as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
  }

  private track(actor: string, name: string, args: unknown[], call: () => unknown): unknown {
    const depth = this.depth.get(actor) ?? 0;
    if (!this.recording || depth > 0) return call();
    const span: Span = { name, args: args.map(short).join(", "), start: this.submitted.get(actor) ?? 0 };
    let byStart = this.spans.get(actor);
    if (!byStart) this.spans.set(actor, (byStart = new Map()));
    byStart.set(span.start, span);
    this.depth.set(actor, 1);
    const done = () => {
      this.depth.set(actor, 0);
      span.end = this.submitted.get(actor) ?? span.start;
    };
    let out: unknown;
    try {
      out = call();
    } catch (e) {
      done();
      throw e;
    }
    if (out instanceof Promise) return out.then((v) => { done(); return v; }, (e: unknown) => { done(); throw e; });
    done();
    return out;
  }

  /** Operations an actor has submitted (its next pending step, when parked, is the last of them). */
  submittedBy(actor: string): number {
    return this.submitted.get(actor) ?? 0;
  }

  /** The tool call the actor's operation `ordinal` belongs to. */
  spanAt(actor: string, ordinal: number): { name: string; args: string; start: number; end?: number } | undefined {
    for (const s of this.spans.get(actor)?.values() ?? []) {
      if (ordinal >= s.start && (s.end === undefined || ordinal < s.end)) return s;
    }
    return undefined;
  }

  /** The tool calls of a trace with at least two system calls (a one-call tool is its own step). */
  callsIn(trace: Trace): ToolCall[] {
    const out: ToolCall[] = [];
    const ordinal = new Map<string, number>();
    const open = new Map<string, ToolCall>();
    trace.steps.forEach((s, i) => {
      const k = ordinal.get(s.actor) ?? 0;
      ordinal.set(s.actor, k + 1);
      const span = this.spanAt(s.actor, k);
      let cur = open.get(s.actor);
      if (cur && (!span || span.start !== k - cur.steps.length)) {
        open.delete(s.actor);
        cur = undefined;
      }
      if (!span) return;
      if (!cur) {
        cur = { actor: s.actor, name: span.name, args: span.args, steps: [], open: span.end === undefined };
        open.set(s.actor, cur);
        out.push(cur);
      }
      cur.steps.push(i);
    });
    return out.filter((c) => c.steps.length >= 2 || c.open);
  }
}
