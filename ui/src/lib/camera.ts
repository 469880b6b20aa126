// Words for the camera's status, shared by the scan screen and Settings.

import type { CameraStatus } from './bindings/CameraStatus';
import { t, type MessageKey } from './i18n';

/** A short label for the status ("Camera: C920", "No camera"). */
export function cameraLabel(status: CameraStatus): string {
  if (status.state === 'running') {
    return t('camera.running', { name: status.camera });
  }
  return t(`camera.${status.state}` as MessageKey);
}

/** What the camera side said about a problem (what to do about it), if anything. */
export function cameraProblem(status: CameraStatus): string | null {
  return 'message' in status ? status.message : null;
}
