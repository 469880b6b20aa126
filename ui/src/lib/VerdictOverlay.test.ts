// The verdict overlay as the scan screen shows it: the hooks the WebDriver test reads, the
// words for already-used (when, where), hidden names, and the latency it reports.

import { flushSync, mount, unmount } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { app } from './app.svelte';
import type { ScanResult } from './bindings/ScanResult';
import type { VerdictKind } from './bindings/VerdictKind';
import { setLang } from './i18n';
import { VERDICT_KINDS } from './verdicts';
import VerdictOverlay, { COUNTDOWN_STEP_MS, type Shown } from './VerdictOverlay.svelte';

const AT = Date.UTC(2025, 2, 14, 12, 45, 0);

function result(kind: VerdictKind, extra: Partial<ScanResult['verdict']> = {}): ScanResult {
  return {
    scan_id: 'x',
    verdict: {
      kind,
      ticket_id: 7,
      holder: 'Budi Santoso',
      ticket_type: 'VIP',
      reason: '',
      previous: null,
      ...extra,
    },
    duplicate: false,
    at: AT,
    counters: app.counters,
  };
}

let component: ReturnType<typeof mount> | null = null;
let closed = 0;

function show(shown: Shown) {
  document.body.innerHTML = '';
  component = mount(VerdictOverlay, { target: document.body, props: { shown, onclose: () => closed++ } });
  flushSync();
  return document.querySelector<HTMLElement>('[data-testid=verdict]')!;
}

beforeEach(() => {
  vi.useFakeTimers();
  setLang('id');
  closed = 0;
  app.event = { id: 1, name: 'Demo', capacity: null, utc_offset_minutes: 420, ticket_types: [] };
  app.prefs = { language: 'id', sounds: false, hide_names: false, camera: true };
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  vi.useRealTimers();
});

describe('VerdictOverlay', () => {
  it('carries the hooks: data-kind, holder and title', () => {
    const el = show({ seq: 1, result: result('admitted'), code: 'GB:1', startedAt: performance.now() });
    expect(el.dataset.kind).toBe('admitted');
    expect(el.querySelector('[data-testid=verdict-holder]')!.textContent!.trim()).toBe('Budi Santoso');
    expect(el.querySelector('[data-testid=verdict-title]')!.textContent).toBe('Silakan masuk');
    expect(el.textContent).toContain('VIP');
  });

  it('says when and where an already-used ticket went in, in the event’s time', () => {
    const el = show({
      seq: 2,
      result: result('already_used', {
        previous: { at: Date.UTC(2025, 2, 14, 12, 42, 0), gate: 'Gerbang Timur', direction: 'entry' },
      }),
      code: 'GB:1',
      startedAt: 0,
    });
    expect(el.textContent).toContain('Sudah masuk pukul 19:42 di Gerbang Timur.');
  });

  it('hides the holder’s name when the gate is set to', () => {
    app.prefs = { ...app.prefs, hide_names: true };
    const el = show({ seq: 3, result: result('admitted'), code: 'GB:1', startedAt: 0 });
    expect(el.querySelector('[data-testid=verdict-holder]')!.textContent!.trim()).toBe('Pemegang tiket');
  });

  it('shows the scanned code when no holder is known', () => {
    const el = show({
      seq: 4,
      result: result('unknown_ticket', { holder: null, ticket_type: null, ticket_id: null }),
      code: 'GB:ZZZ',
      startedAt: 0,
    });
    expect(el.querySelector('[data-testid=verdict-holder]')!.textContent!.trim()).toBe('GB:ZZZ');
  });

  it.each(VERDICT_KINDS)('draws %s with its tone class, an icon and words in English too', (kind) => {
    setLang('en');
    const el = show({ seq: 5, result: result(kind), code: 'GB:1', startedAt: 0 });
    expect(el.className).toMatch(/\b(admit|exit|used|refuse)\b/);
    expect(el.querySelector('svg.verdict-icon')).not.toBeNull();
    expect(el.querySelector('[data-testid=verdict-title]')!.textContent).not.toMatch(/verdict\./);
  });

  it('reports its latency after the frame, and closes itself after 2.5 s', async () => {
    const el = show({ seq: 6, result: result('admitted'), code: 'GB:1', startedAt: performance.now() - 5 });
    vi.advanceTimersToNextFrame();
    expect(Number(el.dataset.latencyMs)).toBeGreaterThanOrEqual(5);
    expect(el.dataset.latencyMs).toMatch(/^\d+\.\d$/);
    vi.advanceTimersByTime(2_400);
    expect(closed).toBe(0);
    vi.advanceTimersByTime(100);
    expect(closed).toBe(1);
  });

  it('shrinks its countdown bar in steps, with no CSS animation running', () => {
    const el = show({ seq: 7, result: result('admitted'), code: 'GB:1', startedAt: performance.now() });
    const bar = el.querySelector<HTMLElement>('[data-testid=verdict-countdown]')!;
    expect(bar.style.width).toBe('100%');
    expect(bar.style.animationName).toBe('');
    vi.advanceTimersByTime(COUNTDOWN_STEP_MS);
    flushSync();
    expect(bar.style.width).toBe('80%');
    vi.advanceTimersByTime(3 * COUNTDOWN_STEP_MS);
    flushSync();
    expect(bar.style.width).toBe('20%');
  });
});
