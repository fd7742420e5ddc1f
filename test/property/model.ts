// A pure-TypeScript model of what d1's world should look like after each
// step, written from the specification rather than from assembly/:
//   - Linux blkback (reference-checks.md §1–§6): do_block_io_op's loop, the
//     bogus-ring check, dispatch by op, dispatch_rw_block_io's validation
//     order, dispatch_discard_io, make_response (id, operation, status only);
//   - Xen's v1 grant rules (reference-checks.md §9): the type/domid checks
//     only when an entry goes from unpinned to pinned, _set_status only
//     `if (!act->pin || (writable && no writable pins))`, GTF_writing cleared
//     when the last *writable* mapping goes, GTF_reading with the last pin,
//     and unlock_out_clear when a first pin fails after _set_status;
//   - Linux gnttab_end_foreign_access_ref_v1 (§11);
//   - ring.h index arithmetic (docs/xen-protocol.md, "Index arithmetic and
//     sanity checks").
// The vbd maps through dm-linear and loop as in world.ts.

import { GTF, PAGE, SECTOR, SPEC, U64, u32 } from "./harness";
import {
  D1_PAGES, DATA, GRANT_ENTRIES, IMG1, IMG1_BYTES, INDIRECT, RING_GFNS, RING_REFS, VBD_SECTORS,
  encodeSpec, initialImage, initialIndirectPage, initialPage, vbdSectorToImage, type Action, type Config,
} from "./world";

export interface Entry { flags: number; domid: number; frame: number }
export interface Active { pin: number; wpin: number; gfn: number }
export interface Handle { ref: number; ro: boolean; gfn: number }

/**
 * One granting domain's v1 grant table as Xen keeps it, mapped by a single
 * mapping domain `mapper` (reference-checks.md §9; docs/xen-protocol.md, "Grant tables").
 */
export class GrantModel {
  readonly gt: Entry[] = [];
  readonly act: Active[] = [];
  constructor(readonly entries: number, readonly nrPages: number, readonly mapper: number) {
    for (let r = 0; r < entries; r++) {
      this.gt.push({ flags: 0, domid: 0, frame: 0 });
      this.act.push({ pin: 0, wpin: 0, gfn: 0 });
    }
  }

  // ---- the granting guest ----
  grantAccess(ref: number, grantee: number, gfn: number, ro: boolean): void {
    this.gt[ref] = { flags: GTF.permit_access | (ro ? GTF.readonly : 0), domid: grantee, frame: u32(gfn) };
  }
  writeEntry(ref: number, flags: number, domid: number, frame: number): void {
    this.gt[ref] = { flags, domid, frame: u32(frame) };
  }
  /** gnttab_end_foreign_access_ref_v1: a CAS to 0 that fails while GTF_reading/GTF_writing is set. */
  endForeignAccess(ref: number): boolean {
    const e = this.gt[ref];
    if (e.flags & (GTF.reading | GTF.writing)) return false;
    e.flags = 0;
    return true;
  }

  // ---- GNTTABOP_map_grant_ref / unmap_grant_ref ----
  map(ref: number, readonly: boolean): Handle | null {
    if (ref >= this.entries) return null; // GNTST_bad_gntref
    const e = this.gt[ref], a = this.act[ref];
    if (a.pin === 0 || (!readonly && a.wpin === 0)) {
      // _set_status_v1: type and grantee checked only for an unpinned entry.
      if (a.pin === 0 && ((e.flags & (GTF.type_mask | GTF.sub_page)) !== GTF.permit_access || e.domid !== this.mapper)) return null;
      if (!readonly && (e.flags & GTF.readonly)) return null;
      e.flags |= GTF.reading | (readonly ? 0 : GTF.writing);
      if (a.pin === 0) {
        if (e.frame >= this.nrPages) {
          // get_paged_frame failed: unlock_out_clear
          if (!readonly && a.wpin === 0) e.flags &= ~GTF.writing;
          e.flags &= ~GTF.reading;
          return null;
        }
        a.gfn = e.frame;
      }
    }
    a.pin++;
    if (!readonly) a.wpin++;
    return { ref, ro: readonly, gfn: a.gfn };
  }
  unmap(h: Handle): void {
    const e = this.gt[h.ref], a = this.act[h.ref];
    a.pin--;
    if (!h.ro) a.wpin--;
    // unmap_common_complete
    if (!h.ro && a.wpin === 0) e.flags &= ~GTF.writing;
    if (a.pin === 0) e.flags &= ~GTF.reading;
  }
}

export class Model {
  readonly mem: Uint8Array[] = [];
  readonly grants = new GrantModel(GRANT_ENTRIES, D1_PAGES, 0);
  readonly gt = this.grants.gt;
  readonly act = this.grants.act;
  readonly img: Uint8Array;
  imgSize: number;
  reqCons: number;
  rspProdPvt: number;
  state: "connected" | "bogus" = "connected";
  readonly entries: number;
  readonly stats = { okay: 0, error: 0, eopnotsupp: 0 };
  private readonly L;
  private readonly ringGfns: number[];

  constructor(readonly cfg: Config) {
    for (let g = 0; g < D1_PAGES; g++) this.mem.push(initialPage(1, g));
    this.mem[INDIRECT.gfn] = initialIndirectPage();
    this.gt[RING_REFS[0]] = { flags: GTF.permit_access, domid: 0, frame: RING_GFNS[1][0] };
    this.gt[RING_REFS[1]] = { flags: GTF.permit_access, domid: 0, frame: RING_GFNS[1][1] };
    for (const d of DATA) this.gt[d.ref] = { flags: GTF.permit_access | (d.ro ? GTF.readonly : 0), domid: 0, frame: d.gfn };
    this.gt[INDIRECT.ref] = { flags: GTF.permit_access | GTF.readonly, domid: 0, frame: INDIRECT.gfn };
    this.img = initialImage(IMG1, IMG1_BYTES);
    this.imgSize = cfg.img1Size ?? IMG1_BYTES;
    this.img.fill(0, this.imgSize); // a truncated file reads as zeros past its end
    this.L = SPEC[cfg.abi];
    this.ringGfns = RING_GFNS[cfg.order];
    this.entries = (cfg.order ? 64 : 32);
    // SHARED_RING_INIT by the guest, at its start index.
    for (const g of this.ringGfns) this.mem[g].fill(0);
    this.wr32(0, cfg.start);
    this.wr32(4, cfg.start + 1);
    this.wr32(8, cfg.start);
    this.wr32(12, cfg.start + 1);
    // connect_ring: the ring grants are mapped writable for the connection's lifetime.
    for (let i = 0; i < this.ringGfns.length; i++) {
      if (!this.map(RING_REFS[i], false)) throw new Error("model: ring grant did not map");
    }
    this.reqCons = this.rspProdPvt = u32(cfg.start);
  }

  // ---- the ring, as bytes of d1's pages ----

  private ringByte(off: number): [Uint8Array, number] {
    return [this.mem[this.ringGfns[Math.floor(off / PAGE)]], off % PAGE];
  }
  ringRead(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const [p, o] = this.ringByte(off + i);
      out[i] = p[o];
    }
    return out;
  }
  ringWrite(off: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const [p, o] = this.ringByte(off + i);
      p[o] = bytes[i];
    }
  }
  rd32(off: number): number {
    return new DataView(this.mem[this.ringGfns[0]].buffer).getUint32(off, true);
  }
  wr32(off: number, v: number): void {
    new DataView(this.mem[this.ringGfns[0]].buffer).setUint32(off, u32(v), true);
  }
  slotOffset(i: number): number {
    return 64 + (u32(i) & (this.entries - 1)) * this.L.entry;
  }

  // ---- the guest's own writes ----

  guest(a: Exclude<Action, { k: "process" }>): { endResult?: boolean } {
    switch (a.k) {
      case "slot":
        this.ringWrite(this.slotOffset((a.base === "cons" ? this.reqCons : this.rd32(0)) + a.rel), encodeSpec(a.req, this.cfg.abi));
        return {};
      case "publish": {
        const prod = this.rd32(0);
        this.ringWrite(this.slotOffset(prod), encodeSpec(a.req, this.cfg.abi));
        this.wr32(0, prod + 1);
        return {};
      }
      case "index":
        this.wr32(a.field * 4, a.rel === null ? a.abs : this.reqCons + a.rel);
        return {};
      case "bump":
        this.wr32(0, this.rd32(0) + a.n);
        return {};
      case "grant":
        this.grants.writeEntry(a.ref, a.flags, a.domid, a.frame);
        return {};
      case "end":
        return { endResult: this.grants.endForeignAccess(a.ref) };
      case "regrant":
        this.grants.grantAccess(a.ref, 0, a.gfn, a.ro);
        return {};
      case "page":
        if (this.ringGfns.includes(a.gfn)) return {};
        this.mem[a.gfn].set(a.bytes, a.off);
        return {};
      case "indirect": {
        const at = Math.min(a.at, 512 - a.segs.length) * 8;
        const v = new DataView(this.mem[INDIRECT.gfn].buffer);
        a.segs.forEach((s, i) => {
          v.setUint32(at + 8 * i, u32(s.gref), true);
          v.setUint8(at + 8 * i + 4, s.first);
          v.setUint8(at + 8 * i + 5, s.last);
          v.setUint16(at + 8 * i + 6, 0, true); // the guest writes whole descriptors, padding included
        });
        return {};
      }
    }
  }

  map(ref: number, readonly: boolean): Handle | null {
    return this.grants.map(ref, readonly);
  }
  unmap(h: Handle): void {
    this.grants.unmap(h);
  }

  // ---- Linux blkback ----

  private unconsumed(rc: number, rpp: number): number {
    return Math.min(u32(this.rd32(0) - rc), u32(this.entries - u32(rc - rpp)));
  }

  process(budget: number): { answered: number; notify: boolean; more: boolean; bogus: boolean } {
    if (this.state === "bogus") return { answered: 0, notify: false, more: false, bogus: true };
    let answered = 0, more = false, bogus = false;
    let rc = this.reqCons, rpp = this.rspProdPvt;
    outer: for (;;) {
      const rp = this.rd32(0);
      if (u32(rp - rpp) > this.entries) { // RING_REQUEST_PROD_OVERFLOW: halt, no response
        this.state = "bogus";
        bogus = true;
        break;
      }
      while (rc !== rp) {
        if (u32(rc - rpp) >= this.entries) break; // RING_REQUEST_CONS_OVERFLOW
        if (answered === budget) { more = true; break outer; }
        const req = this.ringRead(this.slotOffset(rc), this.L.entry); // private copy
        rc = u32(rc + 1);
        const { id, op, status } = this.handle(req);
        const rsp = new Uint8Array(12);
        const v = new DataView(rsp.buffer);
        v.setBigUint64(0, id, true);
        const off = this.slotOffset(rpp);
        this.ringWrite(off, rsp.subarray(0, 8));
        this.ringWrite(off + 8, new Uint8Array([op]));
        v.setInt16(10, status, true);
        this.ringWrite(off + 10, rsp.subarray(10, 12));
        if (status === 0) this.stats.okay++;
        else if (status === -1) this.stats.error++;
        else this.stats.eopnotsupp++;
        rpp = u32(rpp + 1);
        answered++;
      }
      // RING_FINAL_CHECK_FOR_REQUESTS
      if (this.unconsumed(rc, rpp) !== 0) continue;
      this.wr32(4, rc + 1);
      if (this.unconsumed(rc, rpp) !== 0) continue;
      break;
    }
    this.reqCons = rc;
    this.rspProdPvt = rpp;
    let notify = false;
    if (answered > 0) {
      const old = this.rd32(8);
      this.wr32(8, rpp);
      notify = u32(rpp - this.rd32(12)) < u32(rpp - old);
    }
    return { answered, notify, more, bogus };
  }

  private handle(req: Uint8Array): { id: bigint; op: number; status: number } {
    const v = new DataView(req.buffer);
    const op = req[0];
    const id = v.getBigUint64(this.L.id, true);
    if (op === 5) return { id, op, status: this.discard(v) };
    if (op <= 3 || op === 6) {
      const reqOp = op === 6 ? req[1] : op;
      return { id, op: reqOp, status: this.rw(req, v, op, reqOp) };
    }
    return { id, op, status: -2 }; // dispatch_other_io
  }

  private rw(req: Uint8Array, v: DataView, op: number, reqOp: number): number {
    const indirect = op === 6;
    if (indirect && reqOp !== 0 && reqOp !== 1) return -1;
    const isRead = reqOp === 0;
    const flush = reqOp === 2 || reqOp === 3;
    const nseg = indirect ? v.getUint16(2, true) : req[1];
    if ((nseg === 0 && !flush) || nseg > (indirect ? 256 : 11)) return -1;
    const segs: { gref: number; first: number; last: number }[] = [];
    let src: DataView, base: number;
    let ih: Handle | null = null;
    if (indirect) {
      ih = this.map(v.getUint32(this.L.indirectGrefs, true), true);
      if (!ih) return -1;
      src = new DataView(this.mem[ih.gfn].buffer);
      base = 0;
    } else {
      src = v;
      base = this.L.seg;
    }
    for (let i = 0; i < nseg; i++) {
      const o = base + 8 * i;
      segs.push({ gref: src.getUint32(o, true), first: src.getUint8(o + 4), last: src.getUint8(o + 5) });
    }
    if (ih) this.unmap(ih);
    let nrSects = 0;
    for (const s of segs) {
      if (s.last >= 8 || s.last < s.first) return -1;
      nrSects += s.last - s.first + 1;
    }
    const sector = v.getBigUint64(this.L.sector, true);
    if (!isRead && this.cfg.readOnly) return -1;
    if (nrSects !== 0) {
      const end = sector + BigInt(nrSects);
      if (end >= U64 || end > BigInt(VBD_SECTORS)) return -1;
    }
    const lbsMask = this.cfg.lbs / SECTOR - 1;
    const low = Number(sector & 0xffff_ffffn);
    for (const s of segs) if (((low | (s.last - s.first + 1)) & lbsMask) !== 0) return -1;
    const handles: Handle[] = [];
    for (const s of segs) {
      const h = this.map(s.gref, !isRead);
      if (!h) {
        handles.forEach((x) => this.unmap(x));
        return -1;
      }
      handles.push(h);
    }
    let at = Number(sector);
    segs.forEach((s, i) => {
      const page = this.mem[handles[i].gfn];
      for (let k = s.first; k <= s.last; k++, at++) {
        const io = vbdSectorToImage(at);
        if (isRead) page.set(this.img.subarray(io, io + SECTOR), k * SECTOR);
        else {
          this.img.set(page.subarray(k * SECTOR, (k + 1) * SECTOR), io);
          this.imgSize = Math.max(this.imgSize, io + SECTOR); // a write through loop past the end grows the file
        }
      }
    });
    handles.forEach((h) => this.unmap(h));
    return 0;
  }

  private discard(v: DataView): number {
    const sector = v.getBigUint64(this.L.sector, true);
    const nr = v.getBigUint64(this.L.discardNr, true);
    if (this.cfg.readOnly) return -1;
    if (nr !== 0n) {
      const end = sector + nr;
      if (end >= U64 || end > BigInt(VBD_SECTORS)) return -1;
    }
    if (!this.cfg.discard) return -2; // blkdev_issue_discard on a device without discard: -EOPNOTSUPP
    for (let s = Number(sector); s < Number(sector + nr); s++) this.img.fill(0, vbdSectorToImage(s), vbdSectorToImage(s) + SECTOR);
    return 0;
  }
}
