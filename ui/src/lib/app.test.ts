// The app's state against a mocked back end: start, updates, scans, unread messages.

import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CAMERA_PAIRING, CAMERA_PREVIEW, CAMERA_SCAN, CAMERA_STATUS, GATE_UPDATE } from './api';
import { SNAPSHOT } from './testdata';
import { AppModel } from './app.svelte';
import type { GateUpdate } from './bindings/GateUpdate';
import type { ScanResult } from './bindings/ScanResult';
import { lang } from './i18n';
import { get } from 'svelte/store';

function update(part: Partial<GateUpdate> = {}): GateUpdate {
  return {
    sync: { ...SNAPSHOT.sync },
    counters: SNAPSHOT.counters,
    role: 'gate',
    remote_scans: [],
    settled: [],
    alerts: [],
    messages: [],
    stats: null,
    remote_scans_dropped: 0,
    ...part,
  };
}

const RESULT: ScanResult = {
  scan_id: 's1',
  verdict: { kind: 'admitted', ticket_id: 1, holder: 'Budi', ticket_type: null, reason: '', previous: null },
  duplicate: false,
  at: 1,
  counters: {
    event: { issued: 10, admitted: 2, exits: 0, inside_now: 2, refused: 0 },
    gate: { issued: 10, admitted: 2, exits: 0, inside_now: 2, refused: 0 },
  },
};

let app: AppModel;
let scans: unknown[];

beforeEach(() => {
  scans = [];
  mockIPC(
    (cmd, args) => {
      if (cmd === 'app_snapshot') return { ...SNAPSHOT, prefs: { ...SNAPSHOT.prefs, language: 'en' } };
      if (cmd === 'scan') {
        scans.push(args);
        return RESULT;
      }
      if (cmd === 'camera_status') return { state: 'starting' };
      throw new Error(`unexpected ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  app = new AppModel();
});

afterEach(() => {
  app.stop();
  clearMocks();
});

describe('AppModel', () => {
  it('starts from app_snapshot, takes its language, then follows gate-update', async () => {
    await app.start();
    expect(app.ready).toBe(true);
    expect(app.gate.name).toBe('Gerbang 1');
    expect(app.offset).toBe(420);
    expect(get(lang)).toBe('en');

    await emit(GATE_UPDATE, update({ sync: { ...SNAPSHOT.sync, state: 'offline', outbox: 3 }, role: 'supervisor' }));
    expect(app.sync?.state).toBe('offline');
    expect(app.sync?.outbox).toBe(3);
    expect(app.canScan).toBe(false);
    expect(app.updates).toBe(1);
  });

  it('counts messages from others as unread until Messages is opened', async () => {
    await app.start();
    await emit(
      GATE_UPDATE,
      update({
        messages: [
          { message_id: 'a', from: 'Gerbang 2', to: null, text: 'hi', at: 1 },
          { message_id: 'b', from: 'Gerbang 1', to: null, text: 'mine', at: 2 },
        ],
      }),
    );
    expect(app.unread).toBe(1);
    expect(app.incoming).toHaveLength(2);
    app.go('messages');
    expect(app.unread).toBe(0);
  });

  it('scans: shows the verdict, lists it, takes the new counters', async () => {
    await app.start();
    await app.scan('GB:1', 'wedge', 5);
    expect(scans).toEqual([{ text: 'GB:1', source: 'wedge' }]);
    expect(app.verdict?.result.verdict.kind).toBe('admitted');
    expect(app.verdict?.startedAt).toBe(5);
    expect(app.recent).toHaveLength(1);
    expect(app.counters.event.admitted).toBe(2);
    app.go('log');
    expect(app.verdict).toBeNull();
  });

  it('follows the camera: status, preview frames, its scans shown like any other, pairing codes', async () => {
    await app.start();
    expect(app.camera.state).toBe('starting');
    const frame = { jpeg: 'data:image/jpeg;base64,AA==', width: 640, height: 360, codes: [] };
    await emit(CAMERA_PREVIEW, frame);
    expect(app.preview).toBeNull(); // not running yet: no frame to show
    await emit(CAMERA_STATUS, { state: 'running', camera: 'C920', width: 1280, height: 720, format: 'mjpeg', fps: 30 });
    await emit(CAMERA_PREVIEW, frame);
    expect(app.preview?.width).toBe(640);

    await emit(CAMERA_SCAN, { text: 'GB:CAM', result: RESULT });
    expect(scans).toEqual([]); // the camera's scan is already recorded on the Rust side
    expect(app.verdict?.code).toBe('GB:CAM');
    expect(app.recent).toHaveLength(1);
    await emit(CAMERA_SCAN, { text: 'GB:CAM', result: { ...RESULT, duplicate: true } });
    expect(app.verdict?.result.duplicate).toBe(true);
    expect(app.recent).toHaveLength(1); // a duplicate is shown again, not listed again

    await emit(CAMERA_PAIRING, 'gerbang://pair?relay=wss://10.0.0.5:8420&code=AB');
    await emit(CAMERA_PAIRING, 'gerbang://pair?relay=wss://10.0.0.5:8420&code=AB');
    expect(app.pairingSeen).toEqual({ text: 'gerbang://pair?relay=wss://10.0.0.5:8420&code=AB', seq: 2 });

    await emit(CAMERA_STATUS, { state: 'disconnected', message: 'the camera was unplugged' });
    expect(app.camera.state).toBe('disconnected');
    expect(app.preview).toBeNull();
  });

  it('says why it could not start, and can try again', async () => {
    clearMocks();
    mockIPC(() => {
      throw { kind: 'internal', message: 'cannot open the gate database' };
    });
    await app.start();
    expect(app.ready).toBe(false);
    expect(app.startError).toBe('cannot open the gate database');
  });
});

describe('AppModel refresh', () => {
  it('reads the snapshot again when the link changes (hosting starts in the background)', async () => {
    let snapshots = 0;
    clearMocks();
    mockIPC(
      (cmd) => {
        if (cmd !== 'app_snapshot') throw new Error(cmd);
        snapshots += 1;
        return {
          ...SNAPSHOT,
          sync: { ...SNAPSHOT.sync, state: 'connecting' },
          hosting: snapshots > 1 ? { url: 'wss://10.0.0.5:8420', listen: '0.0.0.0:8420' } : null,
        };
      },
      { shouldMockEvents: true },
    );
    const model = new AppModel();
    await model.start();
    expect(model.hosting).toBeNull();
    await emit(GATE_UPDATE, update({ sync: { ...SNAPSHOT.sync, state: 'online' } }));
    await vi.waitFor(() => expect(model.hosting?.url).toBe('wss://10.0.0.5:8420'));
    expect(snapshots).toBe(2);
    model.stop();
  });
});
