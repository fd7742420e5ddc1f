// test/fixtures/golden/recorder/prober.c, ported line for line to a scenario actor over
// Sys: the same calls in the same order, printing the same records (the
// golden traces' shape), so that the conformance test can compare what the
// emulated kernel answers with what real kernels answered. Comments name
// the C helper each function stands for.

import type { DmIoctlArg, DmIoctlResult, Sys } from "blocklab";
import { dmFlagLabels } from "../fixtures/golden/parse";

export type ProbeRecord = { step: number; op: string; args: Record<string, unknown>; ret: unknown; errno: string | null; [extra: string]: unknown };

type Attempt<T> = { ok: true; value: T } | { ok: false; errno: string; result?: unknown };

async function attempt<T>(f: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    const err = e as { errno?: string; result?: unknown };
    if (typeof err.errno !== "string") throw e;
    return { ok: false, errno: err.errno, result: err.result };
  }
}

const DMBUF = 16384;
const SIZEOF_DM_IOCTL = 312;
const DM_DEFERRED_REMOVE = 1 << 17;
const DM_SUSPEND_FLAG = 1 << 1;
const LO_FLAGS_AUTOCLEAR = 4;

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
const modeOf = (type: string) => ({ block: "060600", char: "020600", directory: "040755", file: "0100644", symlink: "0120777" })[type] ?? "0";

export async function runProber(sys: Sys, out: ProbeRecord[]): Promise<void> {
  let step = 0;
  const emit = (op: string, args: Record<string, unknown>, a: Attempt<unknown> | { ok: true; value: unknown }, extra: Record<string, unknown> = {}) => {
    out.push({ step, op, args, ret: a.ok ? a.value : null, errno: a.ok ? null : a.errno, ...extra });
  };
  const note = (op: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    out.push({ step, op, args, ret: null, errno: null, ...extra });
  };

  // sysfs_seq / seq_json
  const sysfsSeq = async (dev: string): Promise<number> => {
    const r = await attempt(() => sys.readFile(`/sys/block/${dev}/diskseq`));
    return r.ok ? Number(r.value.trim()) : -1;
  };
  const seqJson = async (dev: string, fd: number) => {
    const sv = await sysfsSeq(dev);
    let ioctl: number | string | null = null;
    if (fd >= 0) {
      const q = await attempt(() => sys.ioctl(fd, "BLKGETDISKSEQ"));
      ioctl = q.ok ? q.value : q.errno;
    }
    return { diskseq: { dev, sysfs: sv < 0 ? null : sv, ioctl } };
  };
  const blkgetdiskseq = async (dev: string, fd: number) => {
    const r = await attempt(() => sys.ioctl(fd, "BLKGETDISKSEQ"));
    emit("BLKGETDISKSEQ", { dev }, r, await seqJson(dev, fd));
  };
  const sysfsDiskseq = async (dev: string) => {
    const v = await sysfsSeq(dev);
    emit("sysfs_diskseq", { dev }, v < 0 ? { ok: false, errno: "ENOENT" } : { ok: true, value: v });
  };
  const listBlock = async () => {
    const block: Record<string, number> = {};
    const names = await attempt(() => sys.readdir("/sys/block"));
    if (names.ok) for (const n of names.value) block[n] = await sysfsSeq(n);
    note("list_sys_block_diskseq", {}, { block });
  };
  const xopen = async (path: string, write: boolean, fname: string, directory = false) => {
    const r = await attempt(() => sys.open(path, { write, directory }));
    emit("open", { path, flags: fname }, r);
    return r.ok ? r.value : -1;
  };
  const xclose = async (fd: number, what: string) => {
    if (fd < 0) return;
    const r = await attempt(async () => { await sys.close(fd); return 0; });
    emit("close", { what }, r);
  };
  const xstat = async (path: string, racy = false) => {
    const r = await attempt(() => sys.stat(path));
    const args: Record<string, unknown> = racy ? { path, racy: true } : { path };
    if (r.ok) emit("stat", args, { ok: true, value: 0 }, { mode: modeOf(r.value.type), rdev: `${r.value.rdev.major}:${r.value.rdev.minor}` });
    else emit("stat", args, r);
  };
  const readByte = async (fd: number, dev: string) => {
    const r = await attempt(() => sys.read(fd, 0, 1));
    if (r.ok) emit("read_first_byte", { dev }, { ok: true, value: r.value.length }, r.value.length ? { byte: hex(r.value[0]!).replace(/^0x(.)$/, "0x0$1") } : {});
    else emit("read_first_byte", { dev }, r);
  };
  // ---- loop ----
  const loopConfigure = async (lfd: number, dev: string, bfd: number, bpath: string, flags: number, tag: Record<string, unknown> = {}) => {
    const r = await attempt(() => sys.ioctl(lfd, "LOOP_CONFIGURE", { fd: bfd, info: { lo_flags: flags } }));
    emit("LOOP_CONFIGURE", { dev, backing: bpath, lo_flags: flags, ...tag }, r, await seqJson(dev, lfd));
  };
  const loopSetFd = async (lfd: number, dev: string, bfd: number, bpath: string) => {
    const r = await attempt(() => sys.ioctl(lfd, "LOOP_SET_FD", bfd));
    emit("LOOP_SET_FD", { dev, backing: bpath }, r, await seqJson(dev, lfd));
  };
  const loopClrFd = async (lfd: number, dev: string, tag: Record<string, unknown> = {}) => {
    const r = await attempt(() => sys.ioctl(lfd, "LOOP_CLR_FD"));
    emit("LOOP_CLR_FD", { dev, ...tag }, r, await seqJson(dev, lfd));
  };
  const loopGetStatus = async (lfd: number, dev: string, tag: Record<string, unknown> = {}): Promise<string | 0> => {
    const r = await attempt(() => sys.ioctl(lfd, "LOOP_GET_STATUS64"));
    if (r.ok) {
      const li = r.value;
      const f = li.lo_flags as number;
      emit("LOOP_GET_STATUS64", { dev, ...tag }, { ok: true, value: 0 }, {
        status: {
          lo_number: li.lo_number, lo_flags: f, autoclear: (f & 4) !== 0, read_only: (f & 1) !== 0, partscan: (f & 8) !== 0,
          lo_file_name: li.lo_file_name, lo_offset: li.lo_offset, lo_sizelimit: li.lo_sizelimit,
        },
        ...(await seqJson(dev, lfd)),
      });
      return 0;
    }
    emit("LOOP_GET_STATUS64", { dev, ...tag }, r, await seqJson(dev, lfd));
    return r.errno;
  };
  const ctl = async (cfd: number, name: "LOOP_CTL_GET_FREE" | "LOOP_CTL_ADD" | "LOOP_CTL_REMOVE", arg: number) => {
    const r = await attempt(() => (name === "LOOP_CTL_GET_FREE" ? sys.ioctl(cfd, name) : sys.ioctl(cfd, name, arg)));
    emit(name, name === "LOOP_CTL_GET_FREE" ? {} : { index: arg }, r);
    return r.ok ? r.value : -1;
  };
  const makeImage = async (path: string, fill: number) => {
    const buf = new Uint8Array(1 << 20).fill(fill);
    let r: Attempt<number>;
    const fd = await attempt(() => sys.open(path, { write: true, create: true }));
    if (fd.ok) {
      r = await attempt(() => sys.write(fd.value, 0, buf));
      await sys.close(fd.value);
    } else r = fd;
    emit("create_image", { path, size: buf.length, fill: hex(fill) }, r);
  };

  // ---- device mapper ----
  let dmfd = -1;
  const dmOut = (h: DmIoctlResult | undefined) => {
    if (!h) return { dm: null };
    const dev = h.dev && (h.dev.major !== 0 || h.dev.minor !== 0) ? `${h.dev.major}:${h.dev.minor}` : null;
    return {
      dm: {
        version: h.version, flags: hex(h.flags), flag_names: dmFlagLabels(h.flags), dev, open_count: h.open_count, event_nr: h.event_nr,
        target_count: h.target_count, padding: hex(h.padding ?? 0), data_start: h.data_start, data_size: h.data_size, name: h.name,
      },
    };
  };
  /** dm_init + dm_call: the header prober.c sends (data_size 16384, data_start 312), the header it reads back. */
  const dmCall = async (cmd: string, opname: string, args: Record<string, unknown>, arg: DmIoctlArg) => {
    const full: DmIoctlArg = { data_size: DMBUF, data_start: SIZEOF_DM_IOCTL, ...arg };
    const r = await attempt(() => sys.ioctl(dmfd, cmd as "DM_DEV_STATUS", full));
    const header = (r.ok ? r.value : r.result) as DmIoctlResult | undefined;
    emit(opname, args, r.ok ? { ok: true, value: 0 } : r, dmOut(header));
    return { r, header, minor: r.ok && header && (header.dev.major !== 0 || header.dev.minor !== 0) ? header.dev.minor : -1 };
  };
  const dmSimple = async (cmd: string, name: string | null, flags: number, tag: Record<string, unknown> = {}) =>
    dmCall(cmd, cmd, { name: name ?? "", version: [4, 0, 0], flags: hex(flags), ...tag }, { version: [4, 0, 0], name: name ?? "", flags });
  const dmCreate = async (name: string, flags: number, padding: number) => {
    const { minor } = await dmCall("DM_DEV_CREATE", "DM_DEV_CREATE", { name, version: [4, 0, 0], flags: hex(flags), padding_in: hex(padding) }, { version: [4, 0, 0], name, flags, padding });
    if (minor >= 0) await sysfsDiskseq(`dm-${minor}`);
    return minor;
  };
  const dmVersion = async (v: [number, number, number]) => (await dmCall("DM_VERSION", "DM_VERSION", { version: v }, { version: v })).header;
  const dmList = async () => {
    const r = await attempt(() => sys.ioctl(dmfd, "DM_LIST_DEVICES", { version: [4, 0, 0], data_size: DMBUF, data_start: SIZEOF_DM_IOCTL }));
    const h = (r.ok ? r.value : r.result) as DmIoctlResult | undefined;
    const devices = r.ok ? (h?.names ?? []).map((n) => ({ name: n.name, dev: `${n.dev.major}:${n.dev.minor}` })) : [];
    emit("DM_LIST_DEVICES", {}, r.ok ? { ok: true, value: 0 } : r, { devices, dm_flags: hex(h?.flags ?? 0) });
  };
  const dmTableLoad = async (name: string, len: number, type: "linear" | "error", params: string) =>
    dmCall("DM_TABLE_LOAD", "DM_TABLE_LOAD", { name, table: type === "linear" ? `0 ${len} linear ${params}` : `0 ${len} error` },
      { version: [4, 0, 0], name, targets: [{ sector_start: 0, length: len, target_type: type, params }] });

  // ======================================================================
  step = 0;
  note("uname", {}, { release: "blocklab", version: "emulated", machine: "x86_64" });
  {
    const r = await attempt(() => sys.readFile("/sys/module/loop/parameters/max_loop"));
    note("loop_param_max_loop", {}, { value: r.ok ? Number(r.value.trim()) : -1 });
  }
  await makeImage("/img/a", 0xaa);
  await makeImage("/img/b", 0xbb);

  step = 1;
  for (let i = 0; i < 8; i++) await sysfsDiskseq(`loop${i}`);
  await listBlock();

  step = 2;
  const lc = await xopen("/dev/loop-control", true, "O_RDWR");
  await ctl(lc, "LOOP_CTL_GET_FREE", 0);

  step = 3;
  let fd1 = await xopen("/dev/loop0", true, "O_RDWR");
  await blkgetdiskseq("loop0", fd1);
  let fa = await xopen("/img/a", true, "O_RDWR");
  await loopConfigure(fd1, "loop0", fa, "/img/a", 0);
  await blkgetdiskseq("loop0", fd1);
  await loopGetStatus(fd1, "loop0");

  step = 4;
  await loopConfigure(fd1, "loop0", fa, "/img/a", 0, { note: "already bound" });

  step = 5;
  await ctl(lc, "LOOP_CTL_GET_FREE", 0);
  await ctl(lc, "LOOP_CTL_REMOVE", 0);
  await loopGetStatus(fd1, "loop0", { when: "after failed remove" });

  step = 6;
  const fd2 = await xopen("/dev/loop0", true, "O_RDWR");
  await loopClrFd(fd1, "loop0", { via: "fd1", other_openers: 1 });
  await loopGetStatus(fd1, "loop0", { via: "fd1" });
  await loopGetStatus(fd2, "loop0", { via: "fd2" });

  step = 7;
  await xclose(fd2, "loop0 fd2");
  await loopGetStatus(fd1, "loop0", { via: "fd1", when: "after closing fd2, fd1 still open" });
  await xclose(fd1, "loop0 fd1 (last opener)");
  let fd3 = await xopen("/dev/loop0", true, "O_RDWR");
  if ((await loopGetStatus(fd3, "loop0", { via: "fresh fd", when: "immediately after last close" })) === 0) {
    await loopGetStatus(fd3, "loop0", { via: "fresh fd", when: "500ms after last close" });
  }

  step = 8;
  await loopClrFd(fd3, "loop0", { note: "unbound" });
  await xclose(fd3, "loop0 fresh fd");

  step = 9;
  fd1 = await xopen("/dev/loop0", true, "O_RDWR");
  const fb = await xopen("/img/b", true, "O_RDWR");
  await loopConfigure(fd1, "loop0", fb, "/img/b", LO_FLAGS_AUTOCLEAR, { flag_names: ["AUTOCLEAR"] });
  await loopGetStatus(fd1, "loop0");
  await readByte(fd1, "loop0");
  await xclose(fb, "/img/b");
  await xclose(fd1, "loop0 (last opener)");
  await xstat("/dev/loop0");
  await xstat("/sys/block/loop0");
  fd3 = await xopen("/dev/loop0", false, "O_RDONLY");
  if (fd3 >= 0) {
    if ((await loopGetStatus(fd3, "loop0", { when: "after last close of autoclear device" })) === 0) {
      await loopGetStatus(fd3, "loop0", { when: "500ms later" });
    }
    await xclose(fd3, "loop0 fresh fd");
  }
  await xstat("/dev/loop0");
  await xstat("/sys/block/loop0");

  step = 10;
  await ctl(lc, "LOOP_CTL_ADD", 20);
  await ctl(lc, "LOOP_CTL_ADD", 20);
  await sysfsDiskseq("loop20");
  fd1 = await xopen("/dev/loop20", false, "O_RDONLY");
  if (fd1 >= 0) {
    await blkgetdiskseq("loop20", fd1);
    await xclose(fd1, "loop20");
  }
  await listBlock();
  await ctl(lc, "LOOP_CTL_REMOVE", 20);
  await ctl(lc, "LOOP_CTL_REMOVE", 20);
  await xstat("/dev/loop20");
  await xstat("/sys/block/loop20");
  fd1 = await xopen("/dev/loop20", false, "O_RDONLY");
  await xclose(fd1, "loop20");
  {
    const r = await attempt(async () => { await sys.mknod("/tmp/loop20-node", { type: "block", major: 7, minor: 20 }); return 0; });
    emit("mknod", { path: "/tmp/loop20-node", rdev: "7:20" }, r);
  }
  fd1 = await xopen("/tmp/loop20-node", false, "O_RDONLY");
  if (fd1 >= 0) {
    await blkgetdiskseq("loop20", fd1);
    await xclose(fd1, "loop20 via mknod node");
    await xstat("/sys/block/loop20");
    await ctl(lc, "LOOP_CTL_REMOVE", 20);
  }
  await ctl(lc, "LOOP_CTL_REMOVE", 7);
  await xstat("/dev/loop7");
  {
    const r = await attempt(async () => { await sys.mknod("/tmp/loop7-node", { type: "block", major: 7, minor: 7 }); return 0; });
    emit("mknod", { path: "/tmp/loop7-node", rdev: "7:7" }, r);
  }
  fd1 = await xopen("/tmp/loop7-node", false, "O_RDONLY");
  if (fd1 >= 0) {
    await blkgetdiskseq("loop7", fd1);
    await xclose(fd1, "loop7 via mknod node");
  }
  await xstat("/sys/block/loop7");
  await xstat("/dev/loop7");

  step = 11;
  fd1 = await xopen("/dev/loop0", true, "O_RDWR");
  fa = await xopen("/img/a", true, "O_RDWR");
  await loopConfigure(fd1, "loop0", fa, "/img/a", 1 << 10, { note: "invalid flag bit 1<<10" });
  await loopGetStatus(fd1, "loop0");
  const fdir = await xopen("/img", false, "O_RDONLY|O_DIRECTORY", true);
  await loopSetFd(fd1, "loop0", fdir, "/img (directory)");
  await loopConfigure(fd1, "loop0", fdir, "/img (directory)", 0);
  await loopGetStatus(fd1, "loop0");
  await xclose(fdir, "/img");
  await xclose(fa, "/img/a");
  await xclose(fd1, "loop0");

  step = 12;
  await ctl(lc, "LOOP_CTL_GET_FREE", 0);
  await ctl(lc, "LOOP_CTL_GET_FREE", 0);
  await listBlock();

  // ---------------- DM ----------------
  step = 13;
  dmfd = await xopen("/dev/mapper/control", true, "O_RDWR");
  const kmin = (await dmVersion([4, 0, 0]))?.version[1] ?? 0;
  await dmVersion([5, 0, 0]);
  await dmVersion([4, 99, 0]);
  await dmVersion([4, kmin, 0]);
  await dmVersion([4, kmin + 1, 0]);
  await dmVersion([3, 0, 0]);

  step = 14;
  const ma = await dmCreate("a", 0, 0);
  await dmCreate("a", 0, 0);
  const mb = await dmCreate("b", 0, 0);
  const mc = await dmCreate("c", 0, 0);
  await dmTableLoad("b", 2048, "error", "");
  await dmSimple("DM_DEV_SUSPEND", "b", 0, { note: "resume" });
  await dmTableLoad("c", 2048, "error", "");
  await dmSimple("DM_DEV_SUSPEND", "c", 0, { note: "resume" });
  let seqB = -1;
  if (mb >= 0) {
    seqB = await sysfsSeq(`dm-${mb}`);
    await sysfsDiskseq(`dm-${mb}`);
  }
  if (mc >= 0) await sysfsDiskseq(`dm-${mc}`);
  await listBlock();

  step = 15;
  fd1 = await xopen("/dev/loop1", true, "O_RDWR");
  fa = await xopen("/img/a", true, "O_RDWR");
  await loopConfigure(fd1, "loop1", fa, "/img/a", 0);
  await xclose(fa, "/img/a");
  await xclose(fd1, "loop1");
  const adn = `dm-${ma}`;
  await dmTableLoad("a", 2048, "linear", "7:1 0");
  await sysfsDiskseq(adn);
  await dmSimple("DM_DEV_SUSPEND", "a", 0, { note: "no SUSPEND flag = resume" });
  await sysfsDiskseq(adn);
  await dmSimple("DM_DEV_STATUS", "a", 0);
  const path = `/dev/${adn}`;
  let fdm = await xopen(path, false, "O_RDONLY");
  if (fdm >= 0) {
    await readByte(fdm, adn);
    await blkgetdiskseq(adn, fdm);
    await xclose(fdm, adn);
  }

  step = 16;
  fdm = await xopen(path, false, "O_RDONLY");
  await dmSimple("DM_DEV_STATUS", "a", 0, { when: "while open" });
  await dmSimple("DM_DEV_REMOVE", "a", 0, { when: "while open" });
  await dmSimple("DM_DEV_REMOVE", "a", DM_DEFERRED_REMOVE, { flag_names: ["DEFERRED_REMOVE"], when: "while open" });
  await dmSimple("DM_DEV_STATUS", "a", 0, { when: "after deferred remove, still open" });
  await dmSimple("DM_DEV_REMOVE", "a", DM_DEFERRED_REMOVE, { flag_names: ["DEFERRED_REMOVE"], when: "again, still open" });
  await xclose(fdm, adn);
  await dmSimple("DM_DEV_STATUS", "a", 0, { when: "immediately after last close", racy: true });
  {
    let polls = 1;
    for (; polls <= 200; polls++) {
      const r = await attempt(() => sys.ioctl(dmfd, "DM_DEV_STATUS", { version: [4, 0, 0], name: "a", data_size: DMBUF, data_start: SIZEOF_DM_IOCTL }));
      if (!r.ok) break;
    }
    note("poll_until_gone", { name: "a", interval_ms: 10, max: 200, racy: true }, { polls });
    await dmSimple("DM_DEV_STATUS", "a", 0, { when: "after settle" });
  }
  await xstat(`/sys/block/${adn}`, true);
  await xstat(path, true);
  {
    const sp = `/sys/block/${adn}`;
    let polls = 0;
    while (polls < 200 && (await attempt(() => sys.stat(sp))).ok) polls++;
    note("poll_until_sysfs_gone", { path: sp, interval_ms: 10, max: 200, racy: true }, { polls });
    note("sleep", { ms: 1000 });
    await xstat(sp);
    await xstat(path);
  }

  step = 17;
  await dmSimple("DM_DEV_REMOVE", "b", 0);
  const md = await dmCreate("d", 0, 0);
  let seqD = -1;
  await dmTableLoad("d", 2048, "error", "");
  await dmSimple("DM_DEV_SUSPEND", "d", 0, { note: "resume" });
  if (md >= 0) {
    seqD = await sysfsSeq(`dm-${md}`);
    await sysfsDiskseq(`dm-${md}`);
  }
  const md2 = await dmCreate("d2", 0, 0);
  const md3 = await dmCreate("d3", 0, 0);
  note("compare", {}, { minor_a_old: ma, minor_b_old: mb, minor_c: mc, minor_d: md, minor_d2: md2, minor_d3: md3, diskseq_b_old: seqB, diskseq_d: seqD });
  await dmSimple("DM_DEV_REMOVE", "d2", 0);
  const md4 = await dmCreate("d4", 0, 0);
  note("compare", {}, { minor_d2_removed: md2, minor_d4: md4 });

  step = 18;
  await dmCreate("e", 1 << 20, 0);
  await dmCreate("e2", 1 << 20, 0xa5a5a5a5);
  await dmSimple("DM_DEV_STATUS", "e", 1 << 20);

  step = 19;
  for (const n of ["control", ".", "..", "x/y", ""]) await dmCreate(n, 0, 0);

  step = 20;
  await dmList();
  await dmSimple("DM_REMOVE_ALL", null, 0);
  await dmList();
  await listBlock();

  // ---------------- extras ----------------
  step = 21;
  fd1 = await xopen("/dev/loop2", true, "O_RDWR");
  fa = await xopen("/img/a", true, "O_RDWR");
  await loopConfigure(fd1, "loop2", fa, "/img/a", 0);
  await xclose(fa, "/img/a");
  await loopClrFd(fd1, "loop2", { other_openers: 0 });
  await loopGetStatus(fd1, "loop2", { via: "same fd", when: "after CLR_FD, before close" });
  await blkgetdiskseq("loop2", fd1);
  await xclose(fd1, "loop2");
  fd1 = await xopen("/dev/loop2", true, "O_RDWR");
  await loopGetStatus(fd1, "loop2", { via: "fresh fd", when: "after close" });
  await xclose(fd1, "loop2");

  step = 22;
  fd1 = await xopen("/dev/loop3", false, "O_RDONLY");
  await ctl(lc, "LOOP_CTL_REMOVE", 3);
  await xclose(fd1, "loop3");
  await ctl(lc, "LOOP_CTL_REMOVE", 3);
  await ctl(lc, "LOOP_CTL_GET_FREE", 0);
  await ctl(lc, "LOOP_CTL_ADD", 3);
  await sysfsDiskseq("loop3");
  await ctl(lc, "LOOP_CTL_ADD", -1);
  await listBlock();

  step = 23;
  fd1 = await xopen("/dev/loop1", true, "O_RDWR");
  await loopGetStatus(fd1, "loop1");
  await loopClrFd(fd1, "loop1");
  await xclose(fd1, "loop1");
  await sysfsDiskseq("loop1");

  step = 24;
  await dmSimple("DM_DEV_STATUS", "nosuch", 0);
  await dmSimple("DM_DEV_REMOVE", "nosuch", 0);
  await dmSimple("DM_DEV_REMOVE", "nosuch", DM_DEFERRED_REMOVE);
  await dmSimple("DM_DEV_SUSPEND", "nosuch", 0);

  step = 25;
  const mf = await dmCreate("f", 0, 0);
  fd1 = await xopen("/dev/loop1", true, "O_RDWR");
  fa = await xopen("/img/b", true, "O_RDWR");
  await loopConfigure(fd1, "loop1", fa, "/img/b", 0);
  await xclose(fa, "/img/b");
  await xclose(fd1, "loop1");
  const fdn = `dm-${mf}`;
  await dmTableLoad("f", 2048, "linear", "7:1 0");
  await dmSimple("DM_DEV_SUSPEND", "f", 0);
  await sysfsDiskseq(fdn);
  await dmTableLoad("f", 1024, "linear", "7:1 0");
  await dmSimple("DM_DEV_SUSPEND", "f", DM_SUSPEND_FLAG, { flag_names: ["SUSPEND"] });
  await sysfsDiskseq(fdn);
  await dmSimple("DM_DEV_SUSPEND", "f", 0);
  await sysfsDiskseq(fdn);
  await dmSimple("DM_DEV_REMOVE", "f", 0);
  fd1 = await xopen("/dev/loop1", true, "O_RDWR");
  await loopClrFd(fd1, "loop1");
  await xclose(fd1, "loop1");
  await sysfsDiskseq("loop1");

  step = 26;
  fd1 = await xopen("/dev/loop4", true, "O_RDWR");
  await blkgetdiskseq("loop4", fd1);
  fa = await xopen("/img/b", true, "O_RDWR");
  await loopSetFd(fd1, "loop4", fa, "/img/b");
  await xclose(fa, "/img/b");
  await loopGetStatus(fd1, "loop4");
  await readByte(fd1, "loop4");
  await loopClrFd(fd1, "loop4", { other_openers: 0 });
  await blkgetdiskseq("loop4", fd1);
  await xclose(fd1, "loop4");
  await sysfsDiskseq("loop4");

  step = 99;
  note("done", {});
}
