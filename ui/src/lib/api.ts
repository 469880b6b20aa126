// The UI's one door to the Rust side: every `invoke` goes through a typed function here, so
// components never spell command names or payload shapes themselves.
//
// These types mirror the Rust DTOs in src-tauri/src (commands.rs, error.rs). Until they are
// generated from Rust, a change there must be copied here.

import { invoke } from '@tauri-apps/api/core';

/** `app_info`'s answer: the product name and the versions compiled into the binary. */
export interface AppInfo {
  name: string;
  version: string;
  core_version: string;
}

/** Stable machine-readable error kinds (src-tauri/src/error.rs `ErrorKind`). */
export type ErrorKind = 'invalid_input' | 'not_found' | 'internal';

/** What a failed command rejects with. Branch on `kind`; show `message`. */
export interface IpcError {
  kind: ErrorKind;
  message: string;
}

/** True when `value` has the `{ kind, message }` shape of a command error. */
export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).kind === 'string' &&
    typeof (value as Record<string, unknown>).message === 'string'
  );
}

/** The app's name and versions (command `app_info`). */
export function appInfo(): Promise<AppInfo> {
  return invoke<AppInfo>('app_info');
}
