// Light, dark, or the system's choice ("auto"), kept in localStorage. The
// page's colours are CSS variables switched by `data-theme` on <html>
// (App.svelte); Monaco has its own themes and is told separately.

export type ThemeChoice = "auto" | "light" | "dark";

const KEY = "blocklab.theme";
const listeners = new Set<(dark: boolean) => void>();

export function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "auto";
  } catch {
    return "auto";
  }
}

/** The colours in force: the choice, or the system's when the choice is auto. */
export function isDark(choice: ThemeChoice = storedTheme()): boolean {
  return choice === "dark" || (choice === "auto" && typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches);
}

export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === "auto") delete root.dataset.theme;
  else root.dataset.theme = choice;
  try {
    if (choice === "auto") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* private mode: the choice lasts until reload */
  }
  const dark = isDark(choice);
  for (const f of listeners) f(dark);
}

/** Called with the colours in force whenever they change (a choice, or the system's switch while on auto). */
export function onThemeChange(f: (dark: boolean) => void): () => void {
  listeners.add(f);
  const mq = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  const sys = () => {
    if (storedTheme() === "auto") f(isDark("auto"));
  };
  mq?.addEventListener("change", sys);
  return () => {
    listeners.delete(f);
    mq?.removeEventListener("change", sys);
  };
}
