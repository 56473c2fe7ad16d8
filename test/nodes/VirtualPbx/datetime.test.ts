import { describe, expect, it } from 'vitest';

import { formatGmt, gmtToIso, impossibleDate, toEpochMs, zoneOffsetMs } from '../../../nodes/VirtualPbx/datetime';

const at = (iso: string) => Date.parse(iso);

describe('dates users type → GMT for the PBX', () => {
	it.each([
		['picker value, no zone, workflow in Moscow', '2024-05-01T09:30:00', 'Europe/Moscow', '2024-05-01 06:30:00'],
		['space form, no seconds, Berlin summer time', '2024-07-01 09:30', 'Europe/Berlin', '2024-07-01 07:30:00'],
		['date only, New York winter', '2024-01-15', 'America/New_York', '2024-01-15 05:00:00'],
		['ISO with Z ignores the workflow zone', '2024-05-01T06:30:00Z', 'Asia/Tokyo', '2024-05-01 06:30:00'],
		['ISO with offset', '2024-05-01T09:30:00+03:00', 'UTC', '2024-05-01 06:30:00'],
		['milliseconds in the string', '2024-05-01T09:30:00.250', 'UTC', '2024-05-01 09:30:00'],
		['dd.mm.yyyy hh:mm', '01.05.2024 09:30', 'Europe/Moscow', '2024-05-01 06:30:00'],
		['epoch seconds as text', '1714545000', 'Europe/Moscow', '2024-05-01 06:30:00'],
	])('%s', (_, input, zone, expected) => {
		const ms = toEpochMs(input, zone);
		expect(ms).toBeDefined();
		expect(formatGmt(ms as number)).toBe(expected);
	});

	it('numbers, Dates and Luxon-like objects', () => {
		expect(formatGmt(toEpochMs(1714545000) as number)).toBe('2024-05-01 06:30:00');
		expect(formatGmt(toEpochMs(1714545000000) as number)).toBe('2024-05-01 06:30:00');
		expect(toEpochMs(new Date('2024-05-01T06:30:00Z'))).toBe(at('2024-05-01T06:30:00Z'));
		expect(toEpochMs({ toMillis: () => 1714545000000, isValid: true })).toBe(1714545000000);
		expect(toEpochMs({ toISO: () => '2024-05-01T06:30:00Z' })).toBe(at('2024-05-01T06:30:00Z'));
	});

	it.each(['', 'yesterday', '2024-13-01', '2024-05-01 25:00', {}, -5, Number.NaN])('refuses %o', (input) => {
		expect(toEpochMs(input, 'UTC')).toBeUndefined();
	});

	it('handles the DST switch (Berlin, 31 March 2024, 03:30 local is after the jump)', () => {
		expect(formatGmt(toEpochMs('2024-03-31 03:30', 'Europe/Berlin') as number)).toBe('2024-03-31 01:30:00');
		expect(formatGmt(toEpochMs('2024-03-31 01:30', 'Europe/Berlin') as number)).toBe('2024-03-31 00:30:00');
		expect(zoneOffsetMs('Europe/Berlin', at('2024-07-01T00:00:00Z'))).toBe(2 * 3600_000);
	});

	it('falls back to UTC for an unknown zone', () => {
		expect(formatGmt(toEpochMs('2024-05-01 09:30', 'Not/AZone') as number)).toBe('2024-05-01 09:30:00');
	});

	it('PBX GMT times become ISO 8601', () => {
		expect(gmtToIso('2024-05-01 06:30:00')).toBe('2024-05-01T06:30:00.000Z');
		expect(gmtToIso('garbage')).toBeUndefined();
	});

	it.each([
		['2024-02-31', /February 2024 has no day 31 \(it has 29 days\)/],
		['2023-02-29 10:00', /February 2023 has no day 29 \(it has 28 days\)/],
		['2024-04-31T09:30:00', /April 2024 has no day 31/],
		['2024-02-30T00:00:00Z', /February 2024 has no day 30/],
		['2024-02-30T00:00:00+03:00', /February 2024 has no day 30/],
		['31.04.2024 10:00', /April 2024 has no day 31/],
		['Sat, 31 Feb 2024 00:00:00 GMT', /February 2024 has no day 31/],
		['2024-00-10', /no month 0/],
		['2024-05-01 24:00', /no hour 24/],
		['2024-05-01 10:60', /no minute 60/],
	])('impossible date %s is refused, not rolled over', (input, why) => {
		expect(impossibleDate(input)).toMatch(why);
		expect(toEpochMs(input, 'UTC')).toBeUndefined();
	});

	it.each(['2024-02-29', '2023-02-28 23:59:59', '30.04.2024', 'Thu, 29 Feb 2024 00:00:00 GMT', '2024-12-31T23:59:59Z'])('real date %s passes', (input) => {
		expect(impossibleDate(input)).toBeUndefined();
		expect(toEpochMs(input, 'UTC')).toBeDefined();
	});
});
