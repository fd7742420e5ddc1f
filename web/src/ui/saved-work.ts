// The reader's own work, kept in localStorage: the editor's text and the
// panel's settings. Opening a shared link or a gallery lesson never writes
// here; only the reader's own edits do (session.svelte.ts), so a damaged
// link can never cost anyone their work.

import type { Config } from "../api/types";

export const SAVED_WORK_KEY = "blocklab.work.v1";

export interface SavedWork {
  code: string;
  override: Config | null;
  seed: string;
  schedule: string;
}

export function loadSavedWork(): SavedWork | undefined {
  try {
    const text = localStorage.getItem(SAVED_WORK_KEY);
    if (text === null) return undefined;
    const v = JSON.parse(text) as Partial<SavedWork>;
    if (typeof v.code !== "string") return undefined;
    return { code: v.code, override: v.override ?? null, seed: typeof v.seed === "string" ? v.seed : "1", schedule: typeof v.schedule === "string" ? v.schedule : "" };
  } catch {
    return undefined; // storage disabled or its content damaged: start fresh, say nothing
  }
}

/** False when the browser refuses (private mode, quota): the caller says so once. */
export function saveWork(w: SavedWork): boolean {
  try {
    localStorage.setItem(SAVED_WORK_KEY, JSON.stringify(w));
    return true;
  } catch {
    return false;
  }
}
