import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appInfo, isIpcError } from './api';
import { keysOf, lang, LANGS, setLang, t, toggleLang, translate } from './i18n';

afterEach(() => {
  clearMocks();
});

describe('api', () => {
  it('appInfo invokes app_info and returns what the Rust side answers', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'app_info') {
        return { name: 'Gerbang', version: '9.8.7', core_version: '1.2.3' };
      }
      throw new Error(`unexpected command ${cmd}`);
    });

    await expect(appInfo()).resolves.toEqual({
      name: 'Gerbang',
      version: '9.8.7',
      core_version: '1.2.3',
    });
    expect(calls).toEqual(['app_info']);
  });

  it('a failed command rejects with the { kind, message } shape', async () => {
    mockIPC(() => {
      throw { kind: 'internal', message: 'The gate database is locked.' };
    });

    const error: unknown = await appInfo().catch((e: unknown) => e);
    expect(isIpcError(error)).toBe(true);
    expect(error).toEqual({ kind: 'internal', message: 'The gate database is locked.' });
    expect(isIpcError('a plain string')).toBe(false);
  });
});

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
    expect(translate('en', 'footer.version', { version: '0.1.0', core: '0.1.0' })).toBe(
      'Version 0.1.0 · core 0.1.0',
    );
    expect(translate('id', 'footer.version', { version: '0.1.0' })).toBe(
      'Versi 0.1.0 · inti {core}',
    );
  });

  it('has the same keys in every language', () => {
    for (const language of LANGS) {
      expect(keysOf(language)).toEqual(keysOf('id'));
    }
  });
});
