// Every gallery lesson explored as a user explores it from the command line
// (`blocklab explore ID --json`, under the lesson's "before" configuration
// when it has one), with what was printed kept byte for byte: the
// determinism check (test/cli/determinism.test.ts, test/bench/determinism.ts)
// compares these bytes across runs and clocks.

import { main } from "../../web/src/cli/main";
import { GALLERY } from "../../web/src/scenarios";

export interface GalleryExploration {
  id: string;
  /** The command line after `blocklab`. */
  argv: string[];
}

/** One exploration per lesson: its "before" configuration, or its own when it has none. */
export function galleryExplorations(only?: readonly string[]): GalleryExploration[] {
  return GALLERY.filter((e) => !only || only.includes(e.id)).map((e) => {
    const b = e.before ?? {};
    const config = [
      ...(b.kernel !== undefined ? ["--kernel", b.kernel] : []),
      // Every "before" names a preset or nothing (patchesArg throws otherwise).
      ...(b.patches !== undefined ? ["--patches", patchesArg(b.patches)] : []),
    ];
    return { id: e.id, argv: ["explore", b.scenario ?? e.id, ...config, "--json"] };
  });
}

function patchesArg(p: unknown): string {
  if (typeof p !== "string") throw new Error(`a gallery "before" with patches ${JSON.stringify(p)}: only presets have a flag form here`);
  return p;
}

export interface Printed {
  code: number;
  stdout: string;
}

/** Runs the CLI in this process and keeps what it printed on stdout. */
export async function runCli(argv: readonly string[]): Promise<Printed> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; }, cwd: process.cwd() });
  if (code === 70) throw new Error(`blocklab ${argv.join(" ")}: internal error\n${stderr}`);
  return { code, stdout };
}
