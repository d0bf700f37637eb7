// test/bench/stats.ts: order statistics and number formatting for the benchmark's table.

/** Returns the q-quantile (0..1) of the samples by nearest rank (the median of an even count is the upper middle). */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[rank]!;
}

export const median = (s: number[]) => quantile(s, 0.5);
export const p90 = (s: number[]) => quantile(s, 0.9);
export const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);

/** Returns milliseconds with a precision that suits their size: `3.62 ms`, `41.3 ms`, `1534 ms`. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (v < 10) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(0)} ms`;
}

/** Returns a ratio as `0.42×` (or `-` when undefined). */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "-";
}

/** Returns KiB as MiB with one decimal. */
export function mib(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : "-";
}

/** A table of rows (label + cells) printed with aligned columns; a row of one cell is a section heading. */
export class Table {
  private rows: string[][] = [];

  constructor(private readonly header: string[]) {}

  row(...cells: string[]): void {
    this.rows.push(cells);
  }

  /** Returns the table as Markdown-compatible text (`| a | b |`), every column padded to its widest cell. */
  render(): string {
    const n = this.header.length;
    const all = [this.header, ...this.rows].map((r) => (r.length === 1 ? [`**${r[0]}**`, ...Array<string>(n - 1).fill("")] : r));
    const width = Array.from({ length: n }, (_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(" | ") + " |";
    const sep = "|" + width.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
    return [line(all[0]!), sep, ...all.slice(1).map(line)].join("\n");
  }
}
