import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from './api';
import type { GateUpdate } from './bindings/GateUpdate';
import type { LogFilter } from './bindings/LogFilter';
import { SNAPSHOT } from './testdata';

afterEach(() => {
  clearMocks();
});

/** Mocks IPC and records every command with its arguments. */
function record(answers: Record<string, unknown> = {}, options?: { shouldMockEvents: boolean }) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd in answers) {
      const answer = answers[cmd];
      return typeof answer === 'function' ? (answer as (a: unknown) => unknown)(args) : answer;
    }
    throw new Error(`unexpected command ${cmd}`);
  }, options);
  return calls;
}


const FILTER: LogFilter = {
  event_id: 1,
  gate: 'Gerbang 2',
  from: 1_000,
  to: null,
  verdicts: ['already_used'],
  direction: 'entry',
  conflicts_only: false,
  ticket_id: null,
  text: 'budi',
};

describe('api', () => {
  it('appSnapshot invokes app_snapshot and returns what the Rust side answers', async () => {
    const calls = record({ app_snapshot: SNAPSHOT });
    await expect(api.appSnapshot()).resolves.toEqual(SNAPSHOT);
    expect(calls).toEqual([['app_snapshot', {}]]);
  });

  it('passes each command its arguments under the Rust parameter names', async () => {
    const calls = record({
      scan: {},
      gate_counters: {},
      find_attendees: [],
      attendance: { rows: [], total: 0, offset: 400 },
      dashboard: {},
      messages: [],
      send_message: 'id',
      set_gate: {},
      set_prefs: {},
      pair: 'Gerbang 2',
      host_relay: null,
      pairing_offer: {},
      demo_tickets: [],
    });
    await api.scan('GB1-ABC', 'wedge');
    await api.gateCounters();
    await api.findAttendees('budi');
    await api.attendance(FILTER, 400, 200);
    await api.dashboard();
    await api.messages();
    await api.sendMessage(null, 'Pintu B ramai');
    await api.setGate({ name: 'Gerbang 1', direction: 'exit', allowed_types: [2] });
    await api.setPrefs(SNAPSHOT.prefs);
    await api.pair('gerbang://pair?relay=wss://10.0.0.2:8420&code=abc&fp=00');
    await api.hostRelay();
    await api.pairingOffer('supervisor');
    await api.demoTickets(13, 12);
    expect(calls).toEqual([
      ['scan', { text: 'GB1-ABC', source: 'wedge' }],
      ['gate_counters', {}],
      ['find_attendees', { query: 'budi' }],
      ['attendance', { filter: FILTER, offset: 400, limit: 200 }],
      ['dashboard', {}],
      ['messages', {}],
      ['send_message', { to: null, text: 'Pintu B ramai' }],
      ['set_gate', { gate: { name: 'Gerbang 1', direction: 'exit', allowed_types: [2] } }],
      ['set_prefs', { prefs: SNAPSHOT.prefs }],
      ['pair', { text: 'gerbang://pair?relay=wss://10.0.0.2:8420&code=abc&fp=00' }],
      ['host_relay', {}],
      ['pairing_offer', { role: 'supervisor' }],
      ['demo_tickets', { first: 13, count: 12 }],
    ]);
  });

  it('exportAttendance streams progress through a channel and resolves with the row count', async () => {
    const seen: unknown[] = [];
    record({
      export_attendance: (args: unknown) => {
        const { filter, path, progress } = args as {
          filter: LogFilter;
          path: string;
          progress: { onmessage: (p: unknown) => void };
        };
        expect(filter).toEqual(FILTER);
        expect(path).toBe('/tmp/kehadiran.csv');
        progress.onmessage({ done: 500, total: 1_000 });
        progress.onmessage({ done: 1_000, total: 1_000 });
        return 1_000;
      },
    });
    await expect(api.exportAttendance(FILTER, '/tmp/kehadiran.csv', (p) => seen.push(p))).resolves.toBe(1_000);
    expect(seen).toEqual([
      { done: 500, total: 1_000 },
      { done: 1_000, total: 1_000 },
    ]);
  });

  it('onGateUpdate hands over each gate-update payload until stopped', async () => {
    record({}, { shouldMockEvents: true });
    const got: GateUpdate[] = [];
    const stop = await api.onGateUpdate((u) => got.push(u));
    const update = {
      sync: SNAPSHOT.sync,
      counters: SNAPSHOT.counters,
      role: 'gate',
      remote_scans: [],
      settled: [],
      alerts: [],
      messages: [],
      stats: null,
      remote_scans_dropped: 0,
    } satisfies GateUpdate;
    await emit(api.GATE_UPDATE, update);
    expect(got).toEqual([update]);
    stop();
    await emit(api.GATE_UPDATE, update);
    expect(got).toHaveLength(1);
  });

  it('a failed command rejects with the { kind, message } shape', async () => {
    mockIPC(() => {
      throw { kind: 'not_ready', message: 'this gate has no name yet; set one in Settings' };
    });
    const error: unknown = await api.appSnapshot().catch((e: unknown) => e);
    expect(api.isIpcError(error)).toBe(true);
    expect(api.errorText(error)).toBe('this gate has no name yet; set one in Settings');
    expect(api.isIpcError('a plain string')).toBe(false);
    expect(api.errorText(new Error('boom'))).toBe('boom');
    expect(api.errorText('plain')).toBe('plain');
  });
});
