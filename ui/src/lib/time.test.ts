import { describe, expect, it } from 'vitest';
import { ago, clock, clockSeconds, day, fromLocalInput, toLocalInput, when } from './time';

// 2025-03-14T12:42:07Z: 19:42:07 in Jakarta (UTC+7, 420 minutes).
const AT = Date.UTC(2025, 2, 14, 12, 42, 7);
const WIB = 420;

describe('event time', () => {
  it('shows times in the event’s zone, not the laptop’s', () => {
    expect(clock(AT, WIB)).toBe('19:42');
    expect(clockSeconds(AT, WIB)).toBe('19:42:07');
    expect(clock(AT, 0)).toBe('12:42');
    expect(clock(AT, -300)).toBe('07:42');
    expect(day(AT, WIB)).toBe('2025-03-14');
    // 20:00 UTC is already the next day in Jakarta.
    expect(day(Date.UTC(2025, 2, 14, 20, 0), WIB)).toBe('2025-03-15');
  });

  it('adds the date only when it is not today', () => {
    expect(when(AT, WIB, AT + 3_600_000)).toBe('19:42');
    expect(when(AT, WIB, AT + 86_400_000)).toBe('2025-03-14 19:42');
  });

  it('reads datetime-local inputs in the event’s zone, and back', () => {
    const at = fromLocalInput('2025-03-14T19:42', WIB);
    expect(at).toBe(Date.UTC(2025, 2, 14, 12, 42));
    expect(toLocalInput(at!, WIB)).toBe('2025-03-14T19:42');
    expect(fromLocalInput('', WIB)).toBeNull();
    expect(fromLocalInput('not a date', WIB)).toBeNull();
  });

  it('says how long ago', () => {
    expect(ago(1_000, 3_000)).toEqual(['now', 0]);
    expect(ago(0, 42_000)).toEqual(['s', 42]);
    expect(ago(0, 5 * 60_000)).toEqual(['min', 5]);
    expect(ago(0, 3 * 3_600_000)).toEqual(['h', 3]);
    expect(ago(10_000, 0)).toEqual(['now', 0]);
  });
});
