/** The arrivals chart's columns (see `ArrivalsChart.svelte`). */

import type { ArrivalBucket } from './bindings/ArrivalBucket';

/** A bucket's length (the gate groups admissions per 5 minutes). */
export const BUCKET_MS = 5 * 60_000;
/** The least span the chart shows, ending at the newest bucket. */
export const SPAN_MS = 60 * 60_000;
/** The most columns: the four hours the gate sends, and one. */
export const MAX_COLUMNS = 49;

/** The columns uPlot wants: x (seconds), the total, then one per gate (sorted by name). Every
 * bucket from the oldest (or an hour before the newest) to the newest is a column, empty ones
 * as 0: quiet minutes are part of the story, and a lone bucket would give uPlot no span to
 * draw (it would label a whole day's axis with one time). */
export function arrivalColumns(buckets: ArrivalBucket[]): {
  gates: string[];
  data: [number[], number[], ...number[][]];
} {
  const gates = [...new Set(buckets.map((b) => b.gate))].sort();
  if (buckets.length === 0) {
    return { gates, data: [[], []] };
  }
  const seen = buckets.map((b) => b.start);
  const last = Math.max(...seen);
  const starts: number[] = [];
  const first = Math.max(Math.min(...seen, last - SPAN_MS + BUCKET_MS), last - (MAX_COLUMNS - 1) * BUCKET_MS);
  for (let s = first; s <= last; s += BUCKET_MS) {
    starts.push(s);
  }
  const index = new Map(starts.map((s, i) => [s, i]));
  const total = new Array<number>(starts.length).fill(0);
  const perGate = gates.map(() => new Array<number>(starts.length).fill(0));
  for (const b of buckets) {
    const i = index.get(b.start);
    if (i === undefined) {
      continue; // not on the 5-minute grid: never from the gate's query
    }
    total[i] += b.admitted;
    perGate[gates.indexOf(b.gate)][i] = b.admitted;
  }
  return { gates, data: [starts.map((s) => s / 1000), total, ...perGate] };
}
