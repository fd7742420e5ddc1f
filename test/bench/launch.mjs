// Runs a TypeScript entry point under Node 20, which cannot strip types:
//   node test/bench/launch.mjs test/bench/run.ts [args...]
// Vite's module runner (runnerImport) transpiles the entry and its imports and
// runs it; import.meta.url stays a file: URL, so the data plane finds its .wasm.
// The entry sees process.argv = [node, entry, ...args]. Vite logs only errors,
// on stderr, so stdout carries only what the entry prints (--json stays clean).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";

const [file, ...args] = process.argv.slice(2);
if (!file || !file.endsWith(".ts")) {
  console.error("usage: node test/bench/launch.mjs <entry.ts> [args...]");
  process.exit(2);
}
const entry = resolve(file);
process.argv = [process.argv[0], entry, ...args];
// Gallery scenarios import the public API as users write it: from "blocklab" (as bin/blocklab.mjs maps it).
const blocklab = fileURLToPath(new URL("../../web/src/api/index.ts", import.meta.url));
await runnerImport(entry, { configFile: false, logLevel: "error", resolve: { alias: { blocklab } } });
