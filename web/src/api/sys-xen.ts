// `sys.xl`, `sys.disk` and `sys.ring` for one process: the toolstack
// commands (several steps each, web/src/userland/xl.ts), a guest's disk
// calls (two steps each, web/src/xen/blkfront.ts) and its raw ring access
// (one step each, web/src/xen/blkfront-raw.ts).

import { SysError, type Op } from "../sim/op";
import { xlBlockAttach, xlBlockDetach, xlCreate, xlDestroy, xlShutdown, type XlEnv } from "../userland/xl";
import type { ScriptTable } from "../userland/hotplug/runner";
import { diskOps } from "../xen/blkfront";
import { ringOps } from "../xen/blkfront-raw";
import type { XenKernel } from "../xen/xen-kernel";
import type { Sys } from "./types";

type Xl = Sys["xl"];
type Disk = Sys["disk"];
type Ring = Sys["ring"];

type Call = <R>(op: Op<R>) => Promise<R>;

export function xlFor(call: Call, actor: string, domain: string, k: XenKernel & { scripts: ScriptTable }): Xl {
  const env: XlEnv = { call, k, scripts: k.scripts, actor, domid: Math.max(0, k.domains.indexOf(domain)), jobs: { n: 0 } };
  return {
    create: (domain) => xlCreate(env, domain),
    shutdown: (domain) => xlShutdown(env, domain),
    destroy: (domain) => xlDestroy(env, domain),
    blockAttach: (domain, disk) => xlBlockAttach(env, domain, disk),
    blockDetach: (domain, vdev) => xlBlockDetach(env, domain, vdev),
  };
}

export function diskFor(call: Call, domain: string, k: XenKernel): Disk {
  const domid = Math.max(0, k.domains.indexOf(domain));
  const ops = diskOps(k, domid);
  return {
    read: async (vdev, sector, count) => {
      await call(ops.submit(vdev, "read", sector, count));
      return call(ops.complete(vdev, "read"));
    },
    write: async (vdev, sector, bytes) => {
      if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length % 512 !== 0) {
        await call<void>({ call: "disk.write submit", args: [vdev, sector], run: () => { throw new SysError("EINVAL", "disk.write takes whole 512-byte sectors"); } });
      }
      await call(ops.submit(vdev, "write", sector, bytes.length / 512, bytes));
      await call(ops.complete(vdev, "write"));
    },
  };
}

export function ringFor(call: Call, domain: string, k: XenKernel): Ring {
  const ops = ringOps(k, Math.max(0, k.domains.indexOf(domain)));
  return {
    indices: (vdev) => call(ops.indices(vdev)),
    push: (vdev, requests) => call(ops.push(vdev, requests)),
    setReqProd: (vdev, value) => call(ops.setReqProd(vdev, value)),
    responses: (vdev) => call(ops.responses(vdev)),
    revokeGrant: (vdev, page) => call(ops.revokeGrant(vdev, page)),
  };
}
