// Every xenstore operation and its errors, as xenstored answers them
// (tools/xenstored/core.c): reads, writes creating parents, rm, directory,
// permissions (owner, defaults, inheritance, no existence leak), paths.

import { describe, expect, it } from "vitest";
import { conflicts } from "../../web/src/sim/store";
import {
  xsDirectory, xsGetPerms, xsMkdir, xsPeek, xsPeekNode, xsRead, xsRm, xsSetPerms, xsTryRead, xsWrite,
} from "../../web/src/xen/xenstore";
import { XsWorld } from "./xs-harness";

const W = 1; // domid of guest "work"
const V = 2; // "vault"

describe("xenstore: read and write", () => {
  it("reads what was written; a missing node is ENOENT to dom0", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/a/b", "hello"));
    expect(w.step((c) => xsRead(c, 0, "/a/b"))).toBe("hello");
    expect(w.errno((c) => xsRead(c, 0, "/a/missing"))).toBe("ENOENT");
    expect(w.step((c) => xsTryRead(c, 0, "/a/missing"))).toBeUndefined();
  });

  it("write creates every missing parent with an empty value and lists children in creation order", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/x/y/z", "1"));
    w.step((c) => xsWrite(c, 0, "/x/a", "2"));
    expect(xsPeek(w.store, "/x")).toBe("");
    expect(xsPeek(w.store, "/x/y")).toBe("");
    expect(w.step((c) => xsDirectory(c, 0, "/x"))).toEqual(["y", "a"]);
    expect(w.step((c) => xsDirectory(c, 0, "/x/y/z"))).toEqual([]);
  });

  it("the stale-directory hazard: a late write into a removed directory re-creates it", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/local/domain/0/backend/vbd/1/51712/state", "4"));
    w.step((c) => xsRm(c, 0, "/local/domain/0/backend/vbd/1/51712"));
    w.step((c) => xsWrite(c, 0, "/local/domain/0/backend/vbd/1/51712/opened", "1"));
    expect(w.step((c) => xsDirectory(c, 0, "/local/domain/0/backend/vbd/1/51712"))).toEqual(["opened"]);
  });

  it("mkdir leaves an existing node alone and creates a missing one empty", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/m", "v"));
    w.step((c) => xsMkdir(c, 0, "/m"));
    expect(xsPeek(w.store, "/m")).toBe("v");
    w.step((c) => xsMkdir(c, 0, "/n/o"));
    expect(xsPeek(w.store, "/n/o")).toBe("");
  });

  it("relative paths resolve under the caller's home", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, W, "data/k", "v"), "work");
    expect(xsPeek(w.store, "/local/domain/1/data/k")).toBe("v");
    expect(w.step((c) => xsRead(c, W, "data/k"), "work")).toBe("v");
  });

  it("values must be strings, and a request is at most 4096 bytes", () => {
    const w = new XsWorld();
    expect(w.errno((c) => xsWrite(c, 0, "/a", 5))).toBe("EINVAL");
    expect(w.errno((c) => xsWrite(c, 0, "/a", "x".repeat(4094)))).toBe("E2BIG");
    expect(w.errno((c) => xsWrite(c, 0, "/a", "x".repeat(4093)))).toBeUndefined();
  });
});

describe("xenstore: paths", () => {
  it.each([
    ["/a b"], ["/a/"], ["/a//b"], ["/a.b"], ["@foo"], ["/a/\u00e9"], [""], [42],
  ])("%j is EINVAL", (p) => {
    const w = new XsWorld();
    expect(w.errno((c) => xsRead(c, 0, p))).toBe("EINVAL");
    expect(w.errno((c) => xsWrite(c, 0, p, "v"))).toBe("EINVAL");
  });

  it("the allowed characters are letters, digits, / _ @ -", () => {
    const w = new XsWorld();
    expect(w.errno((c) => xsWrite(c, 0, "/A-z_0@9", "v"))).toBeUndefined();
  });

  it("path lengths: 3072 absolute; 2048 below the home for a guest", () => {
    const w = new XsWorld();
    expect(w.errno((c) => xsWrite(c, 0, "/" + "a".repeat(3072), ""))).toBe("EINVAL");
    expect(w.errno((c) => xsWrite(c, 0, "/" + "a".repeat(3071), ""))).toBeUndefined();
    expect(w.errno((c) => xsWrite(c, W, "data/" + "a".repeat(2043), ""), "work")).toBeUndefined();
    expect(w.errno((c) => xsWrite(c, W, "data/" + "a".repeat(2044), ""), "work")).toBe("EINVAL");
  });
});

describe("xenstore: rm", () => {
  it("removes the whole subtree and the entry in the parent", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t/a/b", "1"));
    w.step((c) => xsWrite(c, 0, "/t/c", "2"));
    w.step((c) => xsRm(c, 0, "/t/a"));
    expect(xsPeekNode(w.store, "/t/a")).toBeUndefined();
    expect(xsPeekNode(w.store, "/t/a/b")).toBeUndefined();
    expect(w.step((c) => xsDirectory(c, 0, "/t"))).toEqual(["c"]);
  });

  it("a missing node is fine when its parent exists; ENOENT when the parent is missing too; / is EINVAL", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/t", ""));
    expect(w.errno((c) => xsRm(c, 0, "/t/none"))).toBeUndefined();
    expect(w.errno((c) => xsRm(c, 0, "/t/none/deeper"))).toBe("ENOENT");
    expect(w.errno((c) => xsRm(c, 0, "/"))).toBe("EINVAL");
  });
});

describe("xenstore: permissions", () => {
  function backendTree(w: XsWorld) {
    // As libxl sets them: backend dir [(0, n), (1, r)]; frontend dir [(1, n), (0, r)].
    w.step((c) => xsWrite(c, 0, "/local/domain/0/backend/vbd/1/51712/params", "/img"));
    w.step((c) => xsSetPerms(c, 0, "/local/domain/0/backend/vbd/1/51712", ["n0", "r1"]));
    w.step((c) => xsSetPerms(c, 0, "/local/domain/0/backend/vbd/1/51712/params", ["n0", "r1"]));
    w.step((c) => xsWrite(c, 0, "/local/domain/1/device/vbd/51712/state", "1"));
    w.step((c) => xsSetPerms(c, 0, "/local/domain/1/device/vbd/51712", ["n1", "r0"]));
    w.step((c) => xsSetPerms(c, 0, "/local/domain/1/device/vbd/51712/state", ["n1", "r0"]));
  }

  it("a guest reads what the list lets it read, and nothing else", () => {
    const w = new XsWorld();
    backendTree(w);
    expect(w.step((c) => xsRead(c, W, "/local/domain/0/backend/vbd/1/51712/params"), "work")).toBe("/img");
    expect(w.errno((c) => xsRead(c, V, "/local/domain/0/backend/vbd/1/51712/params"), "vault")).toBe("EACCES");
  });

  it("a guest cannot forge backend keys: EACCES on write, create, rm and setPerms", () => {
    const w = new XsWorld();
    backendTree(w);
    const be = "/local/domain/0/backend/vbd/1/51712";
    expect(w.errno((c) => xsWrite(c, W, `${be}/params`, "/other"), "work")).toBe("EACCES");
    expect(w.errno((c) => xsWrite(c, W, `${be}/physical-device`, "7:0"), "work")).toBe("EACCES");
    expect(w.errno((c) => xsRm(c, W, `${be}/params`), "work")).toBe("EACCES");
    expect(w.errno((c) => xsSetPerms(c, W, `${be}/params`, ["b1"]), "work")).toBe("EACCES");
    expect(xsPeek(w.store, `${be}/params`)).toBe("/img");
  });

  it("a missing node is EACCES, not ENOENT, unless the caller may read the nearest existing ancestor", () => {
    const w = new XsWorld();
    backendTree(w);
    // work may read the backend dir: missing keys there are ENOENT.
    expect(w.errno((c) => xsRead(c, W, "/local/domain/0/backend/vbd/1/51712/nothing"), "work")).toBe("ENOENT");
    // vault may not: the same question is EACCES, existing or not.
    expect(w.errno((c) => xsRead(c, V, "/local/domain/0/backend/vbd/1/51712/nothing"), "vault")).toBe("EACCES");
    expect(w.errno((c) => xsRead(c, V, "/local/domain/0/backend/vbd/1/51712/params"), "vault")).toBe("EACCES");
    expect(w.errno((c) => xsRead(c, V, "/local/domain/0/backend/vbd/1/51712/a/b/c"), "vault")).toBe("EACCES");
  });

  it("the owner has every right whatever its letter; the owner's letter is the default for others", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/p", "v"));
    w.step((c) => xsSetPerms(c, 0, "/p", ["n1", "w2"]));
    expect(w.step((c) => xsRead(c, W, "/p"), "work")).toBe("v");
    expect(w.errno((c) => xsRead(c, V, "/p"), "vault")).toBe("EACCES"); // w only
    expect(w.errno((c) => xsWrite(c, V, "/p", "x"), "vault")).toBeUndefined();
    w.step((c) => xsSetPerms(c, 0, "/p", ["r1"]));
    expect(w.step((c) => xsRead(c, V, "/p"), "vault")).toBe("x"); // default r
    expect(w.errno((c) => xsWrite(c, V, "/p", "y"), "vault")).toBe("EACCES");
  });

  it("the first entry naming the caller decides", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/p", "v"));
    w.step((c) => xsSetPerms(c, 0, "/p", ["n0", "r2", "b2"]));
    expect(w.errno((c) => xsWrite(c, V, "/p", "x"), "vault")).toBe("EACCES");
  });

  it("creating needs write on the nearest existing ancestor; the creator owns what it creates; new nodes inherit the list", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/shared", ""));
    w.step((c) => xsSetPerms(c, 0, "/shared", ["n0", "w1", "r2"]));
    expect(w.errno((c) => xsWrite(c, V, "/shared/x/y", "v"), "vault")).toBe("EACCES");
    expect(w.errno((c) => xsWrite(c, W, "/shared/x/y", "v"), "work")).toBeUndefined();
    expect(w.step((c) => xsGetPerms(c, 0, "/shared/x"))).toEqual(["n1", "w1", "r2"]);
    expect(w.step((c) => xsGetPerms(c, 0, "/shared/x/y"))).toEqual(["n1", "w1", "r2"]);
    // Created by dom0: the parent's list unchanged.
    w.step((c) => xsWrite(c, 0, "/shared/z", ""));
    expect(w.step((c) => xsGetPerms(c, 0, "/shared/z"))).toEqual(["n0", "w1", "r2"]);
  });

  it("a guest's own home: data is its own, device is read-only to it", () => {
    const w = new XsWorld();
    expect(w.errno((c) => xsWrite(c, W, "data/x", "1"), "work")).toBeUndefined();
    expect(w.errno((c) => xsWrite(c, W, "device/vbd/51712/state", "1"), "work")).toBe("EACCES");
    expect(w.errno((c) => xsWrite(c, W, "/local/domain/2/data/x", "1"), "work")).toBe("EACCES");
  });

  it("setPerms: only the owner (or dom0); only dom0 changes the owner (EPERM); lists are validated", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, W, "data/mine", "1"), "work");
    expect(w.step((c) => xsGetPerms(c, W, "data/mine"), "work")).toEqual(["n1"]);
    expect(w.errno((c) => xsSetPerms(c, W, "data/mine", ["n1", "r2"]), "work")).toBeUndefined();
    expect(w.step((c) => xsRead(c, V, "/local/domain/1/data/mine"), "vault")).toBe("1");
    expect(w.errno((c) => xsSetPerms(c, W, "data/mine", ["n2"]), "work")).toBe("EPERM");
    expect(w.errno((c) => xsSetPerms(c, V, "/local/domain/1/data/mine", ["b2"]), "vault")).toBe("EACCES");
    expect(w.errno((c) => xsSetPerms(c, 0, "/local/domain/1/data/mine", ["n2"]))).toBeUndefined();
    for (const bad of [[], ["x1"], ["r"], ["r1x"], "r1", [5]]) expect(w.errno((c) => xsSetPerms(c, 0, "/local/domain/1/data/mine", bad))).toBe("EINVAL");
  });

  it("setPerms and getPerms accept the special nodes; read and write do not", () => {
    const w = new XsWorld();
    expect(w.step((c) => xsGetPerms(c, 0, "@releaseDomain"))).toEqual(["n0"]);
    expect(w.errno((c) => xsGetPerms(c, W, "@releaseDomain"), "work")).toBe("EACCES");
    w.step((c) => xsSetPerms(c, 0, "@releaseDomain", ["n0", "r1"]));
    expect(w.step((c) => xsGetPerms(c, W, "@releaseDomain"), "work")).toEqual(["n0", "r1"]);
    expect(w.errno((c) => xsRead(c, 0, "@releaseDomain"))).toBe("EINVAL");
  });

  it("rm needs write on the node, not below it", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, W, "data/d/locked", "1"), "work");
    w.step((c) => xsSetPerms(c, 0, "/local/domain/1/data/d/locked", ["n0"]));
    expect(w.errno((c) => xsRead(c, W, "data/d/locked"), "work")).toBe("EACCES");
    expect(w.errno((c) => xsRm(c, W, "data/d"), "work")).toBeUndefined();
    expect(xsPeekNode(w.store, "/local/domain/1/data/d/locked")).toBeUndefined();
  });

  it("rm of a missing node the caller may not know about is EACCES", () => {
    const w = new XsWorld();
    expect(w.errno((c) => xsRm(c, W, "/local/domain/2/data/none"), "work")).toBe("EACCES");
    expect(w.errno((c) => xsRm(c, W, "/local/domain/2/data"), "work")).toBe("EACCES");
  });
});

describe("xenstore: footprints", () => {
  it("a read of one key does not conflict with writes of unrelated keys; listing reads only the directory", () => {
    const w = new XsWorld();
    w.step((c) => xsWrite(c, 0, "/d/a", "1"));
    w.step((c) => xsWrite(c, 0, "/d/b", "1"));
    w.step((c) => xsRead(c, 0, "/d/a"));
    const readA = w.last;
    w.step((c) => xsWrite(c, 0, "/d/b", "2"));
    const writeB = w.last;
    expect(conflicts(readA, writeB)).toBe(false);
    w.step((c) => xsDirectory(c, 0, "/d"));
    const ls = w.last;
    expect([...ls.reads].filter((k) => k.startsWith("xs:"))).toEqual(["xs:/d"]);
    expect(conflicts(ls, writeB)).toBe(false);
    w.step((c) => xsWrite(c, 0, "/d/c", "new"));
    expect(conflicts(ls, w.last)).toBe(true);
  });
});
