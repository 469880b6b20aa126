// The arithmetic of the attendance log's virtual list: which rows are on screen, which pages
// of the log they live in, and which cached pages can be dropped. Pure, so it is tested on its
// own; LogList.svelte does the DOM and the fetching.

/** Rows fetched per `attendance` call. */
export const PAGE_SIZE = 200;
/** Rows drawn above and below the visible ones, so a fast scroll does not show gaps. */
export const OVERSCAN = 8;
/** Pages kept in the cache; the ones farthest from the view are dropped beyond this. */
export const MAX_CACHED_PAGES = 12;

/** The rows to draw: [first, end) indices, clamped to the total. */
export interface Window {
  first: number;
  end: number;
}

/** The rows to draw for a scroll position. */
export function visibleRows(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan: number = OVERSCAN,
): Window {
  if (total <= 0 || rowHeight <= 0) {
    return { first: 0, end: 0 };
  }
  const top = Math.max(0, Math.floor(scrollTop / rowHeight));
  const bottom = Math.ceil((Math.max(0, scrollTop) + Math.max(0, viewportHeight)) / rowHeight);
  return {
    first: Math.min(total, Math.max(0, top - overscan)),
    end: Math.min(total, bottom + overscan),
  };
}

/** The page that holds row `index`. */
export function pageOf(index: number, pageSize: number = PAGE_SIZE): number {
  return Math.floor(index / pageSize);
}

/** The pages a window of rows needs, in order. */
export function pagesFor(window: Window, pageSize: number = PAGE_SIZE): number[] {
  if (window.end <= window.first) {
    return [];
  }
  const pages: number[] = [];
  for (let p = pageOf(window.first, pageSize); p <= pageOf(window.end - 1, pageSize); p++) {
    pages.push(p);
  }
  return pages;
}

/** The offset and limit of the `attendance` call for `page`. */
export function pageRequest(page: number, pageSize: number = PAGE_SIZE): { offset: number; limit: number } {
  return { offset: page * pageSize, limit: pageSize };
}

/** The cached pages to drop to keep at most `max`: those farthest from the ones in view. */
export function pagesToEvict(cached: Iterable<number>, inView: number[], max: number = MAX_CACHED_PAGES): number[] {
  const pages = [...cached];
  if (pages.length <= max) {
    return [];
  }
  const centre = inView.length ? (inView[0] + inView[inView.length - 1]) / 2 : 0;
  const keep = new Set(inView);
  return pages
    .filter((p) => !keep.has(p))
    .sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre))
    .slice(0, pages.length - max);
}

/** The list's full height in pixels (what the scrollbar shows). Browsers cap an element's
 * height (about 33 million pixels in Chromium and WebKit); 100,000 rows of 48 px are 4.8
 * million, well inside it. */
export function contentHeight(total: number, rowHeight: number): number {
  return Math.max(0, total) * rowHeight;
}
