// Blocklab's service worker: once the site has loaded, it keeps working
// offline (a workshop room's network is not to be trusted). The build
// (vite.config.ts, offlineCache) fills in the list of its files and a
// version; this copy, served as is by the dev server, has none and caches
// nothing.
//
// - install: every file of the build goes into a cache named after the
//   version (Monaco and its TypeScript worker included: the editor must
//   load offline too).
// - activate: caches of other versions go. A new version waits until no
//   tab runs the old one (no skipWaiting), so a page never mixes the
//   chunks of two builds.
// - fetch, same origin, GET: a page load tries the network first and falls
//   back to the cached page; every other file comes from the cache first.
//   Matching ignores Vary (servers send "Vary: Accept-Encoding", and the
//   browser's own requests need not carry the precache's headers).
// - The sandbox worker's script gets its Content-Security-Policy from the
//   cache's copy of the response, and when the host did not send one (a
//   host that cannot set headers), from here: a service worker can add the
//   header such a host cannot.

const VERSION = "dev";
const FILES = [];
const SANDBOX_CSP = "";

const CACHE = `blocklab-${VERSION}`;

self.addEventListener("install", (event) => {
  if (FILES.length === 0) return;
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith("blocklab-") && k !== CACHE).map((k) => caches.delete(k)))));
});

function withSandboxCsp(response, url) {
  if (!SANDBOX_CSP || !/\/run\.worker[-.][^/]*$/.test(url.pathname) || response.headers.has("Content-Security-Policy")) return response;
  const headers = new Headers(response.headers);
  headers.set("Content-Security-Policy", SANDBOX_CSP);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (FILES.length === 0 || req.method !== "GET" || url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    event.respondWith(
      fetch(req).catch(async () => (await caches.match(req, { ignoreSearch: true, ignoreVary: true })) ?? (await caches.match(new URL("./", self.registration.scope).href, { ignoreVary: true })) ?? Response.error()),
    );
    return;
  }
  event.respondWith(
    (async () => {
      const cached = await caches.match(req, { ignoreSearch: true, ignoreVary: true });
      if (cached) return withSandboxCsp(cached, url);
      const response = await fetch(req);
      return withSandboxCsp(response, url);
    })(),
  );
});
