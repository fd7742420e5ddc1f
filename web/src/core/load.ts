// Compiles and instantiates the WebAssembly data plane the same way in the
// browser, in a worker and in Node. The module is compiled once and
// instantiated per world: instances share nothing.

import { instantiate } from "../../wasm/core.js";

export type CoreExports = Awaited<ReturnType<typeof instantiate>>;

let compiled: Promise<WebAssembly.Module> | undefined;

/** The compiled module; pass the .wasm bytes to skip fetching them (tests, embedders). */
export function compileCore(bytes?: BufferSource): Promise<WebAssembly.Module> {
  if (bytes) return WebAssembly.compile(bytes);
  compiled ??= fetchAndCompile();
  return compiled;
}

async function fetchAndCompile(): Promise<WebAssembly.Module> {
  // Vite rewrites this pattern to the emitted asset's address in a build.
  const url = new URL("../../wasm/core.wasm", import.meta.url);
  if (url.protocol === "file:") {
    const fs = "node:fs/promises";
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import("node:fs/promises");
    return WebAssembly.compile(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load the WebAssembly core from ${url}: HTTP ${response.status}`);
  if (typeof WebAssembly.compileStreaming === "function" && response.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

export async function instantiateCore(module?: WebAssembly.Module): Promise<CoreExports> {
  return instantiate(module ?? (await compileCore()), { env: {} });
}
