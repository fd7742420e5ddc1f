// `npm start`: serve the production build in dist/ (made by `vite build`)
// with Vite's preview server, until Ctrl+C.
import { existsSync } from 'node:fs';
import { preview } from 'vite';

const PORT = 4173;

if (!existsSync(new URL('../dist/index.html', import.meta.url))) {
  console.error('dist/ has no build yet: run `npm run build` (or `npm start`, which builds first).');
  process.exit(1);
}

// strictPort false: if 4173 is taken, Vite takes the next free port.
const server = await preview({
  logLevel: 'warn',
  preview: { port: PORT, strictPort: false, open: false },
});

const url = server.resolvedUrls?.local[0] ?? `http://localhost:${PORT}/`;
console.log(`\n  Blocklab is running at ${url}\n  Press Ctrl+C to stop.\n`);

let closing = false;
const stop = () => {
  if (closing) process.exit(130); // a second Ctrl+C exits at once
  closing = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
