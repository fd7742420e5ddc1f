// Every number the data plane shares with TypeScript, written once: Xen's
// and Linux's protocol numbers (io/ring.h, io/blkif.h, grant_table.h), the
// data plane's capacities, and the codes, flags and buffer layouts of its
// exports (assembly/index.ts). `npm run build:wasm` copies them, doc comments
// included, to web/wasm/core-abi.ts (scripts/gen-abi.mjs), which is where
// web/src/core takes them from, so the two sides cannot disagree.
//
// The generator evaluates the initializers itself, so they stay in a small
// language it can check: `export const NAME: <integer type> = <expression>;`
// with integer literals, earlier constants of this file, unary minus,
// `+ - * << |` and parentheses; no value or intermediate may leave the
// declared type's range (AssemblyScript types a literal by its context, so
// `1 << 42` is 2^42 in a u64). Anything else fails the build rather than be
// guessed at.
//
// The protocol numbers are checked against the headers, independently of
// this file, by test/property/harness.ts's table (test/property/abi.test.ts).

// ---- pages and sectors ----

/** XEN_PAGE_SIZE: guest pages, ring pages, grant frames and arena frames alike. */
export const PAGE_SIZE: u32 = 4096;
/** The block layer's sector: sector numbers and counts in every request. */
export const SECTOR_SIZE: u32 = 512;
/** XEN_PAGE_SIZE >> 9: a segment's first_sect and last_sect lie below this. */
export const SECTORS_PER_PAGE: u32 = 8;

// ---- the shared ring (xen/include/public/io/ring.h, blkif instance) ----

/** The four indices and the unused pvt union, before the first slot. */
export const RING_HEADER_BYTES: u32 = 64;
/** req_prod, written by the frontend. */
export const RING_REQ_PROD: u32 = 0;
/** req_event, written by the backend. */
export const RING_REQ_EVENT: u32 = 4;
/** rsp_prod, written by the backend. */
export const RING_RSP_PROD: u32 = 8;
/** rsp_event, written by the frontend. */
export const RING_RSP_EVENT: u32 = 12;
/** XENBUS_MAX_RING_GRANT_ORDER: a ring has at most 2^4 = 16 pages. */
export const MAX_RING_PAGE_ORDER: u32 = 4;

// ---- blkif requests and responses (xen/include/public/io/blkif.h) ----

/** BLKIF_OP_READ */
export const BLKIF_OP_READ: u8 = 0;
/** BLKIF_OP_WRITE */
export const BLKIF_OP_WRITE: u8 = 1;
/** BLKIF_OP_WRITE_BARRIER */
export const BLKIF_OP_WRITE_BARRIER: u8 = 2;
/** BLKIF_OP_FLUSH_DISKCACHE */
export const BLKIF_OP_FLUSH_DISKCACHE: u8 = 3;
/** BLKIF_OP_RESERVED_1 (was BLKIF_OP_TRIM): answered EOPNOTSUPP. */
export const BLKIF_OP_RESERVED_1: u8 = 4;
/** BLKIF_OP_DISCARD */
export const BLKIF_OP_DISCARD: u8 = 5;
/** BLKIF_OP_INDIRECT */
export const BLKIF_OP_INDIRECT: u8 = 6;

/** BLKIF_RSP_OKAY */
export const BLKIF_RSP_OKAY: i16 = 0;
/** BLKIF_RSP_ERROR */
export const BLKIF_RSP_ERROR: i16 = -1;
/** BLKIF_RSP_EOPNOTSUPP */
export const BLKIF_RSP_EOPNOTSUPP: i16 = -2;

/** BLKIF_MAX_SEGMENTS_PER_REQUEST: segments in a direct request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST: u32 = 11;
/** BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: indirect_grefs[] of an indirect request. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: u32 = 8;
/** XEN_PAGE_SIZE / sizeof(struct blkif_request_segment): segments per indirect page. */
export const SEGMENTS_PER_INDIRECT_FRAME: u32 = 512;
/** feature-max-indirect-segments as Linux blkback advertises it (MAX_INDIRECT_SEGMENTS). */
export const MAX_INDIRECT_SEGMENTS: u32 = 256;
/** BLKIF_DISCARD_SECURE, in a discard request's flag byte. */
export const BLKIF_DISCARD_SECURE: u8 = 1;

/** The protocol a frontend writes "x86_64-abi" (native): the backend reads unpacked structs. */
export const ABI_NATIVE: u32 = 0;
/** The protocol "x86_32-abi": the packed i386 structs of blkback's common.h. */
export const ABI_X86_32: u32 = 1;

// Request and response layouts:
//
// native x86_64 (entry 112 bytes)            x86_32 (entry 108 bytes)
//   rw:       op 0, nr_segments 1, handle 2,   id 4, sector 12, seg[11] 20
//             id 8, sector 16, seg[11] 24
//   discard:  op 0, flag 1, id 8, sector 16,   id 4, sector 12, nr_sectors 20
//             nr_sectors 24
//   indirect: op 0, indirect_op 1,             id 4, sector 12, handle 20,
//             nr_segments u16 2, id 8,         indirect_grefs[8] 24
//             sector 16, handle 24,
//             indirect_grefs[8] 28
//   segment (8 bytes, both ABIs): gref u32 0, first_sect u8 4, last_sect u8 5
//   response (both ABIs): id u64 0, operation u8 8, status i16 10

/** operation (u8): the same byte in every request of both ABIs. */
export const BLKIF_REQ_OPERATION: u32 = 0;
/** nr_segments (u8) of a READ, WRITE, WRITE_BARRIER or FLUSH_DISKCACHE. */
export const BLKIF_REQ_NR_SEGMENTS: u32 = 1;
/** handle (u16, the vbd) of a direct or discard request. */
export const BLKIF_REQ_HANDLE: u32 = 2;
/** flag (u8) of a discard request: BLKIF_DISCARD_SECURE or 0. */
export const BLKIF_DISCARD_FLAG: u32 = 1;
/** indirect_op (u8) of an indirect request: READ or WRITE. */
export const BLKIF_INDIRECT_OP: u32 = 1;
/** nr_segments (u16) of an indirect request. */
export const BLKIF_INDIRECT_NR_SEGMENTS: u32 = 2;

/** sizeof(union blkif_sring_entry), native x86_64. */
export const BLKIF_X86_64_ENTRY_BYTES: u32 = 112;
/** id (u64), after the padding that aligns it. */
export const BLKIF_X86_64_ID: u32 = 8;
/** sector_number (u64). */
export const BLKIF_X86_64_SECTOR: u32 = 16;
/** seg[] of a direct request. */
export const BLKIF_X86_64_SEG: u32 = 24;
/** nr_sectors (u64) of a discard request. */
export const BLKIF_X86_64_DISCARD_NR_SECTORS: u32 = 24;
/** handle (u16) of an indirect request. */
export const BLKIF_X86_64_INDIRECT_HANDLE: u32 = 24;
/** indirect_grefs[] of an indirect request. */
export const BLKIF_X86_64_INDIRECT_GREFS: u32 = 28;

/** sizeof(union blkif_x86_32_sring_entry): packed, no padding before id. */
export const BLKIF_X86_32_ENTRY_BYTES: u32 = 108;
/** id (u64). */
export const BLKIF_X86_32_ID: u32 = 4;
/** sector_number (u64). */
export const BLKIF_X86_32_SECTOR: u32 = 12;
/** seg[] of a direct request. */
export const BLKIF_X86_32_SEG: u32 = 20;
/** nr_sectors (u64) of a discard request. */
export const BLKIF_X86_32_DISCARD_NR_SECTORS: u32 = 20;
/** handle (u16) of an indirect request. */
export const BLKIF_X86_32_INDIRECT_HANDLE: u32 = 20;
/** indirect_grefs[] of an indirect request. */
export const BLKIF_X86_32_INDIRECT_GREFS: u32 = 24;

/** sizeof(struct blkif_request_segment), in a request and in an indirect page alike. */
export const SEGMENT_BYTES: u32 = 8;
/** gref (u32) of a segment. */
export const SEGMENT_GREF: u32 = 0;
/** first_sect (u8) of a segment. */
export const SEGMENT_FIRST_SECT: u32 = 4;
/** last_sect (u8) of a segment. */
export const SEGMENT_LAST_SECT: u32 = 5;

/** id (u64) of a response, both ABIs. */
export const RESPONSE_ID: u32 = 0;
/** operation (u8) of a response, both ABIs. */
export const RESPONSE_OPERATION: u32 = 8;
/** status (i16) of a response, both ABIs. */
export const RESPONSE_STATUS: u32 = 10;
/** frontendConsume hands each response out in 16 bytes, at the offsets of the ring's response. */
export const RESPONSE_OUT_BYTES: u32 = 16;

// ---- grant tables v1 (xen/include/public/grant_table.h) ----

/** GTF_invalid: no access granted. */
export const GTF_invalid: u16 = 0;
/** GTF_permit_access: the grantee may map the frame. */
export const GTF_permit_access: u16 = 1;
/** GTF_accept_transfer */
export const GTF_accept_transfer: u16 = 2;
/** GTF_transitive (v2 only: refused by a v1 map). */
export const GTF_transitive: u16 = 3;
/** GTF_type_mask: the entry's type, one of the four above. */
export const GTF_type_mask: u16 = 3;
/** GTF_readonly, set by the granter. */
export const GTF_readonly: u16 = 1 << 2;
/** GTF_reading, set by Xen while the frame is mapped. */
export const GTF_reading: u16 = 1 << 3;
/** GTF_writing, set by Xen while the frame is mapped writable. */
export const GTF_writing: u16 = 1 << 4;
/** GTF_sub_page (v2 only: refused by a v1 map). */
export const GTF_sub_page: u16 = 1 << 8;

/** GNTST_okay */
export const GNTST_okay: i32 = 0;
/** GNTST_general_error */
export const GNTST_general_error: i32 = -1;
/** GNTST_bad_domain */
export const GNTST_bad_domain: i32 = -2;
/** GNTST_bad_gntref */
export const GNTST_bad_gntref: i32 = -3;
/** GNTST_bad_handle */
export const GNTST_bad_handle: i32 = -4;
/** GNTST_bad_virt_addr (never returned here: no virtual addresses). */
export const GNTST_bad_virt_addr: i32 = -5;
/** GNTST_bad_dev_addr (never returned here). */
export const GNTST_bad_dev_addr: i32 = -6;
/** GNTST_no_device_space: the mapper's maptrack is full. */
export const GNTST_no_device_space: i32 = -7;
/** GNTST_permission_denied */
export const GNTST_permission_denied: i32 = -8;
/** GNTST_bad_page */
export const GNTST_bad_page: i32 = -9;
/** GNTST_bad_copy_arg */
export const GNTST_bad_copy_arg: i32 = -10;
/** GNTST_address_too_big (never returned here). */
export const GNTST_address_too_big: i32 = -11;
/** GNTST_eagain (never returned here: no paging). */
export const GNTST_eagain: i32 = -12;
/** GNTST_no_space (never returned here). */
export const GNTST_no_space: i32 = -13;

/** DOMID_SELF: a grant copy's side that names the caller's own memory. */
export const DOMID_SELF: u32 = 0x7FF0;

/** sizeof(grant_entry_v1_t): 512 entries per frame. */
export const GRANT_ENTRY_BYTES: u32 = 8;
/** flags (u16) of a v1 entry. */
export const GRANT_ENTRY_FLAGS: u32 = 0;
/** domid (u16) of a v1 entry: the grantee. */
export const GRANT_ENTRY_DOMID: u32 = 2;
/** frame (u32) of a v1 entry: the granter's guest frame number. */
export const GRANT_ENTRY_FRAME: u32 = 4;

// ---- capacities of the data plane (its own choices, not Xen's) ----

/** Domids 0..63: ample for a scenario. */
export const MAX_DOMAINS: u32 = 64;
/** 64 MiB of guest memory per domain. */
export const MAX_GUEST_PAGES: u32 = 16384;
/** Xen's default gnttab_max_frames. */
export const MAX_GRANT_FRAMES: u32 = 64;
/** Maptrack handles per domain: the mappings it may hold at once. */
export const MAPTRACK_ENTRIES: u32 = 4096;
/** Image ids 0..255. */
export const MAX_IMAGES: u32 = 256;
/** 4 TiB: the image radix tree's 2^30 blocks of 4 KiB. */
export const MAX_IMAGE_BYTES: u64 = 1 << 42;
/** Device ids 0..255 (loop and dm alike). */
export const MAX_DEVICES: u32 = 256;
/** A dm table frame's header (the target and leg counts), before the targets. */
export const TABLE_HEADER_BYTES: u32 = 16;
/** Targets plus legs per table: one frame's worth. Real dm has no such limit; scenarios need far fewer. */
export const MAX_TABLE_BYTES: u32 = PAGE_SIZE - TABLE_HEADER_BYTES;
/** Frontend rings, all guests together. */
export const MAX_FRONT_RINGS: u32 = 64;
/** Backend rings, all backends together. */
export const MAX_BACK_RINGS: u32 = 64;
/** Checkpoints open at once (nested). */
export const MAX_CHECKPOINTS: u32 = 4096;
/** The smallest arena init accepts: the superblock and the fixed tables need a few frames. */
export const MIN_FRAMES: u32 = 16;
/** The largest arena: 3.75 GiB of frames, with linear memory kept below 4 GiB. */
export const MAX_FRAMES: u32 = 0xF_0000;
/** Bytes JavaScript may use at stagingPtr() to pass data in and out. */
export const STAGING_BYTES: u32 = 4 << 20;

// ---- codes and flags of the exports (assembly/index.ts) ----

/** domainState: no such domain. */
export const DOM_FREE: u32 = 0;
/** domainState: running. */
export const DOM_LIVE: u32 = 1;
/** domainState: destroyed, but other domains still map its grants. */
export const DOM_DYING: u32 = 2;
/** domainCreate: bad arguments or the domid is in use. */
export const DOM_ERR_ARGS: i32 = -1;
/** domainCreate: out of arena frames. */
export const DOM_ERR_NO_FRAMES: i32 = -2;

/** endForeignAccess: the entry was revoked (0: still mapped, nothing changed). */
export const END_ACCESS_REVOKED: i32 = 1;
/** mappedRead, mappedWrite: the handle is not mapped, or the range leaves the page. */
export const MAPPED_ERR_UNMAPPED: i32 = -1;
/** mappedWrite: the handle is mapped read-only. */
export const MAPPED_ERR_READ_ONLY: i32 = -2;

/** deviceSetImage and deviceSetTable flag: writes fail with EROFS. */
export const DEV_READ_ONLY: u32 = 1;
/** dm target type: linear. */
export const TARGET_LINEAR: u16 = 1;
/** dm target type: striped. */
export const TARGET_STRIPED: u16 = 2;
/** dm target type: zero. */
export const TARGET_ZERO: u16 = 3;
/** dm target type: error. */
export const TARGET_ERROR: u16 = 4;
/** A target as deviceSetTable reads it. */
export const TARGET_BYTES: u32 = 32;
/** start (u64), in sectors. */
export const TARGET_START: u32 = 0;
/** length (u64), in sectors. */
export const TARGET_LENGTH: u32 = 8;
/** type (u16): TARGET_*. */
export const TARGET_TYPE: u32 = 16;
/** stripes (u16) of a striped target. */
export const TARGET_STRIPES: u32 = 18;
/** device (u32) of a linear target. */
export const TARGET_DEVICE: u32 = 20;
/** first leg (u32) of a striped target, an index into the legs after the targets. */
export const TARGET_FIRST_LEG: u32 = 20;
/** offset (u64, sectors) of a linear target. */
export const TARGET_OFFSET: u32 = 24;
/** chunk size (u64, sectors) of a striped target. */
export const TARGET_CHUNK_SECTORS: u32 = 24;
/** A stripe leg, after all the targets. */
export const LEG_BYTES: u32 = 16;
/** device (u32) of a leg. */
export const LEG_DEVICE: u32 = 0;
/** physical start sector (u64) of a leg. */
export const LEG_START: u32 = 8;

/** deviceIO operation: read. */
export const IO_READ: u32 = 0;
/** deviceIO operation: write. */
export const IO_WRITE: u32 = 1;
/** deviceIO operation: discard. */
export const IO_DISCARD: u32 = 2;
/** deviceIO: done. */
export const IO_OK: i32 = 0;
/** deviceIO: EIO (an error target, a missing device, beyond the end). */
export const IO_ERROR: i32 = -5;
/** deviceIO: ENOSPC (the arena is full). */
export const IO_NO_SPACE: i32 = -28;
/** deviceIO: EROFS. */
export const IO_READ_ONLY: i32 = -30;

/** frontendState: no such ring. */
export const FRONT_FREE: u32 = 0;
/** frontendState: in use. */
export const FRONT_LIVE: u32 = 1;
/** frontendState: the backend overran the ring; the disk is in an error state. */
export const FRONT_BROKEN: u32 = 2;
/** frontendInit: bad arguments, or a ring page the arena could not provide. */
export const FRONT_ERR_ARGS: i32 = -1;
/** frontendInit: every frontend ring is in use. */
export const FRONT_ERR_FULL: i32 = -2;

/** backendState: no such ring. */
export const BACK_FREE: u32 = 0;
/** backendState: serving the ring. */
export const BACK_CONNECTED: u32 = 1;
/** backendState: halted for good, the frontend overran the ring. */
export const BACK_BOGUS: u32 = 2;
/** backendConnect: a ring grant could not be mapped (see backendLastMapStatus). */
export const BACK_ERR_MAP: i32 = -1;
/** backendConnect: xen_blkif_map's -EIO, req_prod - rsp_prod exceeds the ring. */
export const BACK_ERR_BOGUS: i32 = -2;
/** backendConnect: bad arguments. */
export const BACK_ERR_ARGS: i32 = -3;
/** backendConnect: every backend ring is in use. */
export const BACK_ERR_FULL: i32 = -4;
/** backendConnect flag: the vbd is read-only. */
export const VBD_READ_ONLY: u32 = 1;
/** backendConnect flag: the device supports discard (blkback advertised feature-discard). */
export const VBD_DISCARD: u32 = 2;
/** backendConnect: the smallest logical block size. */
export const MIN_LOGICAL_BLOCK_SIZE: u32 = SECTOR_SIZE;
/** backendConnect: the largest logical block size. */
export const MAX_LOGICAL_BLOCK_SIZE: u32 = PAGE_SIZE;

/** backendProcess result bit: notify the frontend. */
export const PROCESS_NOTIFY: u32 = 1;
/** backendProcess result bit: the budget ran out with work left. */
export const PROCESS_MORE: u32 = 2;
/** backendProcess result bit: the ring is halted as bogus. */
export const PROCESS_BOGUS: u32 = 4;
/** backendProcess result: the requests answered, from this bit up (so a budget stays below 2^24). */
export const PROCESS_ANSWERED_SHIFT: u32 = 8;

/** backendStat selector: responses BLKIF_RSP_OKAY. */
export const STAT_OKAY: u32 = 0;
/** backendStat selector: responses BLKIF_RSP_ERROR. */
export const STAT_ERROR: u32 = 1;
/** backendStat selector: responses BLKIF_RSP_EOPNOTSUPP. */
export const STAT_EOPNOTSUPP: u32 = 2;
