// Times as the hall reads them: in the event's own time zone (`utc_offset_minutes`), not the
// laptop's, so a gate whose clock zone is set wrong still shows the times printed on the posters.

const MINUTE = 60_000;

function shifted(at: number, offsetMinutes: number): Date {
  return new Date(at + offsetMinutes * MINUTE);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** "19:42" in the event's zone. */
export function clock(at: number, offsetMinutes: number): string {
  const d = shifted(at, offsetMinutes);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** "19:42:07" in the event's zone. */
export function clockSeconds(at: number, offsetMinutes: number): string {
  const d = shifted(at, offsetMinutes);
  return `${clock(at, offsetMinutes)}:${pad(d.getUTCSeconds())}`;
}

/** "2025-03-14" in the event's zone. */
export function day(at: number, offsetMinutes: number): string {
  const d = shifted(at, offsetMinutes);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** A time, with its date in front when it is not on the day of `now` ("19:42" or
 * "2025-03-13 19:42"). */
export function when(at: number, offsetMinutes: number, now: number): string {
  const time = clock(at, offsetMinutes);
  return day(at, offsetMinutes) === day(now, offsetMinutes) ? time : `${day(at, offsetMinutes)} ${time}`;
}

/** The value of an `<input type="datetime-local">` ("2025-03-14T19:42") for `at`. */
export function toLocalInput(at: number, offsetMinutes: number): string {
  return `${day(at, offsetMinutes)}T${clock(at, offsetMinutes)}`;
}

/** The instant an `<input type="datetime-local">` value means in the event's zone; null when
 * the value is empty or not a date. */
export function fromLocalInput(value: string, offsetMinutes: number): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) {
    return null;
  }
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s || 0) - offsetMinutes * MINUTE;
}

/** How long ago, as numbers for the i18n layer: [unit, n]. */
export function ago(at: number, now: number): ['now' | 's' | 'min' | 'h', number] {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 5) return ['now', 0];
  if (seconds < 60) return ['s', seconds];
  if (seconds < 3600) return ['min', Math.floor(seconds / 60)];
  return ['h', Math.floor(seconds / 3600)];
}
