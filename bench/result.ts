/** One row of `npm run bench`'s table (bench/run.ts): our figure beside a reference from the same run. */
export interface Result {
  name: string;
  ours: number;
  reference: number;
  ratio: number;
  goal?: number;
  lowerIsBetter?: boolean;
  unit?: string;
  note?: string;
}
