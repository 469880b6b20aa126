// Telling a keyboard-wedge barcode scanner from a person at the keyboard: a TypeScript port of
// crates/gate/src/wedge.rs, with the same constants and the same behaviour (the table tests in
// wedge.test.ts are ported from the Rust tests at the end of that file).
//
// USB scanners in "keyboard wedge" mode type what they read as keystrokes a few milliseconds
// apart, usually followed by Enter or Tab, sometimes by nothing at all; a person types the same
// keys tens to hundreds of milliseconds apart. `Wedge` tells the two apart from the timing alone,
// so the scan screen accepts scans without a focused text field and without a scan firing
// keyboard shortcuts or typing into a field.
//
// This is pure logic: no DOM, no clock. Every key comes with the caller's timestamp in
// milliseconds (any monotonic origin), and the caller calls `poll` with the current time, at or
// after `deadline()`, to end a code that had no Enter or Tab.
//
// How keys are judged (as in Rust):
// * A printable key is held when it arrives (`'held'`): it may be the first key of a scan, and
//   nothing can know yet. The UI must not act on it until it comes back as `typed` output (then
//   it was a person) or disappears into a `scan`.
// * A key within MAX_KEY_GAP_MS of the previous held key makes the held keys a burst; from then
//   on every key of it is `'scan'`.
// * Inside a burst, one gap up to HICCUP_GAP_MS is tolerated (a USB hiccup); a second slow gap,
//   or any longer silence, ends the code before the slow key.
// * A burst ends with Enter or Tab (consumed, `'scan'`), or with a pause found by `poll` or by
//   the next key. It is a scan only with at least MIN_CODE_LEN characters; a shorter one comes
//   back as typed text.
// * Enter, Tab and other keys that do not end a burst are `'pass'`: the UI handles them as usual,
//   after any typed output returned with them.

/** Keys closer than this (ms) belong to one burst. */
export const MAX_KEY_GAP_MS = 30;
/** The longest gap tolerated once inside a burst, for a scanner that stalls on USB. */
export const HICCUP_GAP_MS = 120;
/** A burst shorter than this is a person rolling over keys, not a scan. */
export const MIN_CODE_LEN = 4;
/** Bursts are capped at this many characters; the excess is dropped. */
export const MAX_CODE_LEN = 4096;

/** A key as the wedge needs to know it: one character, Enter, Tab, or any other key. */
export type Key = { char: string } | 'enter' | 'tab' | 'other';

/** What the UI should do with the key it just passed in. */
export type KeyUse = 'scan' | 'held' | 'pass';

/** How a scan ended. */
export type End = 'enter' | 'tab' | 'pause' | 'other_key';

/** What the wedge found: a scanner's code, or keys a person typed (to act on now, in order). */
export type Output = { scan: string; end: End } | { typed: string };

/** The result of one key. */
export interface Fed {
  key: KeyUse;
  /** Anything this key completed, in order; earlier keys' typed text comes first. */
  out: Output[];
}

export interface WedgeConfig {
  maxKeyGapMs: number;
  hiccupGapMs: number;
  minCodeLen: number;
}

export const DEFAULT_CONFIG: Readonly<WedgeConfig> = {
  maxKeyGapMs: MAX_KEY_GAP_MS,
  hiccupGapMs: HICCUP_GAP_MS,
  minCodeLen: MIN_CODE_LEN,
};

/** The keyboard-wedge state machine; see the comment at the top of this file. */
export class Wedge {
  private readonly config: WedgeConfig;
  /** Characters held since the last flush (a burst, or one key that might start one). */
  private held: string[] = [];
  /** When the last held key arrived; null when nothing is held. */
  private lastAt: number | null = null;
  /** When the first held key arrived: where a scan's latency is measured from. */
  private firstAt: number | null = null;
  /** The held keys came fast enough to be a scanner. */
  private burst = false;
  /** This burst has already had its one slow gap. */
  private hiccupUsed = false;

  constructor(config: Partial<WedgeConfig> = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
  }

  /** The time at which `poll` will have something to flush, if anything is held. */
  deadline(): number | null {
    return this.lastAt === null ? null : this.lastAt + this.allowedGap();
  }

  /** When the first of the held keys arrived (null when nothing is held). Read it before
   * feeding the key that ends a scan to learn when that scan started. */
  heldSince(): number | null {
    return this.firstAt;
  }

  /** Flushes what a pause has ended by `now`: a scan without suffix, or a person's keys. */
  poll(now: number): Output[] {
    const out: Output[] = [];
    const deadline = this.deadline();
    if (deadline !== null && now > deadline) {
      this.flush('pause', out);
    }
    return out;
  }

  /** Feeds one key pressed at `at` (milliseconds). */
  key(key: Key, at: number): Fed {
    const out: Output[] = [];
    // One hiccup-sized gap inside a burst is forgiven; anything slower ends what is held
    // before this key is looked at. Time going backwards counts as no gap, as in Rust's
    // saturating subtraction.
    if (this.lastAt !== null) {
      const gap = Math.max(0, at - this.lastAt);
      if (gap > this.allowedGap()) {
        this.flush('pause', out);
      } else if (gap > this.config.maxKeyGapMs) {
        this.hiccupUsed = true;
      }
    }
    let use: KeyUse;
    if (typeof key === 'object') {
      if (this.lastAt !== null) {
        this.burst = true;
      }
      if (this.held.length < MAX_CODE_LEN) {
        this.held.push(key.char);
      }
      if (this.firstAt === null) {
        this.firstAt = at;
      }
      this.lastAt = at;
      use = this.burst ? 'scan' : 'held';
    } else if (key === 'enter' || key === 'tab') {
      use = this.flush(key, out) ? 'scan' : 'pass';
    } else {
      this.flush('other_key', out);
      use = 'pass';
    }
    return { key: use, out };
  }

  private allowedGap(): number {
    return this.burst && !this.hiccupUsed ? this.config.hiccupGapMs : this.config.maxKeyGapMs;
  }

  /** Ends what is held: a scan if it was a long enough burst, typed text otherwise. Returns
   * whether it was a scan. */
  private flush(end: End, out: Output[]): boolean {
    const text = this.held.join('');
    const scan = this.burst && this.held.length >= this.config.minCodeLen;
    this.held = [];
    this.lastAt = null;
    this.firstAt = null;
    this.burst = false;
    this.hiccupUsed = false;
    if (text.length === 0) {
      return false;
    }
    out.push(scan ? { scan: text, end } : { typed: text });
    return scan;
  }
}

/** How a DOM keyboard event maps to a wedge key; null for keys the wedge must not see at all
 * (modifiers alone: a scanner presses Shift for every capital letter, and composing IME text). */
export function keyOf(event: {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  isComposing?: boolean;
}): Key | null {
  if (event.isComposing) {
    return null;
  }
  switch (event.key) {
    case 'Shift':
    case 'Control':
    case 'Alt':
    case 'AltGraph':
    case 'Meta':
    case 'CapsLock':
    case 'NumLock':
    case 'Dead':
    case 'Unidentified':
      return null;
    case 'Enter':
      return 'enter';
    case 'Tab':
      return 'tab';
  }
  // A printable key is one character (a code point; `key` can hold a surrogate pair). With
  // Ctrl, Alt or Meta it is a shortcut, never part of a code.
  if ([...event.key].length === 1 && !event.ctrlKey && !event.altKey && !event.metaKey) {
    return { char: event.key };
  }
  return 'other';
}
