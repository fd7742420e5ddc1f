// The CLI's entry point inside Vite's module runner (see bin/blocklab.mjs).
import { main } from "./main";

process.exitCode = await main(process.argv.slice(2));
