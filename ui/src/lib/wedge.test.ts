// The Rust tests of crates/gate/src/wedge.rs, ported one for one (same names, same recorded key
// streams, same expectations), so the two state machines cannot drift apart unnoticed.

import { describe, expect, it } from 'vitest';
import {
  HICCUP_GAP_MS,
  keyOf,
  MAX_CODE_LEN,
  MAX_KEY_GAP_MS,
  MIN_CODE_LEN,
  Wedge,
  type End,
  type Key,
  type KeyUse,
  type Output,
} from './wedge';

type Stream = [number, Key][];

const ch = (c: string): Key => ({ char: c });

/** Feeds a recorded key stream, then polls at `endAt`; one line per key and one for the poll,
 * like the Rust transcript. */
function run(keys: Stream, endAt: number): string[] {
  const wedge = new Wedge();
  const log = keys.map(([at, key]) => {
    const fed = wedge.key(key, at);
    return `${at} ${JSON.stringify(key)} -> ${fed.key} ${JSON.stringify(fed.out)}`;
  });
  log.push(`poll ${endAt} -> ${JSON.stringify(wedge.poll(endAt))}`);
  return log;
}

/** Keys of `text` starting at `start`, `gap` ms apart, and the time after the last one. */
function typed(start: number, gap: number, text: string): [Stream, number] {
  const chars = [...text];
  const keys = chars.map((c, i): [number, Key] => [start + i * gap, ch(c)]);
  return [keys, start + chars.length * gap];
}

function outputs(keys: Stream, endAt: number): [KeyUse, Output[]][] {
  const wedge = new Wedge();
  const all = keys.map(([at, key]): [KeyUse, Output[]] => {
    const fed = wedge.key(key, at);
    return [fed.key, fed.out];
  });
  all.push(['pass', wedge.poll(endAt)]);
  return all;
}

function found(keys: Stream, endAt: number): Output[] {
  return outputs(keys, endAt).flatMap(([, out]) => out);
}

const scan = (text: string, end: End): Output => ({ scan: text, end });

describe('wedge (port of crates/gate/src/wedge.rs)', () => {
  it('has the same constants as the Rust side', () => {
    expect([MAX_KEY_GAP_MS, HICCUP_GAP_MS, MIN_CODE_LEN, MAX_CODE_LEN]).toEqual([30, 120, 4, 4096]);
  });

  it('scanner_burst_with_enter', () => {
    // Recorded from a Honeywell-style scanner: 4 ms between keys, Enter 5 ms later.
    const [keys, next] = typed(1_000, 4, 'GB1-ABC');
    keys.push([next + 1, 'enter']);
    expect(run(keys, next + 500)).toEqual([
      '1000 {"char":"G"} -> held []',
      '1004 {"char":"B"} -> scan []',
      '1008 {"char":"1"} -> scan []',
      '1012 {"char":"-"} -> scan []',
      '1016 {"char":"A"} -> scan []',
      '1020 {"char":"B"} -> scan []',
      '1024 {"char":"C"} -> scan []',
      '1029 "enter" -> scan [{"scan":"GB1-ABC","end":"enter"}]',
      'poll 1528 -> []',
    ]);
  });

  it('scanner_burst_with_tab', () => {
    const [keys, next] = typed(50, 2, 'TIX42');
    keys.push([next, 'tab']);
    expect(found(keys, next + 1_000)).toEqual([scan('TIX42', 'tab')]);
    expect(outputs(keys, 0)[5][0]).toBe('scan'); // the Tab is consumed
  });

  it('scanner_burst_without_suffix_ends_on_pause', () => {
    const [keys, next] = typed(0, 3, 'EXT-200');
    const wedge = new Wedge();
    for (const [at, key] of keys) {
      expect(wedge.key(key, at).out).toEqual([]);
    }
    const deadline = wedge.deadline()!;
    expect(deadline).toBe(next - 3 + HICCUP_GAP_MS);
    expect(wedge.poll(deadline)).toEqual([]); // not before the deadline has passed
    expect(wedge.poll(deadline + 1)).toEqual([scan('EXT-200', 'pause')]);
    expect(wedge.deadline()).toBeNull();
  });

  it('scanner_burst_without_suffix_ends_at_the_next_key', () => {
    // Nobody polled; the next key, long after, still ends the code first.
    const [keys, next] = typed(0, 3, 'EXT-200');
    keys.push([next + 2_000, ch('q')]);
    const all = outputs(keys, next + 2_100);
    expect(all[7]).toEqual(['held', [scan('EXT-200', 'pause')]]);
    expect(all[8][1]).toEqual([{ typed: 'q' }]);
  });

  it('person_typing_slowly_is_not_a_scan', () => {
    // Recorded: a person typing "budi" to search, 110–180 ms between keys, then Enter.
    const keys: Stream = [
      [0, ch('b')],
      [140, ch('u')],
      [250, ch('d')],
      [430, ch('i')],
      [600, 'enter'],
    ];
    expect(run(keys, 700)).toEqual([
      '0 {"char":"b"} -> held []',
      '140 {"char":"u"} -> held [{"typed":"b"}]',
      '250 {"char":"d"} -> held [{"typed":"u"}]',
      '430 {"char":"i"} -> held [{"typed":"d"}]',
      '600 "enter" -> pass [{"typed":"i"}]',
      'poll 700 -> []',
    ]);
  });

  it('persons_key_comes_back_after_the_gap', () => {
    const wedge = new Wedge();
    expect(wedge.key(ch('s'), 10).key).toBe('held');
    expect(wedge.poll(10 + MAX_KEY_GAP_MS)).toEqual([]);
    expect(wedge.poll(11 + MAX_KEY_GAP_MS)).toEqual([{ typed: 's' }]);
  });

  it('person_typing_then_scanner_interrupts', () => {
    // "ag" typed by hand, then a scan starts 90 ms after the last key.
    const keys: Stream = [
      [0, ch('a')],
      [160, ch('g')],
    ];
    const [burst, next] = typed(250, 5, 'GB1-XYZ');
    keys.push(...burst, [next, 'enter']);
    expect(found(keys, next + 1_000)).toEqual([
      { typed: 'a' },
      { typed: 'g' },
      scan('GB1-XYZ', 'enter'),
    ]);
  });

  it('one_usb_hiccup_inside_a_burst_is_tolerated', () => {
    // Recorded: a scanner that stalled 85 ms in the middle of a code.
    const [keys, mid] = typed(0, 4, 'ABCD');
    const [rest, next] = typed(mid - 4 + 85, 4, 'EFGH');
    keys.push(...rest, [next, 'enter']);
    expect(found(keys, next + 500)).toEqual([scan('ABCDEFGH', 'enter')]);
  });

  it('a_second_slow_gap_ends_the_code', () => {
    const [keys, a] = typed(0, 4, 'ABCD');
    const [rest1, b] = typed(a - 4 + 85, 4, 'EFGH');
    const [rest2, next] = typed(b - 4 + 85, 4, 'IJKL');
    keys.push(...rest1, ...rest2, [next, 'enter']);
    expect(found(keys, next + 500)).toEqual([scan('ABCDEFGH', 'pause'), scan('IJKL', 'enter')]);
  });

  it('bursts_shorter_than_the_minimum_are_typed', () => {
    // Two keys rolled over quickly by a person, then Enter: typed text, Enter passes.
    const rolled: Stream = [
      [0, ch('o')],
      [12, ch('k')],
      [20, 'enter'],
    ];
    expect(outputs(rolled, 500)[2]).toEqual(['pass', [{ typed: 'ok' }]]);
    // The minimum itself is a scan.
    const [keys, next] = typed(0, 3, '7'.repeat(MIN_CODE_LEN));
    keys.push([next, 'enter']);
    expect(found(keys, next + 500)).toEqual([scan('7777', 'enter')]);
    // And a configured minimum is honoured.
    const wedge = new Wedge({ minCodeLen: 8 });
    for (const [at, key] of keys) {
      const fed = wedge.key(key, at);
      if (key === 'enter') {
        expect(fed.out).toEqual([{ typed: '7777' }]);
      }
    }
  });

  it('other_keys_end_a_burst_and_pass', () => {
    const [keys, next] = typed(0, 3, 'ABCDE');
    keys.push([next, 'other']);
    expect(outputs(keys, next + 500)[5]).toEqual(['pass', [scan('ABCDE', 'other_key')]]);
  });

  it('enter_alone_passes', () => {
    const fed = new Wedge().key('enter', 5);
    expect(fed.key).toBe('pass');
    expect(fed.out).toEqual([]);
  });

  it('a_stuck_key_is_capped', () => {
    const wedge = new Wedge();
    for (let i = 0; i < MAX_CODE_LEN + 100; i++) {
      wedge.key(ch('x'), i);
    }
    const fed = wedge.key('enter', MAX_CODE_LEN + 100);
    expect(fed.out).toHaveLength(1);
    const [out] = fed.out;
    expect('scan' in out && out.scan.length).toBe(MAX_CODE_LEN);
  });

  it('time_going_backwards_does_not_panic', () => {
    const wedge = new Wedge();
    wedge.key(ch('a'), 100);
    wedge.key(ch('b'), 50);
    wedge.key(ch('c'), 0);
    expect(wedge.poll(0)).toEqual([]);
    expect(wedge.poll(Number.MAX_SAFE_INTEGER)).toHaveLength(1);
  });
});

describe('wedge additions for the UI', () => {
  it('remembers when the held keys started, for the scan latency', () => {
    const wedge = new Wedge();
    expect(wedge.heldSince()).toBeNull();
    wedge.key(ch('A'), 500);
    wedge.key(ch('B'), 504);
    expect(wedge.heldSince()).toBe(500);
    wedge.key(ch('C'), 508);
    wedge.key(ch('D'), 512);
    wedge.key('enter', 514);
    expect(wedge.heldSince()).toBeNull();
  });

  it.each([
    [{ key: 'a' }, { char: 'a' }],
    [{ key: 'Z' }, { char: 'Z' }],
    [{ key: ' ' }, { char: ' ' }],
    [{ key: 'Enter' }, 'enter'],
    [{ key: 'Tab' }, 'tab'],
    [{ key: 'Shift' }, null],
    [{ key: 'CapsLock' }, null],
    [{ key: 'F1' }, 'other'],
    [{ key: 'Escape' }, 'other'],
    [{ key: 'Backspace' }, 'other'],
    [{ key: '1', altKey: true }, 'other'],
    [{ key: 'c', ctrlKey: true }, 'other'],
    [{ key: 'a', isComposing: true }, null],
  ])('maps the DOM key %j to %j', (event, expected) => {
    expect(keyOf({ ctrlKey: false, altKey: false, metaKey: false, ...event })).toEqual(expected);
  });
});
