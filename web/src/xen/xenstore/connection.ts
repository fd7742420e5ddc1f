// What a client connection of xenstored holds, for closing it
// (xsConnectionClosed): its next transaction id (ids are per connection),
// its open transactions and its watches.
//
//   "xsconn:<conn>"  { nextTx, open?, watches? }

import { declareKind } from "../../sim/object-kind";

export interface ConnState {
  nextTx: number;
  /** Transactions started and not ended. */
  open?: number[];
  /** Watches registered and not removed: [path, token]. */
  watches?: [string, string][];
}

export const XS_CONN = declareKind<ConnState, [conn: string]>("xsconn", (conn) => conn);
