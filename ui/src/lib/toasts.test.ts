import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GateUpdate } from './bindings/GateUpdate';
import type { RemoteScan } from './bindings/RemoteScan';
import { setLang } from './i18n';
import { LIFETIME, MAX_TOASTS, Toasts } from './toasts.svelte';

const counters = {
  event: { issued: 0, admitted: 0, exits: 0, inside_now: 0, refused: 0 },
  gate: { issued: 0, admitted: 0, exits: 0, inside_now: 0, refused: 0 },
};

function update(part: Partial<GateUpdate>): GateUpdate {
  return {
    sync: {
      state: 'online',
      relay: '',
      outbox: 0,
      cursor: 0,
      head: 0,
      last_sync: null,
      clock_offset_ms: null,
      last_error: null,
      refused: null,
      role: null,
      snapshot: null,
    },
    counters,
    role: null,
    remote_scans: [],
    settled: [],
    alerts: [],
    messages: [],
    stats: null,
    remote_scans_dropped: 0,
    ...part,
  };
}

const remote = (gate: string, holder: string, conflict = false): RemoteScan => ({
  gate,
  holder,
  verdict: 'admitted',
  at: 0,
  conflict,
});

describe('toasts', () => {
  let now = 0;
  let toasts: Toasts;
  beforeEach(() => {
    vi.useFakeTimers();
    setLang('en');
    now = 1_000_000;
    toasts = new Toasts(() => now);
  });
  afterEach(() => {
    vi.useRealTimers();
    setLang('id');
  });

  it('keeps one remote-scan toast and counts the scans into it', () => {
    const opts = { remoteScans: true, gate: 'Gerbang 1' };
    toasts.fromUpdate(update({ remote_scans: [remote('Gerbang 2', 'Budi')] }), opts);
    expect(toasts.items).toHaveLength(1);
    expect(toasts.items[0].title()).toBe('Gerbang 2: Admitted');
    expect(toasts.items[0].body()).toBe('Budi');
    toasts.fromUpdate(
      update({ remote_scans: [remote('Gerbang 3', 'Sari'), remote('Gerbang 2', 'Agus')], remote_scans_dropped: 5 }),
      opts,
    );
    expect(toasts.items).toHaveLength(1);
    expect(toasts.items[0].title()).toBe('8 scans at other gates');
    expect(toasts.items[0].body()).toBe('Latest: Gerbang 2, Admitted');
  });

  it('shows no remote-scan toasts where they are not wanted, but still conflicts', () => {
    toasts.fromUpdate(
      update({ remote_scans: [remote('Gerbang 2', 'Budi'), remote('Gerbang 3', 'Sari', true)] }),
      { remoteScans: false, gate: 'Gerbang 1' },
    );
    expect(toasts.items.map((t) => t.kind)).toEqual(['conflict']);
    expect(toasts.items[0].title()).toBe('Conflict at Gerbang 3');
  });

  it('toasts messages from others, not our own echo, and alerts', () => {
    toasts.fromUpdate(
      update({
        messages: [
          { message_id: 'a', from: 'Gerbang 1', to: null, text: 'mine', at: 0 },
          { message_id: 'b', from: 'Supervisor', to: null, text: 'Buka pintu B', at: 0 },
        ],
        alerts: [{ alert_id: 1, kind: 'capacity_threshold', at: 0, text: 'Hall 90% full', scans: [] }],
      }),
      { remoteScans: false, gate: 'Gerbang 1' },
    );
    expect(toasts.items.map((t) => [t.kind, t.title(), t.body()])).toEqual([
      ['alert', 'Alert', 'Hall 90% full'],
      ['message', 'Message from Supervisor', 'Buka pintu B'],
    ]);
  });

  it('stacks at most MAX_TOASTS, the oldest going first, and closes them when their time is up', () => {
    for (let i = 0; i < MAX_TOASTS + 2; i++) {
      toasts.push('alert', () => `alert ${i}`);
    }
    expect(toasts.items.map((t) => t.title())).toEqual(['alert 2', 'alert 3', 'alert 4', 'alert 5']);
    now += LIFETIME.alert + 1;
    vi.runOnlyPendingTimers();
    expect(toasts.items).toEqual([]);
  });

  it('rewords toasts on screen when the language changes', () => {
    toasts.fromUpdate(update({ remote_scans: [remote('Gerbang 2', 'Budi')] }), {
      remoteScans: true,
      gate: 'x',
    });
    setLang('id');
    expect(toasts.items[0].title()).toBe('Gerbang 2: Silakan masuk');
  });
});
