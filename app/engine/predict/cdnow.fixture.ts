/**
 * For the models' tests: the CDNOW sample (2,357 customers, weeks) of Fader, Hardie & Lee (2005),
 * as dev/fixtures/predict/ holds it (see dev/fixtures/SOURCES.md).
 */
import csv from "../../../dev/fixtures/predict/cdnow_customers_summary_with_transactions.csv?raw";
import type { SummaryColumns } from "./types";

export function cdnow(): SummaryColumns {
  const rows = csv.trim().split("\n").slice(1);
  const n = rows.length;
  const data = {
    length: n,
    x: new Float64Array(n),
    tx: new Float64Array(n),
    T: new Float64Array(n),
    mean: new Float64Array(n),
  };
  rows.forEach((row, i) => {
    const [, x, tx, T, mean] = row.split(",").map(Number);
    data.x[i] = x;
    data.tx[i] = tx;
    data.T[i] = T;
    data.mean[i] = mean;
  });
  return data;
}
