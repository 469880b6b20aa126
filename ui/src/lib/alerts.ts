// Alerts in the user's language. The relay words every alert in English (`text`); the kinds
// this UI knows are worded again from their figures (a capacity alert's `capacity`, a
// conflict's two scans), and any other kind, or an alert without its figures (an older relay),
// is shown as the relay wrote it, as docs/PROTOCOL.md asks.

import type { Alert } from './bindings/Alert';
import { formatNumber, t } from './i18n';

/** The alert's text in the current language. */
export function alertText(alert: Alert): string {
  switch (alert.kind) {
    case 'capacity_threshold': {
      const crossed = alert.capacity;
      if (!crossed) {
        return alert.text;
      }
      return t(crossed.percent >= 100 ? 'alert.full' : 'alert.nearlyFull', {
        event: crossed.event_name || t('alert.thisEvent'),
        percent: crossed.percent,
        inside: formatNumber(crossed.inside),
        capacity: formatNumber(crossed.capacity),
      });
    }
    case 'conflict': {
      const [first, second] = alert.scans;
      const ticket = first?.ticket_id ?? second?.ticket_id;
      if (!first || !second || ticket == null) {
        return alert.text;
      }
      return t('alert.conflict', { ticket, first: first.gate, second: second.gate });
    }
    default:
      return alert.text;
  }
}
