import { describe, expect, it } from 'vitest';
import { LANGS, translate } from './i18n';
import { SOUNDS } from './sounds';
import { isAccepted, lookOf, VERDICT_KINDS } from './verdicts';

describe('verdict presentation', () => {
  it('covers the fourteen Rust verdict kinds once each', () => {
    expect(VERDICT_KINDS).toHaveLength(14);
    expect(new Set(VERDICT_KINDS).size).toBe(14);
  });

  it.each(VERDICT_KINDS)('%s has a tone, an icon, a sound and words in both languages', (kind) => {
    const look = lookOf(kind);
    expect(['admit', 'exit', 'used', 'refuse']).toContain(look.tone);
    expect(look.icon).toBeTruthy();
    expect(SOUNDS[look.sound].length).toBeGreaterThan(0);
    for (const language of LANGS) {
      expect(translate(language, look.title)).not.toMatch(/^verdict/);
      expect(translate(language, look.detail)).not.toMatch(/^verdictDetail/);
    }
    // The two languages say it differently (not an untranslated copy), except where the words
    // are the same in both.
    expect(translate('id', look.detail)).not.toBe(translate('en', look.detail));
  });

  it('gives every kind its own words', () => {
    for (const language of LANGS) {
      const titles = VERDICT_KINDS.map((k) => translate(language, lookOf(k).title));
      expect(new Set(titles).size).toBe(VERDICT_KINDS.length);
    }
  });

  it('never tells acceptance from refusal by colour alone: each tone has its own icons', () => {
    const iconsByTone = new Map<string, Set<string>>();
    for (const kind of VERDICT_KINDS) {
      const { tone, icon } = lookOf(kind);
      iconsByTone.set(tone, (iconsByTone.get(tone) ?? new Set()).add(icon));
    }
    const admitted = iconsByTone.get('admit')!;
    for (const [tone, icons] of iconsByTone) {
      if (tone !== 'admit') {
        for (const icon of icons) expect(admitted.has(icon)).toBe(false);
      }
    }
  });

  it('sounds the admitted verdict differently from every refusal', () => {
    const admit = JSON.stringify(SOUNDS[lookOf('admitted').sound]);
    for (const kind of VERDICT_KINDS.filter((k) => !isAccepted(k))) {
      expect(JSON.stringify(SOUNDS[lookOf(kind).sound])).not.toBe(admit);
    }
    const patterns = Object.values(SOUNDS).map((notes) => JSON.stringify(notes));
    expect(new Set(patterns).size).toBe(patterns.length);
  });

  it('treats admitted and exit recorded as accepted, the rest as not', () => {
    expect(VERDICT_KINDS.filter(isAccepted)).toEqual(['admitted', 'exit_recorded']);
    expect(lookOf('admitted').tone).toBe('admit');
    expect(lookOf('exit_recorded').tone).toBe('exit');
    expect(lookOf('already_used').tone).toBe('used');
    expect(lookOf('forged').tone).toBe('refuse');
  });
});
