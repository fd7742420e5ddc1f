// Builds the app once for every e2e file (as `npm run build` does); each
// file then only serves it with `vite preview` (app.ts). One build instead
// of one per file keeps the suite within CI's budget as files are added.
import { build } from 'vite';

export default async function setup(): Promise<void> {
  // vitest sets NODE_ENV=test, which would make Vite and Svelte build in
  // development mode; test what `npm run build` ships instead.
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  await build({ logLevel: 'error' });
  process.env.NODE_ENV = saved;
  process.env.BLOCKLAB_E2E_BUILT = '1';
}
