// The keyboard wedge attached to the DOM: listens to every keydown before anything else does
// (window, capture phase), feeds the wedge, swallows the keys of a scan (so a scanner never
// fires a shortcut or types into a field), and gives a person's keys back where they were
// going once the wedge knows they were typed by hand.

import { keyOf, Wedge, type Output } from './wedge';

export interface ScannerHooks {
  /** A scanner typed `text`; its first key arrived at `startedAt` (performance.now() time). */
  onScan(text: string, startedAt: number): void;
  /** A person typed `text` while focus was on no text field (the scan screen puts it into its
   * manual entry field). Returns the field it went into, if any. */
  onStrayText?(text: string): HTMLInputElement | HTMLTextAreaElement | null | void;
}

/** Typed text whose last key came at most this long (ms) before a scan started is taken to be
 * the scan's own first keys, held up on their way (a stalled USB report, a busy page, a
 * test driver sending keys one by one): it is taken back out of the field it went into and put
 * in front of the scan. A person who types and then scans within this time gets a code that
 * the ticket check refuses, instead of a code with its start missing; the same trade the wedge
 * makes at MAX_KEY_GAP_MS, over a slightly longer time. */
export const RESCUE_MS = 100;

/** A text field keys can be given back to. */
function editable(target: EventTarget | null): HTMLInputElement | HTMLTextAreaElement | null {
  if (target instanceof HTMLTextAreaElement && !target.readOnly && !target.disabled) {
    return target;
  }
  if (
    target instanceof HTMLInputElement &&
    !target.readOnly &&
    !target.disabled &&
    ['text', 'search', 'url', 'tel', 'email', 'password', 'number', ''].includes(target.type)
  ) {
    return target;
  }
  return null;
}

/** Types `text` into `field` at its caret, as the keys would have, and tells listeners. */
export function insertText(field: HTMLInputElement | HTMLTextAreaElement, text: string): void {
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  field.setRangeText(text, start, end, 'end');
  field.dispatchEvent(new Event('input', { bubbles: true }));
}

/** The time of a key event on the performance.now() timeline. Event timestamps are on it in
 * current engines and say when the key arrived even if the page was busy; an implausible one
 * (an old engine's epoch time) falls back to now. */
function timeOf(event: Event, now: number): number {
  const stamp = event.timeStamp;
  return Number.isFinite(stamp) && stamp > 0 && stamp <= now + 1 && stamp > now - 10_000
    ? stamp
    : now;
}

/** Watches the keyboard on `target` until the returned function is called. */
export function attachScanner(
  hooks: ScannerHooks,
  {
    target = window,
    now = () => performance.now(),
    eventTime = (event: Event) => timeOf(event, now()),
  }: {
    target?: Window;
    /** The current time, on the same timeline as key times. */
    now?: () => number;
    /** When a key arrived. */
    eventTime?: (event: Event) => number;
  } = {},
): () => void {
  const wedge = new Wedge();
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Where the held keys were going: the element focused when the first of them arrived.
  let heldTarget: EventTarget | null = null;

  // The latest text given back as typed: where it went, and when its last key arrived.
  let recent: { field: HTMLInputElement | HTMLTextAreaElement | null; text: string; lastKeyAt: number } | null =
    null;

  /** Takes `recent` back out of its field if it was typed just before a scan that started at
   * `startedAt`, and returns it ('' if nothing was taken). */
  const rescue = (startedAt: number): string => {
    const taken = recent;
    recent = null;
    if (!taken || startedAt - taken.lastKeyAt > RESCUE_MS || startedAt < taken.lastKeyAt) {
      return '';
    }
    const { field, text } = taken;
    if (!field) {
      return text; // it went nowhere
    }
    const end = field.selectionEnd ?? field.value.length;
    if (field.value.slice(0, end).endsWith(text)) {
      field.setRangeText('', end - text.length, end, 'end');
      field.dispatchEvent(new Event('input', { bubbles: true }));
      return text;
    }
    return '';
  };

  const deliver = (outs: Output[], startedAt: number | null, destination: EventTarget | null) => {
    for (const out of outs) {
      const at = startedAt ?? now();
      if ('scan' in out) {
        hooks.onScan(rescue(at) + out.scan, at);
        continue;
      }
      const field = editable(destination);
      let into: HTMLInputElement | HTMLTextAreaElement | null = null;
      if (field) {
        insertText(field, out.typed);
        into = field;
      } else {
        const went = hooks.onStrayText?.(out.typed);
        into = went instanceof HTMLInputElement || went instanceof HTMLTextAreaElement ? went : null;
      }
      // Typed text that follows the previous closely is one run, taken back whole.
      if (recent && recent.field === into && at - recent.lastKeyAt <= RESCUE_MS) {
        recent = { field: into, text: recent.text + out.typed, lastKeyAt: at };
      } else {
        recent = { field: into, text: out.typed, lastKeyAt: at };
      }
    }
  };

  const schedule = () => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    const deadline = wedge.deadline();
    if (deadline === null) {
      return;
    }
    timer = setTimeout(
      () => {
        timer = null;
        const startedAt = wedge.heldSince();
        deliver(wedge.poll(now()), startedAt, heldTarget);
        schedule();
      },
      Math.max(0, deadline - now()) + 1,
    );
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const key = keyOf(event);
    if (key === null) {
      return;
    }
    // A space with nothing held is a person pressing a button or ticking a box: a scan does
    // not start with a space, and a space given back later could not press the button.
    if (typeof key === 'object' && key.char === ' ' && wedge.deadline() === null) {
      return;
    }
    const at = eventTime(event);
    const startedAt = wedge.heldSince();
    const previousTarget = heldTarget;
    const fed = wedge.key(key, at);
    // Outputs completed by this key belong to the keys held before it.
    deliver(fed.out, startedAt, previousTarget);
    if (fed.key === 'pass') {
      heldTarget = null;
    } else {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (wedge.heldSince() !== null && (heldTarget === null || wedge.heldSince() === at)) {
        heldTarget = event.target;
      }
    }
    schedule();
  };

  target.addEventListener('keydown', onKeyDown, { capture: true });
  return () => {
    target.removeEventListener('keydown', onKeyDown, { capture: true });
    if (timer !== null) {
      clearTimeout(timer);
    }
  };
}
