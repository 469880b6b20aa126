// A deliberately small translation layer: two languages, flat keys, `{name}` placeholders.
//
// Bahasa Indonesia is the default, because gate staff are the first users; English is the other
// choice. Every key must exist in both tables: `Messages` below is derived from the Indonesian one
// and the English one must satisfy it, so a missing key is a type error, not a blank label.

import { get, writable } from 'svelte/store';

export type Lang = 'id' | 'en';

export const LANGS: readonly Lang[] = ['id', 'en'];

const id = {
  'app.name': 'Gerbang',
  'app.tagline': 'Check-in pintu masuk acara',
  'lang.switch': 'English',
  'lang.switchLabel': 'Ganti bahasa ke English',
  'scan.ready': 'Siap memindai',
  'scan.hint': 'Arahkan kode QR tiket ke kamera, atau pindai dengan pemindai barcode.',
  'scan.areaLabel': 'Area pemindaian',
  'footer.version': 'Versi {version} · inti {core}',
  'footer.versionUnknown': 'Versi tidak diketahui',
} as const;

export type MessageKey = keyof typeof id;
type Messages = Record<MessageKey, string>;

const en: Messages = {
  'app.name': 'Gerbang',
  'app.tagline': 'Event entrance check-in',
  'lang.switch': 'Bahasa Indonesia',
  'lang.switchLabel': 'Switch language to Bahasa Indonesia',
  'scan.ready': 'Ready to scan',
  'scan.hint': "Hold the ticket's QR code up to the camera, or scan it with the barcode scanner.",
  'scan.areaLabel': 'Scanning area',
  'footer.version': 'Version {version} · core {core}',
  'footer.versionUnknown': 'Version unknown',
};

const tables: Record<Lang, Messages> = { id, en };

const STORAGE_KEY = 'gerbang.lang';

function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGS as readonly string[]).includes(value);
}

function storedLang(): Lang {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return isLang(value) ? value : 'id';
  } catch {
    // Storage can be unavailable (private mode, tests); the default is fine then.
    return 'id';
  }
}

/** The current language. Components re-render on change with `{#key $lang}`. */
export const lang = writable<Lang>(storedLang());

/** Sets the language and remembers it for the next start. */
export function setLang(next: Lang): void {
  lang.set(next);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembering is harmless.
  }
  if (typeof document !== 'undefined') {
    document.documentElement.lang = next;
  }
}

/** Switches between Bahasa Indonesia and English. */
export function toggleLang(): void {
  setLang(get(lang) === 'id' ? 'en' : 'id');
}

/** The text for `key` in `language`, with `{name}` placeholders filled from `vars`. */
export function translate(
  language: Lang,
  key: MessageKey,
  vars: Record<string, string | number> = {},
): string {
  return tables[language][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** The text for `key` in the current language. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  return translate(get(lang), key, vars);
}

/** Every key of every language, for tests that check the tables agree. */
export function keysOf(language: Lang): string[] {
  return Object.keys(tables[language]).sort();
}
