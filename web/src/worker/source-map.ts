// Just enough of the source map format (v3) to turn a position in the
// transpiled JavaScript back into the user's TypeScript: decode the base64
// VLQ "mappings" and find the segment at or before a generated position.
// Small on purpose: the sandbox worker ships it, and it never fetches.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...B64].map((c, i) => [c, i]));

/** One mapped segment: generated column -> original line and column (all 0-based). */
interface Segment {
  col: number;
  line: number;
  origCol: number;
}

export class SourceMap {
  /** Per generated line, its segments sorted by column. */
  private readonly lines: Segment[][];

  constructor(json: string) {
    const map = JSON.parse(json) as { version?: number; mappings?: unknown };
    if (map.version !== 3 || typeof map.mappings !== "string") throw new Error("not a v3 source map");
    this.lines = decodeMappings(map.mappings);
  }

  /** The original position of a generated one (1-based lines and columns in and out). */
  original(line: number, column: number): { line: number; column: number } | undefined {
    const segs = this.lines[line - 1];
    if (!segs || segs.length === 0) return undefined;
    let best: Segment | undefined;
    for (const s of segs) {
      if (s.col <= column - 1) best = s;
      else break;
    }
    best ??= segs[0]!;
    // Inside a segment the text is the same token on both sides: keep the offset.
    return { line: best.line + 1, column: best.origCol + 1 + Math.max(0, column - 1 - best.col) };
  }
}

function decodeMappings(mappings: string): Segment[][] {
  const out: Segment[][] = [];
  let source = 0;
  let line = 0;
  let origCol = 0;
  for (const lineText of mappings.split(";")) {
    const segs: Segment[] = [];
    let col = 0;
    for (const segText of lineText.split(",")) {
      if (segText === "") continue;
      const v = decodeVlq(segText);
      col += v[0]!;
      if (v.length >= 4) {
        source += v[1]!;
        line += v[2]!;
        origCol += v[3]!;
        segs.push({ col, line, origCol });
      }
    }
    segs.sort((a, b) => a.col - b.col);
    out.push(segs);
  }
  void source;
  return out;
}

function decodeVlq(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const d = DIGIT.get(c);
    if (d === undefined) throw new Error(`bad character ${JSON.stringify(c)} in a source map`);
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
