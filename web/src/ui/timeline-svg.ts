// The timeline as a standalone SVG picture (for slides and write-ups): a
// lane per actor, a row per step with its call, result or errno and up to
// three kernel events, the racing pair and the violating step marked. Fixed
// light colours and system fonts, so it reads the same wherever it is pasted.

import type { Trace } from "../sim/trace";
import { callText, eventText, laneOrder, short } from "../worker/format";

const LANE = 250;
const NUM = 44;
const HEAD = 40;
const LINE = 15;
const PAD = 4;
const MAX_EVENTS = 3;
const CHARS = 38;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function clip(s: string, n = CHARS): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export interface SvgMarks {
  racingPair?: readonly number[];
  /** Index of the violating step. */
  violating?: number;
  invariant?: string;
  title?: string;
}

export function timelineSvg(trace: Trace, marks: SvgMarks = {}): string {
  const actors = laneOrder(trace.actors);
  const lanes = actors.map((a) => a.name);
  const laneOf = new Map(lanes.map((n, i) => [n, i]));
  const racing = new Set(marks.racingPair ?? []);
  const width = NUM + LANE * Math.max(1, lanes.length);
  const out: string[] = [];
  let y = HEAD + (marks.title ? LINE : 0);
  const body: string[] = [];
  trace.steps.forEach((s, i) => {
    const lane = laneOf.get(s.actor) ?? 0;
    const x = NUM + lane * LANE;
    const events = s.events.map(eventText);
    const lines = 1 + Math.min(events.length, MAX_EVENTS + (events.length > MAX_EVENTS ? 1 : 0));
    const h = lines * LINE + PAD;
    const fill = i === marks.violating ? "#fdecea" : i % 2 === 0 ? "#ffffff" : "#f6f6f3";
    body.push(`<g class="step" data-step="${i + 1}">`);
    body.push(`<rect x="0" y="${y}" width="${width}" height="${h}" fill="${fill}"/>`);
    if (racing.has(i) || i === marks.violating) body.push(`<rect x="${x}" y="${y}" width="3" height="${h}" fill="${i === marks.violating ? "#b42318" : "#9a6700"}"/>`);
    body.push(`<text x="${NUM - 8}" y="${y + LINE - 3}" text-anchor="end" class="num">${i + 1}</text>`);
    const outcome = s.errno ? ` → ${s.errno}` : s.result !== null && s.result !== undefined ? ` → ${short(s.result)}` : "";
    const call = clip(callText(s.call, s.args), CHARS - Math.min(outcome.length, 16));
    body.push(`<text x="${x + 7}" y="${y + LINE - 3}" class="call">${esc(call)}<tspan class="${s.errno ? "err" : "res"}">${esc(clip(outcome, 18))}</tspan></text>`);
    events.slice(0, MAX_EVENTS).forEach((e, j) => body.push(`<text x="${x + 12}" y="${y + LINE * (j + 2) - 3}" class="ev ${e.cls}">${esc(clip(e.text, CHARS + 4))}</text>`));
    if (events.length > MAX_EVENTS) body.push(`<text x="${x + 12}" y="${y + LINE * (MAX_EVENTS + 2) - 3}" class="ev">+${events.length - MAX_EVENTS} more</text>`);
    if (i === marks.violating && marks.invariant) body.push(`<text x="${width - 6}" y="${y + LINE - 3}" text-anchor="end" class="bad">violated: ${esc(marks.invariant)}</text>`);
    body.push(`</g>`);
    y += h;
  });
  const height = y + PAD;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11">`);
  out.push(`<style>.num{fill:#5d6066}.call{fill:#1d1f23}.res{fill:#1a7f37}.err,.bad{fill:#b42318}.bad{font-weight:bold}.ev{fill:#5d6066;font-size:10px}.ev.uevent{fill:#0b5cad}.ev.diskseq{fill:#9a6700}.ev.watch{fill:#1a7f37}.ev.blkback{fill:#b42318}.head{font-weight:bold;fill:#1d1f23;font-family:system-ui,sans-serif;font-size:12px}.sub{fill:#5d6066;font-family:system-ui,sans-serif;font-size:10px}</style>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  let hy = 0;
  if (marks.title) {
    out.push(`<text x="6" y="${LINE - 2}" class="head">${esc(marks.title)}</text>`);
    hy = LINE;
  }
  out.push(`<rect x="0" y="${hy}" width="${width}" height="${HEAD}" fill="#efefec"/>`);
  out.push(`<text x="${NUM - 8}" y="${hy + 16}" text-anchor="end" class="sub">step</text>`);
  actors.forEach((a, i) => {
    const x = NUM + i * LANE;
    out.push(`<text x="${x + 7}" y="${hy + 16}" class="head">${esc(clip(a.name, 30))}</text>`);
    out.push(`<text x="${x + 7}" y="${hy + 31}" class="sub">${esc(`${a.domain} · ${a.status}${a.errno ? ` ${a.errno}` : ""}`)}</text>`);
  });
  out.push(...body);
  actors.forEach((_, i) => out.push(`<line x1="${NUM + i * LANE}" y1="${hy}" x2="${NUM + i * LANE}" y2="${height}" stroke="#d9d9d4"/>`));
  out.push(`</svg>`);
  return out.join("\n");
}
