// A fake Tauri back end for the end-to-end tests, installed before the page's own scripts
// (Playwright `addInitScript`). It provides `window.__TAURI_INTERNALS__` (invoke, callbacks)
// and the event plugin, and answers every Gerbang command from a small stateful fixture: a
// demo event with tickets, a log, a dashboard, messages. Tests read what the UI sent from
// `window.__mock.calls` and push `gate-update`s with `window.__mock.emit`.
//
// Options come from `window.__GERBANG_MOCK__` (set by an earlier init script):
//   logTotal   answer `attendance` from a synthetic log of this many rows (virtual list test)
//   role       the device's role ('gate', 'supervisor', 'admin')
//   firstRun   no scans yet
//   hosting    this laptop hosts the relay
//   ipcMs      the delay of each command's answer (default 2 ms, as a real round trip)
(() => {
  const options = Object.assign(
    { logTotal: 0, role: 'admin', firstRun: false, hosting: true, ipcMs: 2 },
    window.__GERBANG_MOCK__ || {},
  );

  const MIN = 60_000;
  const now = () => Date.now();
  const EVENT = {
    id: 1,
    name: 'Konser Senja 2025',
    capacity: 1500,
    utc_offset_minutes: 420,
    ticket_types: [
      { id: 1, name: 'Reguler' },
      { id: 2, name: 'VIP' },
      { id: 3, name: 'Panitia' },
    ],
  };
  const TYPE_NAMES = { 1: 'Reguler', 2: 'VIP', 3: 'Panitia' };
  // Ticket n's holder: a first name and a family name, so 400 tickets have distinct names.
  const FIRST = ['Budi', 'Siti', 'Agus', 'Dewi', 'Rizky', 'Putri Ayu', 'Andi', 'Nur', 'Fajar', 'Maya', 'Hendra', 'Rina', 'Yusuf', 'Lina', 'Taufik', 'Wulan'];
  const LAST = ['Santoso', 'Rahmawati', 'Wijaya', 'Lestari', 'Pratama', 'Maharani', 'Saputra', 'Aini', 'Nugroho', 'Kusuma', 'Gunawan', 'Oktaviani', 'Hidayat', 'Marlina', 'Hakim', 'Sari'];
  const holderOf = (n) => {
    const i = (n - 1) % 16;
    const round = Math.floor((n - 1) / 16);
    return `${FIRST[i]} ${LAST[(i + round * 3) % 16]}${round >= 16 ? ` ${round}` : ''}`;
  };

  /** Ticket n (1-based): its code, holder and type. */
  function ticket(n) {
    return {
      ticket_id: n,
      holder: holderOf(n),
      type_id: n % 7 === 0 ? 2 : n % 11 === 0 ? 3 : 1,
      // Shaped like a real code (`GB:` and base45), but only this fixture knows it.
      code: `GB:6BFOXN*TS0BI$ZDFRH${String(n).padStart(6, '0')}KLA%C7WJ2-.1E4BG:V+R8`,
    };
  }
  const TICKETS = new Map();
  for (let n = 1; n <= 400; n++) {
    const t = ticket(n);
    TICKETS.set(t.code, t);
  }

  // A QR-looking symbol for a text (not a real QR code: the fixture only needs pictures).
  function fakeQr(text) {
    let h = 2166136261;
    for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    const size = 25;
    let path = '';
    const finder = (x, y) => (path += `M${x} ${y}h7v7h-7zM${x + 1} ${y + 1}v5h5v-5zM${x + 2} ${y + 2}h3v3h-3z`);
    finder(0, 0);
    finder(size - 7, 0);
    finder(0, size - 7);
    let state = h || 1;
    const random = () => {
      // xorshift32
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4294967296;
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inFinder = (x < 8 && y < 8) || (x >= size - 8 && y < 8) || (x < 8 && y >= size - 8);
        const timing = (x === 6 || y === 6) && !inFinder;
        if (timing ? (x + y) % 2 === 0 : !inFinder && random() < 0.48) path += `M${x} ${y}h1v1h-1z`;
      }
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 ${size + 4} ${size + 4}" shape-rendering="crispEdges"><rect x="-2" y="-2" width="${size + 4}" height="${size + 4}" fill="#fff"/><path fill-rule="evenodd" d="${path}" fill="#000"/></svg>`;
  }

  const gate = { name: 'Gerbang 1', direction: 'entry', allowed_types: [] };
  let prefs = { language: 'id', sounds: false, hide_names: false, camera: true };
  const cameraList = options.cameras ?? [];
  let cameraStatus = cameraList.length
    ? { state: 'starting' }
    : { state: 'no_camera', message: 'no camera is connected; plug one in or scan with a USB scanner' };
  const sync = {
    state: 'online',
    relay: 'wss://192.168.1.10:8420',
    outbox: 0,
    cursor: 1204,
    head: 1204,
    last_sync: now() - 2_000,
    clock_offset_ms: 3,
    last_error: null,
    refused: null,
    role: options.role,
    snapshot: null,
  };

  // The log, newest first, and who is inside.
  const log = [];
  const admittedAt = new Map();
  let localSeq = 0;
  function record(t, gateName, direction, verdict, at, extra = {}) {
    localSeq += 1;
    const row = {
      local_seq: localSeq,
      scan_id: `0190-${String(localSeq).padStart(8, '0')}`,
      seq: localSeq,
      at,
      gate: gateName,
      direction,
      verdict,
      local: extra.local ?? verdict,
      official: verdict,
      conflict: !!extra.conflict,
      ticket_id: t ? t.ticket_id : null,
      holder: t ? t.holder : null,
      ticket_type: t ? TYPE_NAMES[t.type_id] : null,
      code: t ? t.code : extra.code ?? '',
      reason: '',
      origin: gateName === gate.name ? 'local' : 'remote',
    };
    log.unshift(row);
    return row;
  }
  if (!options.firstRun) {
    // An evening's earlier scans at three gates: tickets 101 and up, so the tests' own tickets
    // (1..100) are still unused.
    const gates = ['Gerbang 1', 'Gerbang 2', 'Gerbang Timur'];
    const start = now() - 150 * MIN;
    for (let i = 0; i < 60; i++) {
      const t = ticket(101 + i);
      const g = gates[i % 3];
      const at = start + i * 2.3 * MIN + (i % 5) * 7_000;
      if (i % 13 === 5) {
        record(t, g, 'entry', 'already_used', at);
      } else if (i % 17 === 8) {
        record(null, g, 'entry', 'unknown_ticket', at, { code: 'XYZ-000' + i });
      } else if (i === 20) {
        record(t, 'Gerbang 2', 'entry', 'already_used', at, { conflict: true, local: 'admitted' });
      } else {
        record(t, g, 'entry', 'admitted', at);
        admittedAt.set(t.ticket_id, { at, gate: g, direction: 'entry' });
      }
    }
  }

  function counters(gateName) {
    const rows = gateName ? log.filter((r) => r.gate === gateName) : log;
    const admitted = rows.filter((r) => r.verdict === 'admitted').length;
    const exits = rows.filter((r) => r.verdict === 'exit_recorded').length;
    const refused = rows.length - admitted - exits;
    const inside = log.filter((r) => r.verdict === 'admitted').length - log.filter((r) => r.verdict === 'exit_recorded').length;
    return { issued: 1200, admitted, exits, inside_now: inside, refused };
  }
  const gateCounters = () => ({ event: counters(null), gate: counters(gate.name) });

  function scan({ text }, byName = null) {
    const at = now();
    const t = byName ?? TICKETS.get(text);
    let verdict;
    if (!t) {
      const kind = text.startsWith('GB:') ? 'unknown_ticket' : 'malformed';
      record(null, gate.name, gate.direction, kind, at, { code: text });
      verdict = { kind, ticket_id: null, holder: null, ticket_type: null, reason: 'no such ticket', previous: null };
    } else if (gate.direction === 'exit') {
      const inside = admittedAt.get(t.ticket_id);
      const kind = inside && inside.direction === 'entry' ? 'exit_recorded' : 'not_inside';
      if (kind === 'exit_recorded') admittedAt.set(t.ticket_id, { at, gate: gate.name, direction: 'exit' });
      record(t, gate.name, 'exit', kind, at);
      verdict = { kind, ticket_id: t.ticket_id, holder: t.holder, ticket_type: TYPE_NAMES[t.type_id], reason: '', previous: null };
    } else {
      const previous = admittedAt.get(t.ticket_id);
      const kind = previous && previous.direction === 'entry' ? 'already_used' : 'admitted';
      if (kind === 'admitted') admittedAt.set(t.ticket_id, { at, gate: gate.name, direction: 'entry' });
      record(t, gate.name, 'entry', kind, at);
      verdict = {
        kind,
        ticket_id: t.ticket_id,
        holder: t.holder,
        ticket_type: TYPE_NAMES[t.type_id],
        reason: '',
        previous: kind === 'already_used' ? previous : null,
      };
    }
    return { scan_id: `0190-${localSeq}`, verdict, duplicate: false, at, counters: gateCounters() };
  }

  function matches(row, f) {
    if (f.gate && row.gate !== f.gate) return false;
    if (f.from !== null && row.at < f.from) return false;
    if (f.to !== null && row.at >= f.to) return false;
    if (f.verdicts.length && !f.verdicts.includes(row.verdict)) return false;
    if (f.direction && row.direction !== f.direction) return false;
    if (f.conflicts_only && !row.conflict) return false;
    if (f.ticket_id !== null && row.ticket_id !== f.ticket_id) return false;
    if (f.text) {
      const q = f.text.toLowerCase();
      if (!((row.holder || '').toLowerCase().includes(q) || row.code.toLowerCase().includes(q))) return false;
    }
    return true;
  }

  /** Row i of the synthetic 100,000-row log (newest first). */
  function synthetic(i) {
    const t = ticket((i % 400) + 1);
    const kinds = ['admitted', 'admitted', 'admitted', 'exit_recorded', 'already_used', 'unknown_ticket'];
    const verdict = kinds[i % kinds.length];
    return {
      local_seq: options.logTotal - i,
      scan_id: `synthetic-${i}`,
      seq: options.logTotal - i,
      at: now() - i * 1_500,
      gate: ['Gerbang 1', 'Gerbang 2', 'Gerbang Timur'][i % 3],
      direction: verdict === 'exit_recorded' ? 'exit' : 'entry',
      verdict,
      local: verdict,
      official: verdict,
      conflict: false,
      ticket_id: t.ticket_id,
      holder: `Pemegang ${i}`,
      ticket_type: TYPE_NAMES[t.type_id],
      code: t.code,
      reason: '',
      origin: 'local',
    };
  }

  function attendance({ filter, offset, limit }) {
    if (options.logTotal) {
      const rows = [];
      for (let i = offset; i < Math.min(options.logTotal, offset + limit); i++) rows.push(synthetic(i));
      return { rows, total: options.logTotal, offset };
    }
    const all = log.filter((r) => matches(r, filter));
    return { rows: all.slice(offset, offset + limit), total: all.length, offset };
  }

  function dashboard() {
    const t = now();
    const bucket = 5 * MIN;
    const first = Math.floor((t - 150 * MIN) / bucket) * bucket;
    const arrivals = [];
    const shape = [2, 4, 7, 12, 18, 26, 31, 35, 33, 28, 22, 17, 13, 10, 8, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0, 1];
    ['Gerbang 1', 'Gerbang 2', 'Gerbang Timur'].forEach((g, gi) => {
      shape.forEach((n, i) => {
        const admitted = Math.max(0, Math.round(n * [1, 0.8, 0.55][gi] + ((i * (gi + 3)) % 4) - 1));
        if (admitted) arrivals.push({ start: first + i * bucket, gate: g, admitted });
      });
    });
    const c = counters(null);
    return {
      event: EVENT,
      counters: { ...c, admitted: 1043, inside_now: 988, exits: 55, refused: 21 },
      stats: {
        event_id: 1,
        issued: 1200,
        admitted: 1043,
        inside_now: 988,
        capacity: 1500,
        remaining: 512,
        per_gate: [],
        at: t - 800,
      },
      arrivals,
      gates: [
        { gate: 'Gerbang 1', admitted: 452, exits: 20, refused: 9, last_minute: 6, last_scan: t - 8_000 },
        { gate: 'Gerbang 2', admitted: 371, exits: 18, refused: 7, last_minute: 4, last_scan: t - 21_000 },
        { gate: 'Gerbang Timur', admitted: 220, exits: 17, refused: 5, last_minute: 2, last_scan: t - 64_000 },
      ],
      conflicts: log.filter((r) => r.conflict).slice(0, 20),
      alerts: [
        {
          alert_id: 7,
          kind: 'capacity_threshold',
          at: t - 12 * MIN,
          text: 'Konser Senja 2025 has reached 90% of its capacity: 1350 inside, capacity 1500.',
          scans: [],
          capacity: { event_name: 'Konser Senja 2025', percent: 90, inside: 1350, capacity: 1500 },
        },
        {
          alert_id: 5,
          kind: 'conflict',
          at: t - 40 * MIN,
          text: 'Ticket 121 was admitted twice: first at Gerbang 2 (official), then at Gerbang Timur while it was offline.',
          scans: ['Gerbang 2', 'Gerbang Timur'].map((gate, i) => ({
            scan_id: `0190c0de-0000-7000-8000-00000000012${i}`,
            event_id: 1,
            code: 'GB:121',
            ticket_id: 121,
            gate,
            direction: 'entry',
            at: t - (41 - i) * MIN,
            local: 'admitted',
          })),
        },
      ],
      now: t,
    };
  }

  const messages = [
    { message_id: 'm1', from: 'Pengawas', to: null, text: 'Pintu dibuka pukul 18.00. Utamakan antrean VIP di Gerbang 2.', at: now() - 140 * MIN },
    { message_id: 'm2', from: 'Gerbang 2', to: 'Gerbang 1', text: 'Antrean di sini panjang, bisa bantu arahkan tamu ke Gerbang 1?', at: now() - 35 * MIN },
    { message_id: 'm3', from: 'Gerbang 1', to: null, text: 'Siap, kami arahkan.', at: now() - 33 * MIN },
  ];

  const commands = {
    app_snapshot: () => ({
      info: { name: 'Gerbang', version: '0.1.0', data_dir: '/home/petugas/.local/share/id.gerbang.app' },
      gate: { ...gate },
      event: EVENT,
      counters: gateCounters(),
      sync: { ...sync },
      hosting: options.hosting ? { url: 'wss://192.168.1.10:8420', listen: '0.0.0.0:8420' } : null,
      prefs: { ...prefs },
      role: options.role,
    }),
    scan,
    admit_by_name: ({ eventId, ticketId }) => {
      if (eventId !== 1) throw { kind: 'invalid_input', message: `event ${eventId} is not checked here` };
      const t = [...TICKETS.values()].find((x) => x.ticket_id === ticketId);
      if (!t) throw { kind: 'not_found', message: `no ticket ${ticketId}` };
      return scan({ text: `GBM:1:${ticketId}` }, t);
    },
    gate_counters: gateCounters,
    find_attendees: ({ query }) => {
      const q = query.toLowerCase();
      const hits = [];
      for (const t of TICKETS.values()) {
        if (t.holder.toLowerCase().includes(q) || String(t.ticket_id) === q.replace('#', '')) {
          hits.push({
            ticket: { event_id: 1, ticket_id: t.ticket_id, type_id: t.type_id, holder: t.holder, barcode: t.ticket_id % 5 === 0 ? t.code : null, valid_from: null, valid_until: null, revoked: t.ticket_id === 13 },
            ticket_type: TYPE_NAMES[t.type_id],
            last_movement: admittedAt.get(t.ticket_id) ?? null,
          });
          if (hits.length === 20) break;
        }
      }
      return hits;
    },
    attendance,
    export_attendance: async ({ filter, progress }) => {
      const total = options.logTotal || log.filter((r) => matches(r, filter)).length;
      const steps = 4;
      for (let i = 1; i <= steps; i++) {
        await new Promise((r) => setTimeout(r, 150));
        window.__TAURI_INTERNALS__.runCallback(progress.id, {
          index: i - 1,
          message: { done: Math.round((total * i) / steps), total },
        });
      }
      return total;
    },
    dashboard,
    messages: () => [...messages].sort((a, b) => b.at - a.at),
    send_message: ({ to, text }) => {
      if (!text.trim()) throw { kind: 'invalid_input', message: 'a message needs some text' };
      const id = `sent-${messages.length + 1}`;
      messages.push({ message_id: id, from: gate.name, to, text, at: now() });
      return id;
    },
    set_gate: ({ gate: next }) => {
      if (!next.name.trim()) throw { kind: 'invalid_input', message: "a gate's name needs 1 to 64 characters" };
      Object.assign(gate, next);
      return { ...gate };
    },
    set_prefs: ({ prefs: next }) => {
      prefs = { ...next };
      return { ...prefs };
    },
    pair: ({ text }) => {
      if (!text.startsWith('gerbang://pair?')) {
        throw { kind: 'invalid_input', message: 'this is not a pairing text: it starts with gerbang://pair?' };
      }
      return gate.name;
    },
    host_relay: () => null,
    pairing_offer: ({ role }) => {
      const text = `gerbang://pair?relay=wss://192.168.1.10:8420&code=K7M2-Q9XD-${role === 'gate' ? 'G' : 'S'}&fp=3b9f0c1e6a7d4e2b9c8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d`;
      return { text, code: 'K7M2-Q9XD', role, qr_svg: fakeQr(text), expires_in_minutes: 15 };
    },
    demo_tickets: ({ first, count }) => {
      const out = [];
      for (let n = first; n < first + count; n++) {
        const t = ticket(n);
        out.push({ ticket_id: n, holder: t.holder, ticket_type: TYPE_NAMES[t.type_id], code: t.code, qr_svg: fakeQr(t.code) });
      }
      return out;
    },
    camera_status: () => ({ ...cameraStatus }),
    cameras: () => ({ cameras: cameraList, chosen: null }),
    choose_camera: ({ index }) => {
      if (index !== null && !cameraList.some((c) => c.index === index)) {
        throw { kind: 'not_found', message: `there is no camera number ${index}; plug it in and look again` };
      }
      return null;
    },
    'plugin:dialog|save': () => '/home/petugas/kehadiran.csv',
  };

  // --- Tauri internals: callbacks and the event plugin ------------------------------------
  const callbacks = new Map();
  let nextCallback = 1;
  const listeners = new Map();
  const calls = [];

  function transformCallback(callback, once = false) {
    const id = nextCallback++;
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      return callback && callback(data);
    });
    return id;
  }

  async function invoke(cmd, args = {}) {
    calls.push({ cmd, args: JSON.parse(JSON.stringify(args, (k, v) => (k === 'progress' ? '[channel]' : v))) });
    if (cmd === 'plugin:event|listen') {
      if (!listeners.has(args.event)) listeners.set(args.event, []);
      listeners.get(args.event).push(args.handler);
      return args.handler;
    }
    if (cmd === 'plugin:event|unlisten') {
      const list = listeners.get(args.event) || [];
      const i = list.indexOf(args.eventId);
      if (i >= 0) list.splice(i, 1);
      return null;
    }
    const command = commands[cmd];
    if (!command) throw { kind: 'internal', message: `the mock has no command ${cmd}` };
    // A little latency, as a real IPC round trip has.
    if (options.ipcMs > 0) await new Promise((r) => setTimeout(r, options.ipcMs));
    return command(args);
  }

  window.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback,
    unregisterCallback: (id) => callbacks.delete(id),
    runCallback: (id, data) => callbacks.get(id)?.(data),
    callbacks,
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: (_event, id) => callbacks.delete(id) };

  window.__mock = {
    calls,
    sync,
    gate,
    options,
    /** Pushes an event to the page's listeners. */
    emit(event, payload) {
      for (const handler of listeners.get(event) || []) {
        callbacks.get(handler)?.({ event, id: handler, payload });
      }
    },
    /** The camera's status changes (and is pushed as `camera-status`). */
    camera(status) {
      cameraStatus = status;
      this.emit('camera-status', status);
    },
    /** The camera read `text`: it is recorded like any scan and pushed as `camera-scan`. */
    cameraScan(text) {
      this.emit('camera-scan', { text, result: scan({ text }) });
    },
    /** A `gate-update` with the current state and `extra` on top. */
    update(extra = {}) {
      this.emit('gate-update', {
        sync: { ...sync, ...(extra.sync || {}) },
        counters: gateCounters(),
        role: options.role,
        remote_scans: [],
        settled: [],
        alerts: [],
        messages: [],
        stats: null,
        remote_scans_dropped: 0,
        ...extra,
        ...(extra.sync ? { sync: { ...sync, ...extra.sync } } : {}),
      });
    },
    ticket,
  };
})();
