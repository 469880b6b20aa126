// Toast notifications: scans at other gates, conflicts, alerts and messages.
//
// A busy hall makes hundreds of scans a minute at other gates, so they never stack: there is at
// most one remote-scan toast, and it counts the scans since it appeared and shows the latest.
// Other kinds stack up to MAX_TOASTS (the oldest goes first) and close by themselves.

import type { GateUpdate } from './bindings/GateUpdate';
import { alertText } from './alerts';
import { t } from './i18n';
import { lookOf } from './verdicts';

export type ToastKind = 'remote_scan' | 'conflict' | 'alert' | 'message';

export interface Toast {
  id: number;
  kind: ToastKind;
  /** Closures, so a language switch re-words toasts already on screen. */
  title: () => string;
  body: () => string;
  /** When it closes by itself (Date.now() time). */
  until: number;
}

export const MAX_TOASTS = 4;
/** How long each kind stays up, in ms. */
export const LIFETIME: Record<ToastKind, number> = {
  remote_scan: 4_000,
  conflict: 12_000,
  alert: 10_000,
  message: 12_000,
};

export class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;
  private remoteCount = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Shows a toast; returns its id. */
  push(kind: ToastKind, title: () => string, body: () => string = () => ''): number {
    const id = this.next++;
    const items = [...this.items, { id, kind, title, body, until: this.clock() + LIFETIME[kind] }];
    this.items = items.slice(-MAX_TOASTS);
    this.schedule();
    return id;
  }

  dismiss(id: number): void {
    this.items = this.items.filter((toast) => toast.id !== id);
    if (!this.items.some((toast) => toast.kind === 'remote_scan')) {
      this.remoteCount = 0;
    }
  }

  /** Drops the toasts whose time is up. */
  expire(): void {
    const now = this.clock();
    const kept = this.items.filter((toast) => toast.until > now);
    if (kept.length !== this.items.length) {
      this.items = kept;
      if (!kept.some((toast) => toast.kind === 'remote_scan')) {
        this.remoteCount = 0;
      }
    }
    this.schedule();
  }

  /** The toasts one `gate-update` calls for. `remoteScans`: show scans at other gates (the
   * dashboard and supervisor devices want them; a gate's scan screen does not). */
  fromUpdate(update: GateUpdate, options: { remoteScans: boolean; gate: string }): void {
    const scans = update.remote_scans;
    for (const scan of scans) {
      if (scan.conflict) {
        this.push(
          'conflict',
          () => t('toast.conflict', { gate: scan.gate }),
          () => `${scan.holder ?? t('log.unknownHolder')} · ${t('toast.conflictBody')}`,
        );
      }
    }
    for (const settled of update.settled) {
      if (settled.conflict) {
        this.push(
          'conflict',
          () => t('toast.settledConflict'),
          () => t('toast.settledBody', { verdict: t(lookOf(settled.official).title) }),
        );
      }
    }
    for (const alert of update.alerts) {
      // A conflict alert repeats what the scans above already said when they came with it.
      if (alert.kind === 'conflict' && scans.some((s) => s.conflict)) {
        continue;
      }
      this.push(alert.kind === 'conflict' ? 'conflict' : 'alert', () => t('toast.alert'), () => alertText(alert));
    }
    for (const message of update.messages) {
      if (message.from === options.gate) {
        continue; // our own, echoed back
      }
      this.push('message', () => t('toast.message', { from: message.from }), () => message.text);
    }
    if (options.remoteScans && scans.length) {
      this.remoteScans(scans.length + update.remote_scans_dropped, scans[scans.length - 1]);
    }
  }

  private remoteScans(count: number, latest: GateUpdate['remote_scans'][number]): void {
    this.remoteCount += count;
    const total = this.remoteCount;
    const verdict = () => t(lookOf(latest.verdict).title);
    const title =
      total === 1
        ? () => t('toast.remoteScan', { gate: latest.gate, verdict: verdict() })
        : () => t('toast.remoteScans', { count: total });
    const body =
      total === 1
        ? () => latest.holder ?? ''
        : () => t('toast.remoteScansBody', { gate: latest.gate, verdict: verdict() });
    const existing = this.items.find((toast) => toast.kind === 'remote_scan');
    if (existing) {
      // Updated in place: a stream of scans never pushes the other toasts away.
      this.items = this.items.map((toast) =>
        toast === existing ? { ...toast, title, body, until: this.clock() + LIFETIME.remote_scan } : toast,
      );
      this.schedule();
    } else {
      this.push('remote_scan', title, body);
    }
  }

  private schedule(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.items.length) {
      return;
    }
    const next = Math.min(...this.items.map((toast) => toast.until));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.expire();
    }, Math.max(0, next - this.clock()) + 10);
  }
}

export const toasts = new Toasts();
