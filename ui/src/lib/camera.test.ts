// The camera's status in the user's language: the gate's own English words for English users,
// the common problems worded in Indonesian.

import { describe, expect, it } from 'vitest';
import type { CameraStatus } from './bindings/CameraStatus';
import { cameraLabel, cameraProblem } from './camera';
import { setLang } from './i18n';

const missing: CameraStatus = {
  state: 'no_camera',
  message: 'No camera is connected. Plug one in; the gate keeps looking.',
};
const denied: CameraStatus = {
  state: 'error',
  message: 'This user may not use the camera "C920". On Linux, add the user to the "video" group.',
};

describe('cameraProblem', () => {
  it('words the common problems in Indonesian', () => {
    setLang('id');
    expect(cameraProblem(missing)).toBe('Kamera tidak terhubung. Colokkan kamera; gerbang terus mencarinya.');
    expect(cameraProblem({ state: 'busy', message: 'The camera "C920" is in use.' })).toContain(
      'dipakai program lain',
    );
    expect(cameraProblem({ state: 'disconnected', message: 'The camera "C920" stopped.' })).toContain(
      'mungkin tercabut',
    );
  });

  it("keeps an error's detail from the gate, in either language", () => {
    setLang('id');
    expect(cameraProblem(denied)).toBe(`Kamera tidak bisa dipakai. Keterangan dari sistem: ${denied.message}`);
    setLang('en');
    expect(cameraProblem(denied)).toBe(denied.message);
  });

  it("gives English users the gate's own words, which name the camera", () => {
    setLang('en');
    expect(cameraProblem(missing)).toBe(missing.message);
  });

  it('has nothing to say while the camera works or is off', () => {
    for (const lang of ['id', 'en'] as const) {
      setLang(lang);
      expect(cameraProblem({ state: 'starting' })).toBeNull();
      expect(cameraProblem({ state: 'stopped' })).toBeNull();
      expect(
        cameraProblem({ state: 'running', camera: 'C920', width: 1280, height: 720, format: 'mjpeg', fps: 30 }),
      ).toBeNull();
    }
    setLang('id');
    expect(cameraLabel(missing)).toBe('Tidak ada kamera');
  });
});
