import { describe, expect, it } from 'vitest';
import { arrivalColumns, BUCKET_MS, MAX_COLUMNS } from './arrivals';

const T = 1_795_262_400_000; // on the 5-minute grid

describe('arrivalColumns', () => {
  it('spreads a lone bucket over the hour before it, quiet buckets as 0', () => {
    const { gates, data } = arrivalColumns([{ start: T, gate: 'Gerbang 1', admitted: 2 }]);
    expect(gates).toEqual(['Gerbang 1']);
    const [x, total, gate1] = data;
    expect(x).toHaveLength(12);
    expect(x[0]).toBe((T - 11 * BUCKET_MS) / 1000);
    expect(x[11]).toBe(T / 1000);
    expect(total).toEqual([...new Array(11).fill(0), 2]);
    expect(gate1).toEqual(total);
  });

  it('keeps a longer span whole, sums the gates per bucket and fills the gaps', () => {
    const start = T - 20 * BUCKET_MS;
    const { gates, data } = arrivalColumns([
      { start: T, gate: 'Gerbang 2', admitted: 1 },
      { start, gate: 'Gerbang 1', admitted: 5 },
      { start, gate: 'Gerbang 2', admitted: 3 },
    ]);
    expect(gates).toEqual(['Gerbang 1', 'Gerbang 2']);
    const [x, total, g1, g2] = data;
    expect(x).toHaveLength(21);
    expect([total[0], g1[0], g2[0]]).toEqual([8, 5, 3]);
    expect([total[20], g1[20], g2[20]]).toEqual([1, 0, 1]);
    expect(total.slice(1, 20).every((n) => n === 0)).toBe(true);
  });

  it('never has more than MAX_COLUMNS columns, however far apart the buckets are', () => {
    const { data } = arrivalColumns([
      { start: T - 365 * 24 * 12 * BUCKET_MS, gate: 'Gerbang 1', admitted: 1 },
      { start: T, gate: 'Gerbang 1', admitted: 1 },
    ]);
    expect(data[0]).toHaveLength(MAX_COLUMNS);
    expect(data[0][MAX_COLUMNS - 1]).toBe(T / 1000);
    expect(data[1].reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('has no columns without arrivals', () => {
    expect(arrivalColumns([]).data).toEqual([[], []]);
  });
});
