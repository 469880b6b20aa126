import { afterEach, describe, expect, it } from 'vitest';
import { fixNavigatorLanguage, isUsableLocale } from './locale';

afterEach(() => {
  // Back to happy-dom's own values.
  delete (navigator as unknown as Record<string, unknown>).language;
  delete (navigator as unknown as Record<string, unknown>).languages;
});

function pretend(language: string, languages: string[]) {
  Object.defineProperty(navigator, 'language', { configurable: true, get: () => language });
  Object.defineProperty(navigator, 'languages', { configurable: true, get: () => languages });
}

describe('navigator language', () => {
  it('tells language tags from the POSIX locale', () => {
    expect(isUsableLocale('id-ID')).toBe(true);
    expect(isUsableLocale('C')).toBe(false);
    expect(isUsableLocale('')).toBe(false);
    expect(isUsableLocale(undefined)).toBe(false);
  });

  it('replaces "C" (WebKitGTK under LANG=C) with a usable tag, so Intl works', () => {
    pretend('C', ['C']);
    expect(() => new Intl.NumberFormat(navigator.language)).toThrow(RangeError);
    fixNavigatorLanguage();
    expect(navigator.language).toBe('id-ID');
    expect(navigator.languages).toEqual(['id-ID']);
    expect(() => new Intl.NumberFormat(navigator.language)).not.toThrow();
  });

  it('prefers a usable tag from navigator.languages, and leaves a good language alone', () => {
    pretend('C', ['C', 'en-GB']);
    fixNavigatorLanguage();
    expect(navigator.language).toBe('en-GB');
    pretend('en-US', ['en-US']);
    fixNavigatorLanguage();
    expect(navigator.language).toBe('en-US');
  });
});
