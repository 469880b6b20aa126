// Imported first (main.ts), before any library reads the browser's language.
//
// WebKitGTK reports the POSIX locale as `navigator.language` when the process runs with LANG=C
// or without LANG (a container, a kiosk session, CI): "C", which is not a language tag, so
// `new Intl.NumberFormat(navigator.language)` throws. uPlot does exactly that when its module
// loads, and the whole UI would stay blank. The UI's own texts choose their locale themselves
// (i18n.ts); this only gives libraries a tag they can use.

/** True when `tag` is a language tag `Intl` accepts. */
export function isUsableLocale(tag: string | undefined): boolean {
  if (!tag) {
    return false;
  }
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

/** Makes `navigator.language` (and `languages`) usable tags, falling back to `fallback`. */
export function fixNavigatorLanguage(fallback = 'id-ID'): void {
  if (typeof navigator === 'undefined' || isUsableLocale(navigator.language)) {
    return;
  }
  const usable = (navigator.languages ?? []).filter(isUsableLocale);
  const language = usable[0] ?? fallback;
  Object.defineProperty(navigator, 'language', { configurable: true, get: () => language });
  Object.defineProperty(navigator, 'languages', {
    configurable: true,
    get: () => (usable.length ? usable : [fallback]),
  });
}

fixNavigatorLanguage();
