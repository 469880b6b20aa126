// The UI's one door to the Rust side: every `invoke` goes through a typed function here, so
// components never spell command names or payload shapes themselves.
//
// The types are generated from the Rust ones (src-tauri/src/bindings.rs writes ./bindings/);
// argument keys are camelCase here and Tauri hands them to the Rust parameters of the same name
// in snake_case (src-tauri/src/commands.rs).

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppSnapshot } from './bindings/AppSnapshot';
import type { AttendancePage } from './bindings/AttendancePage';
import type { CameraList } from './bindings/CameraList';
import type { CameraPreview } from './bindings/CameraPreview';
import type { CameraScan } from './bindings/CameraScan';
import type { CameraStatus } from './bindings/CameraStatus';
import type { Attendee } from './bindings/Attendee';
import type { Dashboard } from './bindings/Dashboard';
import type { DemoTicket } from './bindings/DemoTicket';
import type { ExportProgress } from './bindings/ExportProgress';
import type { GateCounters } from './bindings/GateCounters';
import type { GateSetup } from './bindings/GateSetup';
import type { GateUpdate } from './bindings/GateUpdate';
import type { IpcError } from './bindings/IpcError';
import type { LogFilter } from './bindings/LogFilter';
import type { MessageView } from './bindings/MessageView';
import type { PairingOffer } from './bindings/PairingOffer';
import type { Prefs } from './bindings/Prefs';
import type { Role } from './bindings/Role';
import type { ScanResult } from './bindings/ScanResult';
import type { ScanSource } from './bindings/ScanSource';

export type { IpcError };

/** The event the Rust side pushes changes on (src-tauri/src/updates.rs). */
export const GATE_UPDATE = 'gate-update';

/** The camera's events (src-tauri/src/camera.rs). */
export const CAMERA_STATUS = 'camera-status';
export const CAMERA_PREVIEW = 'camera-preview';
export const CAMERA_SCAN = 'camera-scan';
export const CAMERA_PAIRING = 'camera-pairing';

/** True when `value` has the `{ kind, message }` shape of a command error. */
export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).kind === 'string' &&
    typeof (value as Record<string, unknown>).message === 'string'
  );
}

/** A sentence for the operator from whatever a command rejected with. */
export function errorText(error: unknown): string {
  if (isIpcError(error)) {
    return error.message;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** Everything the first frame needs: versions, gate setup, event, counters, sync, prefs. */
export function appSnapshot(): Promise<AppSnapshot> {
  return invoke<AppSnapshot>('app_snapshot');
}

/** Decides and records a scanned or typed code. */
export function scan(text: string, source: ScanSource): Promise<ScanResult> {
  return invoke<ScanResult>('scan', { text, source });
}

/** Admits a ticket by its holder's name, picked from the search (no code to scan). */
export function admitByName(eventId: number, ticketId: number): Promise<ScanResult> {
  return invoke<ScanResult>('admit_by_name', { eventId, ticketId });
}

/** The event's and this gate's counters. */
export function gateCounters(): Promise<GateCounters> {
  return invoke<GateCounters>('gate_counters');
}

/** Tickets by holder name, number or barcode, from the gate's own cache (works offline). */
export function findAttendees(query: string): Promise<Attendee[]> {
  return invoke<Attendee[]>('find_attendees', { query });
}

/** One page of the attendance log, with the filter's total. */
export function attendance(filter: LogFilter, offset: number, limit: number): Promise<AttendancePage> {
  return invoke<AttendancePage>('attendance', { filter, offset, limit });
}

/** Writes the filtered log to `path` as CSV; `onProgress` hears how far it is. Resolves with
 * the number of rows written. */
export function exportAttendance(
  filter: LogFilter,
  path: string,
  onProgress: (progress: ExportProgress) => void,
): Promise<number> {
  const progress = new Channel<ExportProgress>(onProgress);
  return invoke<number>('export_attendance', { filter, path, progress });
}

/** The supervisor's dashboard. */
export function dashboard(): Promise<Dashboard> {
  return invoke<Dashboard>('dashboard');
}

/** Operator messages, newest first. */
export function messages(): Promise<MessageView[]> {
  return invoke<MessageView[]>('messages');
}

/** Sends a message to one gate by name, or to everyone with `to` null. Resolves with its id. */
export function sendMessage(to: string | null, text: string): Promise<string> {
  return invoke<string>('send_message', { to, text });
}

/** Renames the gate, switches entry/exit, or changes the admitted ticket types. */
export function setGate(gate: GateSetup): Promise<GateSetup> {
  return invoke<GateSetup>('set_gate', { gate });
}

/** Stores the operator's preferences. */
export function setPrefs(prefs: Prefs): Promise<Prefs> {
  return invoke<Prefs>('set_prefs', { prefs });
}

/** Pairs with a relay from its pairing text; resolves with this device's name there. */
export function pair(text: string): Promise<string> {
  return invoke<string>('pair', { text });
}

/** Hosts the relay on this laptop (again) and links the gate to it. */
export function hostRelay(): Promise<void> {
  return invoke<void>('host_relay');
}

/** A one-time pairing text and QR code for another device to join the hosted relay. */
export function pairingOffer(role: Role): Promise<PairingOffer> {
  return invoke<PairingOffer>('pairing_offer', { role });
}

/** Demo tickets with their QR codes (only on the laptop that hosts the relay). */
export function demoTickets(first: number, count: number): Promise<DemoTicket[]> {
  return invoke<DemoTicket[]>('demo_tickets', { first, count });
}

/** Calls `handler` with every `gate-update`; resolves with the function that stops it. */
export function onGateUpdate(handler: (update: GateUpdate) => void): Promise<UnlistenFn> {
  return listen<GateUpdate>(GATE_UPDATE, (event) => handler(event.payload));
}

/** What the camera is doing now; `onCamera` hears each change after this. */
export function cameraStatus(): Promise<CameraStatus> {
  return invoke<CameraStatus>('camera_status');
}

/** The cameras the system knows, and the chosen one. */
export function cameras(): Promise<CameraList> {
  return invoke<CameraList>('cameras');
}

/** Chooses the camera by its number in `cameras()` (`null`: the first one) and restarts it. */
export function chooseCamera(index: number | null): Promise<void> {
  return invoke<void>('choose_camera', { index });
}

/** What the camera pushes: its status, preview frames, the scans it recorded, pairing codes. */
export interface CameraHandlers {
  status: (status: CameraStatus) => void;
  preview: (preview: CameraPreview) => void;
  scan: (scan: CameraScan) => void;
  pairing: (text: string) => void;
}

/** Listens to every camera event; resolves with the function that stops them all. */
export async function onCamera(handlers: CameraHandlers): Promise<UnlistenFn> {
  const stops = await Promise.all([
    listen<CameraStatus>(CAMERA_STATUS, (event) => handlers.status(event.payload)),
    listen<CameraPreview>(CAMERA_PREVIEW, (event) => handlers.preview(event.payload)),
    listen<CameraScan>(CAMERA_SCAN, (event) => handlers.scan(event.payload)),
    listen<string>(CAMERA_PAIRING, (event) => handlers.pairing(event.payload)),
  ]);
  return () => stops.forEach((stop) => stop());
}
