// The wedge attached to a page: a scanner's keys never reach fields or shortcuts, a person's
// keys arrive where they were going.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachScanner } from './scanner';
import { MAX_KEY_GAP_MS } from './wedge';

let clock = 0;
let detach: () => void = () => {};
let scans: [string, number][] = [];
let stray: string[] = [];
let shortcuts: string[] = [];

function press(target: EventTarget, key: string, at: number): KeyboardEvent {
  clock = at;
  const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  return event;
}

function type(target: EventTarget, text: string, start: number, gap: number): number {
  [...text].forEach((c, i) => press(target, c, start + i * gap));
  return start + text.length * gap;
}

/** Lets the wedge's pause timer run at the clock it expects. */
function wait(ms: number) {
  clock += ms;
  vi.advanceTimersByTime(ms);
}

const onShortcut = (event: KeyboardEvent) => shortcuts.push(event.key);

beforeEach(() => {
  vi.useFakeTimers();
  document.body.innerHTML = '<input id="field" /><button id="button">ok</button>';
  scans = [];
  stray = [];
  shortcuts = [];
  clock = 1_000;
  detach = attachScanner(
    { onScan: (text, at) => scans.push([text, at]), onStrayText: (text) => void stray.push(text) },
    { now: () => clock, eventTime: () => clock },
  );
  window.addEventListener('keydown', onShortcut);
});

afterEach(() => {
  detach();
  window.removeEventListener('keydown', onShortcut);
  vi.useRealTimers();
});

describe('scanner on the page', () => {
  it('turns a fast burst sent to the body into one scan, swallowing every key', () => {
    const end = type(document.body, 'GB1-ABC', 1_000, 4);
    const enter = press(document.body, 'Enter', end);
    expect(scans).toEqual([['GB1-ABC', 1_000]]);
    expect(enter.defaultPrevented).toBe(true);
    expect(shortcuts).toEqual([]);
    expect(stray).toEqual([]);
  });

  it('ends a burst without suffix on the pause', () => {
    type(document.body, 'EXT-200', 1_000, 3);
    expect(scans).toEqual([]);
    wait(200);
    expect(scans).toEqual([['EXT-200', 1_000]]);
  });

  it('never types a scan into the focused field', () => {
    const field = document.getElementById('field') as HTMLInputElement;
    field.focus();
    const end = type(field, 'GB1-XYZ', 1_000, 5);
    press(field, 'Enter', end + 2);
    expect(field.value).toBe('');
    expect(scans.map(([text]) => text)).toEqual(['GB1-XYZ']);
  });

  it('gives a person’s slow typing back to the field it was aimed at', () => {
    const field = document.getElementById('field') as HTMLInputElement;
    const inputs: string[] = [];
    field.addEventListener('input', () => inputs.push(field.value));
    type(field, 'budi', 1_000, 150);
    wait(MAX_KEY_GAP_MS + 5);
    expect(field.value).toBe('budi');
    expect(inputs).toEqual(['b', 'bu', 'bud', 'budi']);
    expect(scans).toEqual([]);
  });

  it('hands typing with no field focused to the screen, and lets Enter and F-keys through', () => {
    type(document.body, 'ab', 1_000, 200);
    const enter = press(document.body, 'Enter', 1_500);
    expect(stray).toEqual(['a', 'b']);
    expect(enter.defaultPrevented).toBe(false);
    press(document.body, 'F2', 2_000);
    expect(shortcuts).toEqual(['Enter', 'F2']);
  });

  it('lets a space press a button', () => {
    const button = document.getElementById('button')!;
    const space = press(button, ' ', 1_000);
    expect(space.defaultPrevented).toBe(false);
    expect(shortcuts).toEqual([' ']);
  });

  it('ignores modifier keys, so a scanner’s Shift does not split a code', () => {
    let at = 1_000;
    for (const c of 'AB-12') {
      if (c >= 'A' && c <= 'Z') press(document.body, 'Shift', at);
      press(document.body, c, at);
      at += 3;
    }
    press(document.body, 'Enter', at);
    expect(scans.map(([text]) => text)).toEqual(['AB-12']);
  });

  it('stops listening when detached', () => {
    detach();
    const end = type(document.body, 'GB1-ABC', 1_000, 4);
    press(document.body, 'Enter', end);
    expect(scans).toEqual([]);
    expect(shortcuts).toHaveLength(8);
  });
});

describe('scanner rescue of held-up first keys', () => {
  it('puts first keys that came late back in front of the scan, out of the field', () => {
    // "X" arrives 60 ms before the rest of the burst (the driver or USB stalled on it).
    press(document.body, 'X', 1_000);
    const end = type(document.body, 'YZ-1234', 1_060, 3);
    press(document.body, 'Enter', end);
    expect(stray).toEqual(['X']);
    expect(scans).toEqual([['XYZ-1234', 1_060]]);
  });

  it('takes them back out of a focused field too', () => {
    const field = document.getElementById('field') as HTMLInputElement;
    field.focus();
    press(field, 'G', 1_000);
    press(field, 'B', 1_045);
    const end = type(field, '1-ABCD', 1_090, 3);
    press(field, 'Enter', end);
    expect(field.value).toBe('');
    expect(scans).toEqual([['GB1-ABCD', 1_090]]);
  });

  it('leaves a person’s typing alone when the scan comes later than RESCUE_MS', () => {
    const field = document.getElementById('field') as HTMLInputElement;
    field.focus();
    press(field, 'a', 1_000);
    wait(MAX_KEY_GAP_MS + 5);
    const end = type(field, 'GB1-XYZ', 1_250, 5);
    press(field, 'Enter', end);
    expect(field.value).toBe('a');
    expect(scans).toEqual([['GB1-XYZ', 1_250]]);
  });
});
