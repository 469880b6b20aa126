// Fixtures shared by the unit tests (not part of the app).

import type { AppSnapshot } from './bindings/AppSnapshot';

export const SNAPSHOT: AppSnapshot = {
  info: { name: 'Gerbang', version: '9.8.7', data_dir: '/data' },
  gate: { name: 'Gerbang 1', direction: 'entry', allowed_types: [] },
  event: { id: 1, name: 'Demo', capacity: 500, utc_offset_minutes: 420, ticket_types: [] },
  counters: {
    event: { issued: 10, admitted: 1, exits: 0, inside_now: 1, refused: 0 },
    gate: { issued: 10, admitted: 1, exits: 0, inside_now: 1, refused: 0 },
  },
  sync: {
    state: 'online',
    relay: 'wss://127.0.0.1:8420',
    outbox: 0,
    cursor: 5,
    head: 5,
    last_sync: 1,
    clock_offset_ms: 0,
    last_error: null,
    refused: null,
    role: 'admin',
    snapshot: null,
  },
  hosting: null,
  prefs: { language: 'id', sounds: true, hide_names: false, camera: true },
  role: 'admin',
};
