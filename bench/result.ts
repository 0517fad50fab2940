/** One row of `npm run bench`'s table (bench/run.ts): our figure beside a reference from the same run. */
export interface Result {
  name: string;
  /** Unrounded: the verdict compares these values, the table only rounds what it prints. */
  ours: number;
  reference: number;
  ratio: number;
  /** Every goal this figure has, ratios and absolute limits alike; none: printed for the record. */
  goals?: Goal[];
  unit?: string;
  note?: string;
}

/** A floor (`atLeast`) or a ceiling (`atMost`) on our figure or on the ratio ours ÷ reference. */
export interface Goal {
  on: 'ours' | 'ratio';
  atLeast?: number;
  atMost?: number;
}

/** How the table prints a figure: whole numbers from 100 up, three significant digits below. */
export const figure = (n: number): string =>
  Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString();

/** Whether `r` meets `goal`, on the unrounded value. */
export function meets(r: Result, goal: Goal): boolean {
  const value = goal.on === 'ours' ? r.ours : r.ratio;
  return (goal.atLeast === undefined || value >= goal.atLeast) && (goal.atMost === undefined || value <= goal.atMost);
}

/** The verdict column: each goal with its outcome, e.g. "ratio >= 0.8x meets; ours >= 100,000 points/s MISSES". */
export function verdict(r: Result): string {
  if (!r.goals?.length) return 'no goal';
  return r.goals
    .map((g) => {
      const bound = g.atLeast !== undefined ? `>= ${figure(g.atLeast)}` : `<= ${figure(g.atMost!)}`;
      const unit = g.on === 'ratio' ? 'x' : ` ${r.unit ?? 'points/s'}`;
      return `${g.on} ${bound}${unit} ${meets(r, g) ? 'meets' : 'MISSES'}`;
    })
    .join('; ');
}
