// What a script cannot reach from the sandbox worker. A dedicated worker has
// no DOM and no localStorage by construction; this removes the rest of what
// the platform hands a worker that could reach the network, the origin's
// storage (which the page shares), other contexts, or the page itself
// through a forged message. It runs after the worker has imported all its
// own code and before the script is evaluated.
//
// Limits (docs/ui.md): `import()` is syntax and cannot be removed from
// JavaScript; the worker script's Content-Security-Policy header (set by
// `npm start`/`vite preview` and by web/public/_headers on hosts that read
// it) is what stops it, and stops fetch & co. a second time. A host that
// sets no header leaves `import()` of a remote module possible.

/** Globals removed from the worker before a script runs. */
export const BLOCKED_GLOBALS = [
  // network
  "fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "EventSource", "WebTransport", "importScripts",
  "Request", "Response",
  // storage shared with the page (same origin)
  "indexedDB", "caches", "IDBFactory", "CacheStorage", "FileSystemHandle", "FileSystemDirectoryHandle", "FileSystemFileHandle",
  "FileSystemSyncAccessHandle", "cookieStore",
  // other contexts, and the way back to the page
  "BroadcastChannel", "MessageChannel", "Worker", "SharedWorker", "postMessage",
  // clocks and timers: not needed by scenarios (the runtime is deterministic),
  // and handy for busy side channels
  "setTimeout", "setInterval", "requestAnimationFrame", "SharedArrayBuffer", "Atomics",
] as const;

/** WorkerNavigator members that reach storage, locks shared with the page, or the network. */
const BLOCKED_NAVIGATOR = ["storage", "locks", "serviceWorker", "sendBeacon", "connection", "permissions", "usb", "serial", "hid", "bluetooth", "gpu", "mediaCapabilities"] as const;

/** Deletes `name` from `obj` and from every prototype that has it; then pins it to undefined. */
function remove(obj: object, name: string): boolean {
  let found = false;
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, name)) {
      found = true;
      try {
        delete (o as Record<string, unknown>)[name];
      } catch {
        /* non-configurable: pinned below */
      }
    }
  }
  if (found) {
    try {
      Object.defineProperty(obj, name, { value: undefined, writable: false, configurable: false, enumerable: false });
    } catch {
      /* already pinned */
    }
  }
  return found;
}

/**
 * Removes the blocked globals from `scope` (the worker's global object) and
 * returns the names it removed. Throws when one is still reachable
 * afterwards: better no run than a run with a door open.
 */
export function lockDown(scope: typeof globalThis): string[] {
  const removed: string[] = [];
  for (const name of BLOCKED_GLOBALS) if (remove(scope, name)) removed.push(name);
  const nav = (scope as { navigator?: object }).navigator;
  if (nav) for (const name of BLOCKED_NAVIGATOR) if (remove(nav, name)) removed.push(`navigator.${name}`);
  for (const name of BLOCKED_GLOBALS) {
    if ((scope as unknown as Record<string, unknown>)[name] !== undefined) throw new Error(`the sandbox could not remove ${name}`);
  }
  return removed;
}
