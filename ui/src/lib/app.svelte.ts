// The app's shared state: what `app_snapshot` said at start, kept current by `gate-update`
// events. Screens read it and call the api; nothing else holds a copy.

import * as api from './api';
import type { AppInfo } from './bindings/AppInfo';
import type { CameraPreview } from './bindings/CameraPreview';
import type { CameraStatus } from './bindings/CameraStatus';
import type { EventStats } from './bindings/EventStats';
import type { EventSummary } from './bindings/EventSummary';
import type { GateCounters } from './bindings/GateCounters';
import type { GateSetup } from './bindings/GateSetup';
import type { GateUpdate } from './bindings/GateUpdate';
import type { Hosting } from './bindings/Hosting';
import type { MessageView } from './bindings/MessageView';
import type { Prefs } from './bindings/Prefs';
import type { Role } from './bindings/Role';
import type { SyncStatus } from './bindings/SyncStatus';
import type { ScanResult } from './bindings/ScanResult';
import type { ScanSource } from './bindings/ScanSource';
import { isLang, setLang } from './i18n';
import { play } from './sounds';
import { toasts } from './toasts.svelte';
import { lookOf } from './verdicts';
import type { Shown } from './VerdictOverlay.svelte';

/** The screens, in the order of the navigation (F1..F5); `demo` is a page of Settings. */
export const SCREENS = ['scan', 'dashboard', 'log', 'messages', 'settings'] as const;
export type Screen = (typeof SCREENS)[number] | 'demo';

/** Scans kept in the scan screen's "latest scans" list. */
export const RECENT_KEPT = 6;

const ZERO = { issued: 0, admitted: 0, exits: 0, inside_now: 0, refused: 0 };

/** The laptop's own UTC offset, for times before the event is known. */
function localOffset(): number {
  return -new Date().getTimezoneOffset();
}

export class AppModel {
  /** `app_snapshot` answered. */
  ready = $state(false);
  /** Why the app could not start, for the start screen. */
  startError = $state<string | null>(null);
  info = $state<AppInfo | null>(null);
  gate = $state<GateSetup>({ name: '', direction: 'entry', allowed_types: [] });
  event = $state<EventSummary | null>(null);
  counters = $state<GateCounters>({ event: { ...ZERO }, gate: { ...ZERO } });
  sync = $state<SyncStatus | null>(null);
  hosting = $state<Hosting | null>(null);
  prefs = $state<Prefs>({ language: 'id', sounds: true, hide_names: false, camera: true });
  role = $state<Role | null>(null);
  stats = $state<EventStats | null>(null);
  screen = $state<Screen>('scan');
  /** Messages that arrived while the Messages screen was not shown. */
  unread = $state(0);
  /** Messages pushed since start, oldest first (the Messages screen merges them in). */
  incoming = $state<MessageView[]>([]);
  /** Counts `gate-update`s, so screens can refresh on them (the dashboard, the log). */
  updates = $state(0);
  /** The wall clock, ticking each second, for "5 s ago" labels. */
  now = $state(Date.now());
  /** The verdict on screen, while it is. */
  verdict = $state<Shown | null>(null);
  /** This session's latest scans at this gate, newest first. */
  recent = $state<Shown[]>([]);
  /** Why the last scan failed (not a verdict: the command itself failed). */
  scanError = $state<string | null>(null);
  /** What the camera is doing. */
  camera = $state<CameraStatus>({ state: 'stopped' });
  /** The camera's latest preview frame, while it runs. */
  preview = $state<CameraPreview | null>(null);
  /** The latest relay pairing code the camera read (Settings pairs with it); `seq` tells a
   * code read again from the one before. */
  pairingSeen = $state<{ text: string; seq: number } | null>(null);

  private seq = 0;

  private unlisten: (() => void) | null = null;
  private unlistenCamera: (() => void) | null = null;
  private refreshing = false;

  /** The event's UTC offset in minutes (the laptop's until an event is known). */
  get offset(): number {
    return this.event?.utc_offset_minutes ?? localOffset();
  }

  /** A supervisor device watches; it cannot scan. */
  get canScan(): boolean {
    return this.role !== 'supervisor';
  }

  /** Reads the first frame's data, then listens for updates. Safe to call again to retry. */
  async start(): Promise<void> {
    this.startError = null;
    try {
      await this.refresh();
      if (!this.unlisten) {
        this.unlisten = await api.onGateUpdate((update) => this.apply(update));
      }
      if (!this.unlistenCamera) {
        // Listen first, then ask: a change between the two is heard, not lost.
        this.unlistenCamera = await api.onCamera({
          status: (status) => this.cameraChanged(status),
          preview: (preview) => (this.preview = this.camera.state === 'running' ? preview : null),
          scan: ({ text, result }) => this.show(result, text, performance.now()),
          pairing: (text) => (this.pairingSeen = { text, seq: (this.pairingSeen?.seq ?? 0) + 1 }),
        });
        // A camera that cannot say how it is does not stop the gate: its events still come.
        this.cameraChanged(await api.cameraStatus().catch(() => this.camera));
      }
      this.ready = true;
    } catch (error) {
      this.startError = api.errorText(error);
    }
  }

  /** Reads `app_snapshot` again (after pairing or hosting, which change much of it). */
  async refresh(): Promise<void> {
    const snap = await api.appSnapshot();
    this.info = snap.info;
    this.gate = snap.gate;
    this.event = snap.event;
    this.hosting = snap.hosting;
    if (this.ready && this.unlisten) {
      // Updates keep the rest current, and may be newer than this answer.
      return;
    }
    this.counters = snap.counters;
    this.sync = snap.sync;
    this.prefs = snap.prefs;
    this.role = snap.role;
    if (isLang(snap.prefs.language)) {
      setLang(snap.prefs.language);
    }
  }

  /** `refresh`, at most one at a time, errors left for the next try. */
  refreshQuietly(): void {
    if (this.refreshing) {
      return;
    }
    this.refreshing = true;
    this.refresh()
      .catch(() => {})
      .finally(() => (this.refreshing = false));
  }

  stop(): void {
    this.unlisten?.();
    this.unlisten = null;
    this.unlistenCamera?.();
    this.unlistenCamera = null;
  }

  /** Takes in the camera's status; a camera that stopped leaves no frame behind. */
  cameraChanged(status: CameraStatus): void {
    this.camera = status;
    if (status.state !== 'running') {
      this.preview = null;
    }
  }

  /** Takes in one `gate-update`. */
  apply(update: GateUpdate): void {
    // What `gate-update` does not carry (whether this laptop hosts the relay, the event, the
    // gate's setup) can change when the link does: a first run starts hosting in the
    // background, a pairing moves to another relay. Read the snapshot again then.
    if (this.sync && (update.sync.state !== this.sync.state || update.sync.relay !== this.sync.relay)) {
      this.refreshQuietly();
    }
    this.sync = update.sync;
    this.counters = update.counters;
    this.role = update.role ?? this.role;
    if (update.stats) {
      this.stats = update.stats;
    }
    if (update.messages.length) {
      this.incoming = [...this.incoming, ...update.messages].slice(-200);
      // Our own messages come back from the relay too; they are not news.
      const news = update.messages.filter((m) => m.from !== this.gate.name).length;
      if (this.screen !== 'messages') {
        this.unread += news;
      }
    }
    const onlookers = this.screen === 'dashboard' || this.role === 'supervisor';
    toasts.fromUpdate(update, { remoteScans: onlookers, gate: this.gate.name });
    this.updates += 1;
  }

  /** Decides a code and shows the verdict. `startedAt` is the performance.now() of the first
   * key (for the latency the verdict reports). */
  async scan(code: string, source: ScanSource, startedAt: number = performance.now()): Promise<void> {
    if (code) {
      await this.decide(() => api.scan(code, source), code, startedAt);
    }
  }

  /** Admits a ticket by its holder's name (picked from the search) and shows the verdict. */
  async admitByName(eventId: number, ticketId: number, holder: string): Promise<void> {
    await this.decide(() => api.admitByName(eventId, ticketId), holder, performance.now());
  }

  /** Runs a scan-like command and shows its verdict (`shown` stands for the code when the
   * verdict names no holder), or says why it failed. */
  private async decide(command: () => Promise<ScanResult>, shown: string, startedAt: number): Promise<void> {
    if (!this.canScan) {
      return;
    }
    let result: ScanResult;
    try {
      result = await command();
    } catch (error) {
      this.scanError = api.errorText(error);
      return;
    }
    this.scanError = null;
    this.show(result, shown, startedAt);
  }

  /** Shows a scan's verdict (typed, from the scanner, or the camera's), lists and sounds it. */
  show(result: ScanResult, code: string, startedAt: number): void {
    if (!this.canScan) {
      return;
    }
    this.counters = result.counters;
    const shown: Shown = { seq: ++this.seq, result, code, startedAt };
    this.verdict = shown;
    // The camera reading a code it has just read records nothing new: the verdict shows
    // again, but it is not a new scan to list or to sound.
    if (!result.duplicate) {
      this.recent = [shown, ...this.recent].slice(0, RECENT_KEPT);
      if (this.prefs.sounds) {
        play(lookOf(result.verdict.kind).sound);
      }
    }
  }

  /** Shows `screen`; opening Messages marks them read. */
  go(screen: Screen): void {
    this.verdict = null;
    this.screen = screen;
    if (screen === 'messages') {
      this.unread = 0;
    }
  }

  /** Changes the gate's setup through `set_gate`; resolves with the stored one. */
  async saveGate(gate: GateSetup): Promise<GateSetup> {
    this.gate = await api.setGate(gate);
    return this.gate;
  }

  /** Changes the preferences through `set_prefs` (the language takes effect at once). */
  async savePrefs(prefs: Prefs): Promise<void> {
    if (isLang(prefs.language)) {
      setLang(prefs.language);
    }
    // Shown at once; put back if the gate refuses it.
    const before = this.prefs;
    this.prefs = prefs;
    try {
      this.prefs = await api.setPrefs(prefs);
    } catch (error) {
      this.prefs = before;
      throw error;
    }
  }
}

export const app = new AppModel();
