import { beforeEach, describe, expect, it } from 'vitest';
import {
  formatNumber,
  keysOf,
  lang,
  LANGS,
  placeholdersOf,
  setLang,
  t,
  toggleLang,
  translate,
  type MessageKey,
} from './i18n';

describe('i18n', () => {
  beforeEach(() => {
    setLang('id');
  });

  it('speaks Bahasa Indonesia by default and switches to English and back', () => {
    localStorage.clear();
    expect(t('scan.ready')).toBe('Siap memindai');
    toggleLang();
    expect(t('scan.ready')).toBe('Ready to scan');
    toggleLang();
    expect(t('scan.ready')).toBe('Siap memindai');
  });

  it('remembers the chosen language and sets the document language', () => {
    setLang('en');
    expect(localStorage.getItem('gerbang.lang')).toBe('en');
    expect(document.documentElement.lang).toBe('en');
    let current = '';
    lang.subscribe((value) => (current = value))();
    expect(current).toBe('en');
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'footer.version', { version: '0.1.0' })).toBe('Version 0.1.0');
    expect(translate('id', 'verdictDetail.already_usedAt', { time: '19:42' })).toBe(
      'Sudah masuk pukul 19:42 di {gate}.',
    );
  });

  it('has the same keys in every language', () => {
    for (const language of LANGS) {
      expect(keysOf(language)).toEqual(keysOf('id'));
    }
  });

  it('uses the same placeholders in every language, and no text is empty', () => {
    for (const key of keysOf('id') as MessageKey[]) {
      for (const language of LANGS) {
        expect(placeholdersOf(language, key), `${language} ${key}`).toEqual(placeholdersOf('id', key));
        expect(translate(language, key).trim(), `${language} ${key}`).not.toBe('');
      }
    }
  });

  it('formats counts with the language’s thousands separator', () => {
    expect(formatNumber(100_000)).toBe('100.000');
    setLang('en');
    expect(formatNumber(100_000)).toBe('100,000');
  });
});
