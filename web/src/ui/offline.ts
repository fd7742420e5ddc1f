// Registers the service worker that keeps the site working offline
// (web/public/sw.js, filled in by the build). Only in a production build,
// and only where browsers allow service workers (https, or localhost);
// elsewhere the site works as before, online, and says so.

export type OfflineState = "unsupported" | "installing" | "ready" | "failed" | "dev";

export function registerOffline(onState: (s: OfflineState, detail?: string) => void): void {
  if (!import.meta.env.PROD) return onState("dev");
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return onState("unsupported");
  onState("installing");
  navigator.serviceWorker.register("./sw.js").then(
    () => navigator.serviceWorker.ready.then(() => onState("ready")),
    (e: unknown) => onState("failed", e instanceof Error ? e.message : String(e)),
  );
}
