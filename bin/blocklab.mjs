#!/usr/bin/env node
// `npx blocklab ...`: runs the CLI (web/src/cli) under Node, which cannot
// run TypeScript by itself. Vite's module runner transpiles the CLI and,
// through the same runner, the user's scenario file, whose
// `import { scenario } from "blocklab"` is mapped to web/src/api: one copy
// of the API for both, so a scenario's `instanceof SysError` holds. Vite
// logs only errors, on stderr, so stdout carries only what the CLI prints.
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

try {
  await runnerImport(here("../web/src/cli/entry.ts"), {
    configFile: false,
    logLevel: "error",
    resolve: { alias: { blocklab: here("../web/src/api/index.ts") } },
  });
} catch (e) {
  // The CLI reports the scenario's own errors itself; anything reaching here is ours.
  process.stderr.write(`blocklab: internal error (a bug in Blocklab, not in your scenario): ${e?.stack ?? e}\n`);
  process.exitCode = 70;
}
