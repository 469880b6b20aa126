// The keyboard wedge attached to the DOM: listens to every keydown before anything else does
// (window, capture phase), feeds the wedge, swallows the keys of a scan (so a scanner never
// fires a shortcut or types into a field), and gives a person's keys back where they were
// going once the wedge knows they were typed by hand.

import { keyOf, Wedge, type Output } from './wedge';

export interface ScannerHooks {
  /** A scanner typed `text`; its first key arrived at `startedAt` (performance.now() time). */
  onScan(text: string, startedAt: number): void;
  /** A person typed `text` while focus was on no text field (the scan screen puts it into its
   * manual entry field). */
  onStrayText?(text: string): void;
}

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

  const deliver = (outs: Output[], startedAt: number | null, destination: EventTarget | null) => {
    for (const out of outs) {
      if ('scan' in out) {
        hooks.onScan(out.scan, startedAt ?? now());
      } else {
        const field = editable(destination);
        if (field) {
          insertText(field, out.typed);
        } else {
          hooks.onStrayText?.(out.typed);
        }
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
