// A distinct sound per kind of verdict, synthesised with WebAudio (no sound files to ship):
// staff who are looking at the next person in the queue still hear what happened.
//
// * admit: a bright rising two-tone (C6 then G6).
// * exit: one soft falling tone.
// * used: three quick mid beeps (the "look again" pattern).
// * invalid: a long low buzz (square wave): unknown, damaged or forged code.
// * refuse: two short low buzzes: a valid ticket refused by a rule (type, time, revoked).
// * full: a slow low-high-low warble: the hall is at capacity.

import type { Sound } from './verdicts';

/** One note: frequency (Hz), start and length (seconds from the sound's start), waveform. */
export interface Note {
  hz: number;
  at: number;
  length: number;
  wave: OscillatorType;
}

const sine = (hz: number, at: number, length: number): Note => ({ hz, at, length, wave: 'sine' });
const buzz = (hz: number, at: number, length: number): Note => ({ hz, at, length, wave: 'square' });

/** The notes of each sound; exported for tests (every sound is distinct). */
export const SOUNDS: Record<Sound, Note[]> = {
  admit: [sine(1047, 0, 0.11), sine(1568, 0.12, 0.18)],
  exit: [sine(784, 0, 0.12), sine(523, 0.11, 0.16)],
  used: [sine(880, 0, 0.08), sine(880, 0.12, 0.08), sine(880, 0.24, 0.08)],
  invalid: [buzz(140, 0, 0.55)],
  refuse: [buzz(180, 0, 0.16), buzz(180, 0.22, 0.16)],
  full: [sine(392, 0, 0.18), sine(523, 0.2, 0.18), sine(392, 0.4, 0.28)],
};

let context: AudioContext | null = null;

function audio(): AudioContext | null {
  if (context) {
    return context;
  }
  const Ctor = globalThis.AudioContext;
  if (typeof Ctor !== 'function') {
    return null;
  }
  try {
    context = new Ctor();
  } catch {
    // No audio device: sounds are a courtesy, the screen says everything.
    return null;
  }
  return context;
}

/** Plays `sound` now. Never throws: a gate without speakers still works. */
export function play(sound: Sound): void {
  const ctx = audio();
  if (!ctx) {
    return;
  }
  if (ctx.state === 'suspended') {
    void ctx.resume().catch(() => {});
  }
  const start = ctx.currentTime + 0.01;
  for (const note of SOUNDS[sound]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = note.wave;
    osc.frequency.value = note.hz;
    // A square wave is much louder than a sine at the same gain.
    const peak = note.wave === 'square' ? 0.12 : 0.3;
    const t0 = start + note.at;
    const t1 = t0 + note.length;
    // Short ramps in and out, so notes do not click.
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(peak, t0 + 0.01);
    gain.gain.setValueAtTime(peak, t1 - 0.02);
    gain.gain.linearRampToValueAtTime(0, t1);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t1 + 0.01);
  }
}
