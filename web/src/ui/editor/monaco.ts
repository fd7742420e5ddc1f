// Monaco, loaded lazily (App imports this module with import() after the
// shell has painted). The scenario API's .d.ts is an extra lib, so the
// editor completes `sys.` and shows the doc comments on hover; type errors
// come back from Monaco's TypeScript worker as markers. The same worker
// transpiles the user's TypeScript to CommonJS with a source map (noEmitOnError
// off: output even when there are type errors) for the sandbox worker.
// Monaco 0.57's package has an exports map: the old deep imports
// (monaco-editor/esm/vs/...) no longer resolve, so these name its entry
// points (editor, features, languages/...).

import { isDark } from "../theme";
import * as monaco from "monaco-editor/editor";
import "monaco-editor/features/register.all";
import "monaco-editor/languages/definitions/typescript/register";
import * as ts from "monaco-editor/languages/features/typescript/register";
import EditorWorker from "monaco-editor/editor/editor.worker?worker";
import TsWorker from "monaco-editor/languages/features/typescript/ts.worker?worker";
import apiDts from "../../api/blocklab.d.ts?raw";

/** What the sandbox's console offers a script, typed for the editor (lib is es2022 only: no DOM). */
const CONSOLE_DTS = `declare var console: {
  /** A line in Blocklab's console panel (not in the trace: use sys.log for that). */
  log(...values: unknown[]): void;
  info(...values: unknown[]): void;
  warn(...values: unknown[]): void;
  error(...values: unknown[]): void;
  debug(...values: unknown[]): void;
};
`;

export const MODEL_URI = "file:///scenario.ts";

export interface Diagnostic {
  line: number;
  column: number;
  message: string;
}

export interface Transpiled {
  js: string;
  sourceMap?: string;
  /** Syntax errors: no run while there are any (the emitted code would not be the script). */
  syntaxErrors: Diagnostic[];
  /** Type errors: reported, and the script runs anyway. */
  typeErrors: Diagnostic[];
}

export interface EditorHandle {
  getText(): string;
  setText(text: string): void;
  transpile(): Promise<Transpiled>;
  reveal(line: number, column: number): void;
  focus(): void;
  setTheme(dark: boolean): void;
  dispose(): void;
}

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  (self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
    getWorker: (_id: string, label: string) => (label === "typescript" || label === "javascript" ? new TsWorker() : new EditorWorker()),
  };
  const d = ts.typescriptDefaults;
  d.setCompilerOptions({
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.CommonJS,
    lib: ["es2022"],
    strict: true,
    noEmitOnError: false,
    sourceMap: true,
    esModuleInterop: true,
    allowNonTsExtensions: true,
  });
  d.addExtraLib(apiDts, "file:///node_modules/@types/blocklab/index.d.ts");
  d.addExtraLib(CONSOLE_DTS, "file:///blocklab-console.d.ts");
  d.setEagerModelSync(true);
}

function messageText(m: unknown): string {
  if (typeof m === "string") return m;
  const chain = m as { messageText?: string; next?: unknown[] } | undefined;
  if (!chain?.messageText) return String(m);
  return [chain.messageText, ...(chain.next ?? []).map(messageText)].join(" ");
}

export function createEditor(el: HTMLElement, text: string, onChange: (text: string) => void, opts: { large?: boolean } = {}): EditorHandle {
  configure();
  const uri = monaco.Uri.parse(MODEL_URI);
  const model = monaco.editor.getModel(uri) ?? monaco.editor.createModel(text, "typescript", uri);
  model.setValue(text);
  const dark = isDark();
  const editor = monaco.editor.create(el, {
    model,
    automaticLayout: true,
    minimap: { enabled: false },
    fontSize: opts.large ? 20 : 13,
    scrollBeyondLastLine: false,
    tabSize: 2,
    theme: dark ? "vs-dark" : "vs",
    fixedOverflowWidgets: true,
  });
  let settingText = false;
  const sub = model.onDidChangeContent(() => {
    if (!settingText) onChange(model.getValue());
  });

  const toDiag = (d: { start?: number; messageText: unknown }): Diagnostic => {
    const p = model.getPositionAt(d.start ?? 0);
    return { line: p.lineNumber, column: p.column, message: messageText(d.messageText) };
  };

  return {
    getText: () => model.getValue(),
    setText: (t) => {
      settingText = true;
      try {
        model.setValue(t);
      } finally {
        settingText = false;
      }
    },
    async transpile() {
      const worker = await (await ts.getTypeScriptWorker())(uri);
      const name = uri.toString();
      const [out, syn, sem] = await Promise.all([worker.getEmitOutput(name), worker.getSyntacticDiagnostics(name), worker.getSemanticDiagnostics(name)]);
      const files = (out as { outputFiles: { name: string; text: string }[] }).outputFiles;
      const js = files.find((f) => f.name.endsWith(".js"))?.text ?? "";
      const map = files.find((f) => f.name.endsWith(".js.map"))?.text;
      return {
        js,
        ...(map ? { sourceMap: map } : {}),
        syntaxErrors: syn.filter((d) => d.category === 1).map(toDiag),
        typeErrors: sem.filter((d) => d.category === 1).map(toDiag),
      };
    },
    reveal(line, column) {
      editor.revealPositionInCenter({ lineNumber: line, column });
      editor.setPosition({ lineNumber: line, column });
      editor.focus();
    },
    focus: () => editor.focus(),
    setTheme: (isDark) => monaco.editor.setTheme(isDark ? "vs-dark" : "vs"),
    dispose() {
      sub.dispose();
      editor.dispose();
    },
  };
}
