// What a client connection of xenstored holds, for closing it
// (xsConnectionClosed): its next transaction id (ids are per connection),
// its open transactions and its watches.
//
//   "xsconn:<conn>"  { nextTx, open?, watches? }

export interface ConnState {
  nextTx: number;
  /** Transactions started and not ended. */
  open?: number[];
  /** Watches registered and not removed: [path, token]. */
  watches?: [string, string][];
}

export const connKey = (conn: string): string => `xsconn:${conn}`;
