// Short texts for values in the views (a trace's arguments and results).

const MAX = 80;

export function short(v: unknown): string {
  let text: string;
  if (typeof v === "string") text = JSON.stringify(v);
  else if (v === undefined) text = "undefined";
  else {
    try {
      text = JSON.stringify(v) ?? String(v);
    } catch {
      text = String(v);
    }
  }
  return text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
}

export function callText(call: string, args: readonly unknown[]): string {
  return `${call}(${args.map(short).join(", ")})`;
}
