// Alerts worded in the user's language from their figures, and the relay's English text for
// anything the UI cannot word itself.

import { describe, expect, it } from 'vitest';
import { alertText } from './alerts';
import type { Alert } from './bindings/Alert';
import type { ScanRecord } from './bindings/ScanRecord';
import { setLang } from './i18n';

function scan(gate: string): ScanRecord {
  return {
    scan_id: `s-${gate}`,
    event_id: 7,
    code: 'GB:1',
    ticket_id: 1042,
    gate,
    direction: 'entry',
    at: 0,
    local: 'admitted',
  };
}

const capacity: Alert = {
  alert_id: 9,
  kind: 'capacity_threshold',
  at: 0,
  text: 'Seminar Nasional has reached 90% of its capacity: 1350 inside, capacity 1500.',
  scans: [],
  capacity: { event_name: 'Seminar Nasional', percent: 90, inside: 1350, capacity: 1500 },
};

describe('alertText', () => {
  it('words a capacity alert from its figures in Indonesian and English', () => {
    setLang('id');
    expect(alertText(capacity)).toBe(
      'Seminar Nasional sudah mencapai 90% kapasitas: 1.350 orang di dalam, kapasitas 1.500.',
    );
    expect(alertText({ ...capacity, capacity: { ...capacity.capacity!, percent: 100, inside: 1500 } })).toBe(
      'Seminar Nasional penuh: 1.500 orang di dalam, kapasitas 1.500. Gerbang menolak masuk sampai ada yang keluar.',
    );
    setLang('en');
    expect(alertText(capacity)).toBe(
      'Seminar Nasional has reached 90% of its capacity: 1,350 inside, capacity 1,500.',
    );
  });

  it('words a conflict from its two scans', () => {
    setLang('id');
    const conflict: Alert = {
      alert_id: 10,
      kind: 'conflict',
      at: 0,
      text: 'Ticket 1042 was admitted twice: first at Gerbang A (official), then at Gerbang B while it was offline.',
      scans: [scan('Gerbang A'), scan('Gerbang B')],
    };
    expect(alertText(conflict)).toBe(
      'Tiket 1042 masuk dua kali: pertama di Gerbang A (resmi), lalu di Gerbang B saat gerbang itu luring.',
    );
  });

  it('shows the relay’s text when it cannot word the alert itself', () => {
    setLang('id');
    // An older relay: no figures.
    expect(alertText({ ...capacity, capacity: undefined })).toBe(capacity.text);
    // A conflict without both scans.
    expect(alertText({ ...capacity, kind: 'conflict', scans: [scan('Gerbang A')] })).toBe(capacity.text);
    // A kind this UI does not know.
    expect(alertText({ ...capacity, kind: 'clock_skew', text: 'Gerbang C is 5 minutes behind.' })).toBe(
      'Gerbang C is 5 minutes behind.',
    );
  });
});
