// What the kernel drivers (blkback, blkfront) need of xenstore, inside one
// step: a connection of one domain's kernel. It is a view over the xenstore
// model (web/src/xen/xenstore), not a xenstore of its own: reads, writes,
// removals and watches with the connection's domain's permissions.
//
// A kernel handler runs as one atomic step, so a transaction opened and
// committed inside it can never meet a conflicting write: it is written as
// plain reads and writes here, and its watches fire at the end of the step,
// as at a commit.

export interface XsConn {
  /** The domain id whose permissions apply. */
  readonly domid: number;
  /** The value, or undefined when the node is missing (or unreadable: EACCES reads as missing here). */
  read(path: string): string | undefined;
  /** Writes (creating missing parents); returns an errno name on failure. */
  write(path: string, value: string): string | undefined;
  rm(path: string): string | undefined;
  /** Child names, or undefined when missing. */
  ls(path: string): string[] | undefined;
  /**
   * Registers a watch (which fires once at once) under `token`. With
   * `dropWhilePending`, Linux's `will_handle` filter that returns
   * `nr_pending == 0`: an event arriving while one of this watch is still
   * queued is dropped. Linux gives it to one watch only, a backend's watch
   * on its frontend's state (`frontend_will_handle`, XSA-349); every other
   * watch (the bus watches, blkback's physical-device) delivers every event.
   */
  watch(path: string, token: string, opts?: { dropWhilePending?: boolean }): void;
  unwatch(path: string, token: string): void;
}
