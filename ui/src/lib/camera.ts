// Words for the camera's status, shared by the scan screen and Settings.

import type { CameraStatus } from './bindings/CameraStatus';
import { currentLang, t, type MessageKey } from './i18n';

/** A short label for the status ("Camera: C920", "No camera"). */
export function cameraLabel(status: CameraStatus): string {
  if (status.state === 'running') {
    return t('camera.running', { name: status.camera });
  }
  return t(`camera.${status.state}` as MessageKey);
}

/**
 * What to do about a camera problem, if there is one. The gate words it in English, naming the
 * camera (`message`), and English users get exactly that; in Indonesian the common problems are
 * worded here, and an error keeps the gate's words as its detail (a driver's reasons vary).
 */
export function cameraProblem(status: CameraStatus): string | null {
  if (!('message' in status)) {
    return null;
  }
  if (currentLang() === 'en') {
    return status.message;
  }
  if (status.state === 'error') {
    return t('camera.advice.error', { detail: status.message });
  }
  return t(`camera.advice.${status.state}`);
}
