// Property tests (fast-check) for xenstore permissions and transactions.
//
// Permissions: random requests by dom0 and two guests, compared request by
// request with a small reference model of docs/xen-model.md's rules; and a
// non-interference check that needs no reference: a guest that may read
// neither a node nor its parent gets the same answer whether the node
// exists or not (errors never reveal existence).
//
// Transactions: several clients interleave transactions (each request a
// step) and plain requests in a random order. Committed transactions are
// serializable: replaying the commits, in commit order, one after the other
// on a fresh tree reproduces every answer the transactions saw and the
// final tree. EAGAIN only on real conflicts: a transaction confined to its
// client's own directory never fails, and one in the shared directory fails
// only if someone changed the shared directory while it ran.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SysError, type StepContext } from "../../web/src/sim/op";
import {
  xsDirectory, xsGetPerms, xsRead, xsRm, xsSetPerms, xsTransactionEnd, xsTransactionStart, xsWrite, type XsNode, type XsTransaction,
} from "../../web/src/xen/xenstore";
import { XsWorld } from "./xs-harness";

// ---------------------------------------------------------------------------
// Permissions

const PATHS = ["/t", "/t/a", "/t/b", "/t/a/a", "/t/a/b", "/t/b/a", "/t/b/b", "/t/a/a/a"];
const DOMS = [0, 1, 2];
const DOM_NAME = ["dom0", "work", "vault"];

type Req =
  | { op: "read" | "ls" | "getPerms" | "rm"; d: number; path: string }
  | { op: "write"; d: number; path: string; value: string }
  | { op: "setPerms"; d: number; path: string; perms: string[] };

const permArb = fc.tuple(fc.constantFrom("n", "r", "w", "b"), fc.constantFrom(...DOMS)).map(([l, d]) => `${l}${d}`);
const reqArb: fc.Arbitrary<Req> = fc.oneof(
  fc.record({ op: fc.constantFrom("read" as const, "ls" as const, "getPerms" as const, "rm" as const), d: fc.constantFrom(...DOMS), path: fc.constantFrom(...PATHS) }),
  fc.record({ op: fc.constant("write" as const), d: fc.constantFrom(...DOMS), path: fc.constantFrom(...PATHS), value: fc.constantFrom("x", "y", "") }),
  fc.record({ op: fc.constant("setPerms" as const), d: fc.constantFrom(...DOMS), path: fc.constantFrom(...PATHS), perms: fc.array(permArb, { minLength: 1, maxLength: 3 }) }),
);

type Answer = { ok: unknown } | { errno: string };

function apply(w: XsWorld, r: Req): Answer {
  const f = (c: StepContext): unknown => {
    switch (r.op) {
      case "read": return xsRead(c, r.d, r.path);
      case "ls": return xsDirectory(c, r.d, r.path);
      case "getPerms": return xsGetPerms(c, r.d, r.path);
      case "rm": return xsRm(c, r.d, r.path);
      case "write": return xsWrite(c, r.d, r.path, r.value);
      case "setPerms": return xsSetPerms(c, r.d, r.path, r.perms);
    }
  };
  try {
    return { ok: w.step(f, DOM_NAME[r.d]) ?? null };
  } catch (e) {
    if (e instanceof SysError) return { errno: e.errno };
    throw e;
  }
}

/** The reference: the rules of docs/xen-model.md, written as plainly as possible. */
class RefTree {
  nodes = new Map<string, { value: string; perms: string[]; children: string[] }>([["/", { value: "", perms: ["n0"], children: [] }]]);
  static parent(p: string): string {
    const i = p.lastIndexOf("/");
    return i === 0 ? "/" : p.slice(0, i);
  }
  static rights(d: number, perms: string[]): { r: boolean; w: boolean; owner: boolean } {
    const id = (s: string) => Number(s.slice(1));
    const letter = (s: string) => ({ r: s[0] === "r" || s[0] === "b", w: s[0] === "w" || s[0] === "b" });
    if (d === 0 || id(perms[0]!) === d) return { r: true, w: true, owner: true };
    const e = perms.slice(1).find((s) => id(s) === d) ?? perms[0]!;
    return { ...letter(e), owner: false };
  }
  nearest(p: string) {
    for (let a = RefTree.parent(p); ; a = RefTree.parent(a)) {
      const n = this.nodes.get(a);
      if (n) return n;
    }
  }
  /** The errno for a missing or denied node: ENOENT only with the right on the nearest ancestor. */
  missing(d: number, p: string, want: "r" | "w"): Answer {
    return { errno: RefTree.rights(d, this.nearest(p).perms)[want] ? "ENOENT" : "EACCES" };
  }
  do(r: Req): Answer {
    const n = this.nodes.get(r.path);
    const rt = n && RefTree.rights(r.d, n.perms);
    switch (r.op) {
      case "read": case "ls": case "getPerms":
        if (!n) return this.missing(r.d, r.path, "r");
        if (!rt!.r) return { errno: "EACCES" };
        return { ok: r.op === "read" ? n.value : r.op === "ls" ? [...n.children] : [...n.perms] };
      case "write": {
        if (n) {
          if (!rt!.w) return { errno: "EACCES" };
          n.value = r.value;
          return { ok: null };
        }
        const m = this.missing(r.d, r.path, "w");
        if ((m as { errno: string }).errno === "EACCES") return m;
        const chain: string[] = [];
        for (let p = r.path; !this.nodes.has(p); p = RefTree.parent(p)) chain.unshift(p);
        const inherited = [...this.nodes.get(RefTree.parent(chain[0]!))!.perms];
        if (r.d !== 0) inherited[0] = `${inherited[0]![0]}${r.d}`;
        for (const p of chain) {
          this.nodes.get(RefTree.parent(p))!.children.push(p.slice(p.lastIndexOf("/") + 1));
          this.nodes.set(p, { value: p === r.path ? r.value : "", perms: [...inherited], children: [] });
        }
        return { ok: null };
      }
      case "rm": {
        if (!n) {
          const m = this.missing(r.d, r.path, "w");
          if ((m as { errno: string }).errno === "EACCES") return m;
          return this.nodes.has(RefTree.parent(r.path)) ? { ok: null } : m;
        }
        if (!rt!.w) return { errno: "EACCES" };
        for (const k of [...this.nodes.keys()]) if (k === r.path || k.startsWith(`${r.path}/`)) this.nodes.delete(k);
        const par = this.nodes.get(RefTree.parent(r.path))!;
        par.children = par.children.filter((c) => c !== r.path.slice(r.path.lastIndexOf("/") + 1));
        return { ok: null };
      }
      case "setPerms": {
        if (!n) {
          const near = RefTree.rights(r.d, this.nearest(r.path).perms);
          return { errno: near.w || near.owner ? "ENOENT" : "EACCES" };
        }
        if (!rt!.owner) return { errno: "EACCES" };
        if (r.d !== 0 && Number(r.perms[0]!.slice(1)) !== Number(n.perms[0]!.slice(1))) return { errno: "EPERM" };
        n.perms = [...r.perms];
        return { ok: null };
      }
    }
  }
}

/** A world where only the root's list matters: seed the reference with the boot tree's "/" (n0). */
function freshPair(): { w: XsWorld; ref: RefTree } {
  const w = new XsWorld();
  const ref = new RefTree();
  // The reference knows only /t and below; the model's /t starts missing too.
  return { w, ref };
}

describe("xenstore permissions (property)", () => {
  it("every request by dom0 and two guests answers as the reference rules say, and leaves the same tree", () => {
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 1, maxLength: 40 }), (reqs) => {
        const { w, ref } = freshPair();
        for (const r of reqs) {
          const got = apply(w, r);
          const want = ref.do(r);
          expect({ r, got }).toEqual({ r, got: want });
        }
        for (const p of PATHS) {
          const n = w.store.peek<XsNode>(`xs:${p}`);
          const m = ref.nodes.get(p);
          expect(n && { value: n.value, perms: n.perms, children: n.children }).toEqual(m);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("a guest that may read neither a node nor its parent cannot tell whether the node exists", () => {
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(1, 2), fc.constantFrom(...PATHS.filter((p) => p !== "/t")), fc.constantFrom("read", "ls", "getPerms", "write", "rm", "setPerms"), (reqs, g, path, op) => {
        const build = () => {
          const w = new XsWorld();
          for (const r of reqs) apply(w, r);
          return w;
        };
        const withNode = build();
        const node = withNode.store.peek<XsNode>(`xs:${path}`);
        const parent = withNode.store.peek<XsNode>(`xs:${RefTree.parent(path)}`);
        if (!node || !parent) return;
        const seesNode = RefTree.rights(g, node.perms);
        const seesParent = RefTree.rights(g, parent.perms);
        if (seesNode.r || seesNode.w || seesNode.owner || seesParent.r || seesParent.w) return;
        const without = build();
        apply(without, { op: "rm", d: 0, path });
        const req = (op === "write" ? { op, d: g, path, value: "v" } : op === "setPerms" ? { op, d: g, path, perms: [`n${g}`] } : { op, d: g, path }) as Req;
        const a = apply(withNode, req);
        const b = apply(without, req);
        expect(a).toEqual(b);
        expect(a).toEqual({ errno: "EACCES" });
      }),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------
// Transactions

interface TxReq {
  op: "read" | "write" | "rm" | "ls";
  key: string; // below the region
  value: string;
}
interface Job {
  /** Own region (/t/c<i>) or the shared one (/t/s). */
  shared: boolean;
  /** In a transaction, or each request alone. */
  tx: boolean;
  reqs: TxReq[];
}

const txReqArb: fc.Arbitrary<TxReq> = fc.record({
  op: fc.constantFrom("read" as const, "write" as const, "rm" as const, "ls" as const),
  key: fc.constantFrom("k", "l", "k/m", "l/m"),
  value: fc.constantFrom("1", "2", "3"),
});
const jobArb: fc.Arbitrary<Job> = fc.record({ shared: fc.boolean(), tx: fc.boolean(), reqs: fc.array(txReqArb, { minLength: 1, maxLength: 4 }) });
const CLIENTS = 3;

function runReq(c: StepContext, base: string, r: TxReq, tx?: XsTransaction): unknown {
  const p = r.key === "" ? base : `${base}/${r.key}`;
  switch (r.op) {
    case "read": return xsRead(c, 0, p, tx);
    case "write": return xsWrite(c, 0, p, r.value, tx);
    case "rm": return xsRm(c, 0, p, tx);
    case "ls": return xsDirectory(c, 0, p, tx);
  }
}
function answer(f: () => unknown): Answer {
  try {
    return { ok: f() ?? null };
  } catch (e) {
    if (e instanceof SysError) return { errno: e.errno };
    throw e;
  }
}

function seeded(): XsWorld {
  const w = new XsWorld();
  w.step((c) => {
    for (let i = 0; i < CLIENTS; i++) xsWrite(c, 0, `/t/c${i}`, "");
    xsWrite(c, 0, "/t/s", "");
  });
  return w;
}

const treeOf = (w: XsWorld) =>
  w.store.peekKeys().filter((k) => k.startsWith("xs:/t")).map((k) => {
    const n = w.store.peek<XsNode>(k)!;
    return [k, n.value, n.perms, n.children];
  });

describe("xenstore transactions (property)", () => {
  it("committed transactions are serializable in commit order; EAGAIN only on real conflicts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(jobArb, { minLength: 1, maxLength: 3 }), { minLength: CLIENTS, maxLength: CLIENTS }),
        fc.array(fc.nat(CLIENTS - 1), { minLength: 200, maxLength: 200 }),
        (programs, schedule) => {
          const w = seeded();
          // Each client: its jobs, one request (or start/commit) per step.
          type Pending = { job: number; phase: "start" | "req" | "commit"; i: number; tx?: XsTransaction; seen: Answer[]; startedAt: number };
          const state = programs.map(() => ({ job: 0, phase: "start", i: 0, seen: [], startedAt: 0 }) as Pending);
          /** What each finished job did: [client, job, commit time, answers] in commit order. */
          const commits: { base: string; job: Job; seen: Answer[] }[] = [];
          /** Times at which the shared region changed (a committed change or a plain change there). */
          const sharedChanges: number[] = [];
          let time = 0;
          const stepClient = (ci: number): boolean => {
            const s = state[ci]!;
            const jobs = programs[ci]!;
            if (s.job >= jobs.length) return false;
            const job = jobs[s.job]!;
            const base = job.shared ? "/t/s" : `/t/c${ci}`;
            time++;
            if (!job.tx) {
              const r = job.reqs[s.i]!;
              const a = answer(() => w.step((c) => runReq(c, base, r)));
              if (job.shared && r.op !== "read" && r.op !== "ls" && !("errno" in a)) sharedChanges.push(time);
              commits.push({ base, job: { ...job, reqs: [r] }, seen: [a] });
              if (++s.i >= job.reqs.length) Object.assign(s, { job: s.job + 1, i: 0, phase: "start", seen: [] });
              return true;
            }
            if (s.phase === "start") {
              s.tx = w.step((c) => xsTransactionStart(c, 0, `client${ci}`));
              s.startedAt = time;
              s.phase = "req";
              return true;
            }
            if (s.phase === "req") {
              const r = job.reqs[s.i]!;
              s.seen.push(answer(() => w.step((c) => runReq(c, base, r, s.tx))));
              if (++s.i >= job.reqs.length) s.phase = "commit";
              return true;
            }
            const end = answer(() => w.step((c) => xsTransactionEnd(c, 0, s.tx!, true)));
            if ("errno" in end) {
              expect(end.errno).toBe("EAGAIN");
              // Only real conflicts: never in the client's own region; in the shared one, only after a change there.
              expect(job.shared).toBe(true);
              expect(sharedChanges.some((t) => t > s.startedAt)).toBe(true);
              // Retry the whole job.
              Object.assign(s, { phase: "start", i: 0, seen: [] });
              return true;
            }
            commits.push({ base, job, seen: s.seen });
            const changed = job.reqs.some((r, k) => r.op !== "read" && r.op !== "ls" && !("errno" in s.seen[k]!));
            if (job.shared && changed) sharedChanges.push(time);
            Object.assign(s, { job: s.job + 1, i: 0, phase: "start", seen: [] });
            return true;
          };
          for (const ci of schedule) if (!stepClient(ci)) for (let k = 0; k < CLIENTS && !stepClient((ci + k) % CLIENTS); k++);
          // Finish everyone, round-robin (a retry loop ends once the others are done).
          for (let guard = 0; guard < 10_000; guard++) {
            let any = false;
            for (let ci = 0; ci < CLIENTS; ci++) any = stepClient(ci) || any;
            if (!any) break;
          }
          // Serial replay in commit order.
          const serial = seeded();
          for (const c of commits) {
            const replayed = c.job.reqs.map((r) => answer(() => serial.step((ctx) => runReq(ctx, c.base, r))));
            expect(replayed).toEqual(c.seen);
          }
          expect(treeOf(serial)).toEqual(treeOf(w));
        },
      ),
      { numRuns: 500 },
    );
  });
});
