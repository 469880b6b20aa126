import { describe, expect, it } from 'vitest';
import {
  contentHeight,
  MAX_CACHED_PAGES,
  OVERSCAN,
  PAGE_SIZE,
  pageOf,
  pageRequest,
  pagesFor,
  pagesToEvict,
  visibleRows,
} from './paging';

const ROW = 52;

describe('virtual list paging', () => {
  it.each([
    // scrollTop, viewport, total -> first, end
    [0, 600, 100_000, 0, Math.ceil(600 / ROW) + OVERSCAN],
    [ROW * 1000, 600, 100_000, 1000 - OVERSCAN, 1000 + Math.ceil(600 / ROW) + OVERSCAN],
    [ROW * 99_990, 600, 100_000, 99_990 - OVERSCAN, 100_000],
    [0, 600, 5, 0, 5],
    [0, 600, 0, 0, 0],
    [-40, 600, 50, 0, Math.ceil(600 / ROW) + OVERSCAN],
  ])('at scrollTop %i in %i px of %i rows draws [%i, %i)', (top, height, total, first, end) => {
    expect(visibleRows(top, height, ROW, total)).toEqual({ first, end });
  });

  it('finds the pages a window needs, across a page boundary', () => {
    expect(pagesFor({ first: 0, end: 20 })).toEqual([0]);
    expect(pagesFor({ first: 190, end: 215 })).toEqual([0, 1]);
    expect(pagesFor({ first: 50_000, end: 50_020 })).toEqual([250]);
    expect(pagesFor({ first: 10, end: 10 })).toEqual([]);
    expect(pageOf(199)).toBe(0);
    expect(pageOf(200)).toBe(1);
  });

  it('asks for a page by offset and limit', () => {
    expect(PAGE_SIZE).toBe(200);
    expect(pageRequest(0)).toEqual({ offset: 0, limit: 200 });
    expect(pageRequest(250)).toEqual({ offset: 50_000, limit: 200 });
  });

  it('scrolling to the middle of 100,000 rows needs exactly the page that holds them', () => {
    const top = 50_000 * ROW;
    const rows = visibleRows(top, 700, ROW, 100_000);
    expect(pagesFor(rows).map((p) => pageRequest(p).offset)).toEqual([49_800, 50_000]);
  });

  it('evicts the cached pages farthest from the view, never those in view', () => {
    const cached = Array.from({ length: MAX_CACHED_PAGES + 3 }, (_, i) => i);
    const evicted = pagesToEvict(cached, [13, 14]);
    expect(evicted).toHaveLength(3);
    expect(evicted).toEqual([0, 1, 2]);
    expect(pagesToEvict([1, 2, 3], [2])).toEqual([]);
  });

  it('makes the list as tall as all its rows', () => {
    expect(contentHeight(100_000, ROW)).toBe(5_200_000);
    expect(contentHeight(-1, ROW)).toBe(0);
  });
});
