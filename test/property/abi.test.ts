// The ABI numbers against Xen's and Linux's headers. assembly/abi.ts holds
// each number once and the build copies it to web/wasm/core-abi.ts; here
// that copy, and the groups web/src/core/abi.ts makes of it, are compared
// with harness.ts's table, which was written from the headers and not from
// either file.

import { describe, expect, it } from "vitest";
import * as ABI from "../../web/wasm/core-abi";
import { BLKIF_OP, BLKIF_RSP, GNTST as CORE_GNTST, GTF as CORE_GTF, LAYOUT, RESPONSE_OFFSETS, RING_OFFSETS } from "../../web/src/core/abi";
import { ABIS, GNTST, GTF, HEADERS, OP, RSP, SPEC } from "./harness";

const generated = ABI as Record<string, number>;

/** Each [name in core-abi.ts, value from the headers] of a table whose keys take a prefix. */
const prefixed = (prefix: string, table: Record<string, number>) => Object.entries(table).map(([k, v]): [string, number] => [prefix + k, v]);

describe("the generated ABI constants are the headers' numbers", () => {
  it.each([
    ...Object.entries(HEADERS),
    ...prefixed("BLKIF_OP_", OP),
    ...prefixed("BLKIF_RSP_", RSP),
    ...prefixed("GTF_", GTF),
    ...prefixed("GNTST_", GNTST),
  ])("%s = %i", (name, value) => {
    expect(generated[name]).toBe(value);
  });

  it("each ABI's request layout: entry size and field offsets (blkif.h native, blkback common.h packed x86_32)", () => {
    const abiName = { "x86_64-abi": "X86_64", "x86_32-abi": "X86_32" } as const;
    for (const abi of ABIS) {
      const p = `BLKIF_${abiName[abi]}_`;
      const S = SPEC[abi];
      expect({
        entry: generated[`${p}ENTRY_BYTES`], id: generated[`${p}ID`], sector: generated[`${p}SECTOR`], seg: generated[`${p}SEG`],
        discardNr: generated[`${p}DISCARD_NR_SECTORS`], indirectHandle: generated[`${p}INDIRECT_HANDLE`], indirectGrefs: generated[`${p}INDIRECT_GREFS`],
      }).toEqual(S);
    }
  });
});

describe("web/src/core/abi.ts groups them under the right names", () => {
  it("BLKIF_OP, BLKIF_RSP and GNTST are the headers' tables; GTF has every flag of the table", () => {
    expect(BLKIF_OP).toEqual(OP);
    expect(BLKIF_RSP).toEqual(RSP);
    expect(CORE_GNTST).toEqual(GNTST);
    expect(CORE_GTF).toMatchObject(GTF);
  });

  it("LAYOUT, RING_OFFSETS and RESPONSE_OFFSETS", () => {
    for (const abi of ABIS) expect(LAYOUT[abi]).toEqual(SPEC[abi]);
    expect(RING_OFFSETS).toEqual({ req_prod: HEADERS.RING_REQ_PROD, req_event: HEADERS.RING_REQ_EVENT, rsp_prod: HEADERS.RING_RSP_PROD, rsp_event: HEADERS.RING_RSP_EVENT });
    expect(RESPONSE_OFFSETS).toEqual({ id: HEADERS.RESPONSE_ID, operation: HEADERS.RESPONSE_OPERATION, status: HEADERS.RESPONSE_STATUS });
  });
});
