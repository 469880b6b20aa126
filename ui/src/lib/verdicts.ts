// How each verdict looks and sounds. Colour is never the only cue: every tone has its own
// icon shape (a circle with a tick, a square with an arrow, a triangle, an octagon), its own
// words, and its own sound, so colour-blind staff and staff who are not looking all tell them
// apart.

import type { VerdictKind } from './bindings/VerdictKind';
import type { MessageKey } from './i18n';

/** The four looks a verdict can have. */
export type Tone = 'admit' | 'exit' | 'used' | 'refuse';

/** The icon drawn for a verdict (see VerdictIcon.svelte). */
export type Icon =
  | 'check'
  | 'exit'
  | 'repeat'
  | 'question'
  | 'broken'
  | 'forged'
  | 'ban'
  | 'calendar'
  | 'gate'
  | 'clock'
  | 'hourglass'
  | 'full'
  | 'nobody';

/** The sound played for a verdict (see sounds.ts). */
export type Sound = 'admit' | 'exit' | 'used' | 'invalid' | 'refuse' | 'full';

export interface Look {
  tone: Tone;
  icon: Icon;
  sound: Sound;
  title: MessageKey;
  detail: MessageKey;
}

/** Every verdict kind, in the Rust order (`VerdictKind::ALL`). */
export const VERDICT_KINDS: readonly VerdictKind[] = [
  'admitted',
  'exit_recorded',
  'already_used',
  'unknown_ticket',
  'malformed',
  'forged',
  'revoked',
  'wrong_event',
  'type_not_allowed',
  'not_yet_valid',
  'expired',
  'entries_exhausted',
  'hall_full',
  'not_inside',
];

// A `Record` over the union: a new Rust verdict kind (after regenerating the bindings) is a
// type error here until it gets its look.
const LOOKS: Record<VerdictKind, Omit<Look, 'title' | 'detail'>> = {
  admitted: { tone: 'admit', icon: 'check', sound: 'admit' },
  exit_recorded: { tone: 'exit', icon: 'exit', sound: 'exit' },
  already_used: { tone: 'used', icon: 'repeat', sound: 'used' },
  unknown_ticket: { tone: 'refuse', icon: 'question', sound: 'invalid' },
  malformed: { tone: 'refuse', icon: 'broken', sound: 'invalid' },
  forged: { tone: 'refuse', icon: 'forged', sound: 'invalid' },
  revoked: { tone: 'refuse', icon: 'ban', sound: 'refuse' },
  wrong_event: { tone: 'refuse', icon: 'calendar', sound: 'refuse' },
  type_not_allowed: { tone: 'refuse', icon: 'gate', sound: 'refuse' },
  not_yet_valid: { tone: 'refuse', icon: 'clock', sound: 'refuse' },
  expired: { tone: 'refuse', icon: 'hourglass', sound: 'refuse' },
  entries_exhausted: { tone: 'used', icon: 'repeat', sound: 'used' },
  hall_full: { tone: 'refuse', icon: 'full', sound: 'full' },
  not_inside: { tone: 'used', icon: 'nobody', sound: 'refuse' },
};

/** The look of `kind`: tone, icon, sound and the i18n keys of its words. */
export function lookOf(kind: VerdictKind): Look {
  return {
    ...LOOKS[kind],
    title: `verdict.${kind}` as MessageKey,
    detail: `verdictDetail.${kind}` as MessageKey,
  };
}

/** Whether the holder got through (admitted in, or let out). */
export function isAccepted(kind: VerdictKind): boolean {
  return kind === 'admitted' || kind === 'exit_recorded';
}
