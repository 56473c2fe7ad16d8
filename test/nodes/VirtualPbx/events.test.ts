import * as crypto from 'node:crypto';

import { afterEach, describe, expect, it, vi } from 'vitest';

import {
	EVENT_TYPE_VALUES,
	isMissedCall,
	microsToIso,
	microsToSeconds,
	parsePbxEvent,
	secretMatches,
} from '../../../nodes/VirtualPbx/events';

// Spy on timingSafeEqual while keeping the real one, to prove the secret check uses it.
vi.mock('node:crypto', async (importOriginal) => {
	const actual = await importOriginal<typeof import('node:crypto')>();
	return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

afterEach(() => {
	vi.mocked(crypto.timingSafeEqual).mockClear();
});

/** A hangup as the PBX posts it (form fields, all strings). */
const HANGUP = {
	EventType: 'hangup',
	CallID: 'c0ffee00c0ffee00c0ffee00c0ffee00',
	SubCallID: 'sub-1',
	CallerIDNum: '+74951234567',
	CallerIDName: 'Ivan Petrov',
	CalledDID: '+74957654321',
	CalledExtension: '000012*101',
	CalledExtensionID: '1001',
	CallerExtension: '',
	CallerExtensionID: '',
	CalledNumber: '+74957654321',
	CallStatus: 'ANSWER',
	CallFlow: 'in',
	CallAPIID: 'api-7',
	EventTime: '1767225600123456',
	Duration: '65432109',
	RecID: 'rec-42',
	Bridged: 'yes',
};

describe('microseconds → ISO 8601', () => {
	it.each([
		['microseconds since the epoch', '1767225600123456', '2026-01-01T00:00:00.123Z'],
		['microseconds with a fraction', '1767225600123456.9', '2026-01-01T00:00:00.123Z'],
		['microseconds, sub-millisecond part dropped (not rounded up)', '1767225600999999', '2026-01-01T00:00:00.999Z'],
		['surrounding blanks', ' 1767225600000000 ', '2026-01-01T00:00:00.000Z'],
		['a number, not a string', 1767225600000000, '2026-01-01T00:00:00.000Z'],
		['a repeated form field (array): the first', ['1767225600000000', '1'], '2026-01-01T00:00:00.000Z'],
		['milliseconds, should a PBX send them', '1767225600123', '2026-01-01T00:00:00.123Z'],
		['seconds, should a PBX send them', '1767225600', '2026-01-01T00:00:00.000Z'],
	])('%s', (_, input, expected) => {
		expect(microsToIso(input)).toBe(expected);
	});

	it.each([undefined, null, '', '   ', 'yesterday', '-1767225600000000', '1.2e15', '0x10'])('%o → undefined', (input) => {
		expect(microsToIso(input)).toBeUndefined();
	});
});

describe('microseconds → seconds', () => {
	it.each([
		['65 s exactly', '65000000', 65],
		['three decimals, rounded', '65432109', 65.432],
		['rounds half up at the millisecond', '1234567', 1.235],
		['zero', '0', 0],
		['less than a millisecond', '400', 0],
		['an hour', '3600000000', 3600],
		['a number', 2500000, 2.5],
	])('%s', (_, input, expected) => {
		expect(microsToSeconds(input)).toBe(expected);
	});

	it.each([undefined, null, '', 'long', '-5'])('%o → undefined', (input) => {
		expect(microsToSeconds(input)).toBeUndefined();
	});
});

describe('Bridged yes/no → boolean', () => {
	it.each([
		['yes', true],
		['YES', true],
		['true', true],
		['1', true],
		['y', true],
		['no', false],
		['No', false],
		['false', false],
		['0', false],
		['n', false],
		['', null],
		['maybe', null],
		[undefined, null],
	])('%o → %o', (input, expected) => {
		expect(parsePbxEvent({ Bridged: input as string }).bridged).toBe(expected);
	});
});

describe('field mapping', () => {
	it('maps every documented form field to a clean item', () => {
		expect(parsePbxEvent(HANGUP)).toEqual({
			eventType: 'hangup',
			callId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
			subCallId: 'sub-1',
			callApiId: 'api-7',
			direction: 'in',
			status: 'ANSWER',
			callerNumber: '+74951234567',
			callerName: 'Ivan Petrov',
			callerExtension: null,
			callerExtensionId: null,
			calledNumber: '+74957654321',
			calledDid: '+74957654321',
			calledExtension: '000012*101',
			calledExtensionId: '1001',
			eventTime: '2026-01-01T00:00:00.123Z',
			durationSeconds: 65.432,
			recordingId: 'rec-42',
			bridged: true,
		});
	});

	it('empty fields become null, every key is present, and nothing else is added', () => {
		const event = parsePbxEvent({ EventType: 'dial-in', Unknown: 'x', CallID: '  ' });
		expect(Object.keys(event).sort()).toEqual(Object.keys(parsePbxEvent(HANGUP)).sort());
		expect(event.eventType).toBe('dial-in');
		expect(event.callId).toBeNull();
		expect(event.eventTime).toBeNull();
		expect(event.durationSeconds).toBeNull();
		expect(event.bridged).toBeNull();
		expect(event).not.toHaveProperty('Unknown');
	});

	it('the called number falls back to the DID', () => {
		expect(parsePbxEvent({ CalledDID: '+74957654321' }).calledNumber).toBe('+74957654321');
		expect(parsePbxEvent({ CalledDID: '+7495', CalledNumber: '+7812' }).calledNumber).toBe('+7812');
	});

	it('trims values and takes the first of a repeated field', () => {
		expect(parsePbxEvent({ CallID: [' a ', 'b'] as never, CallerIDNum: ' 101 ' })).toMatchObject({ callId: 'a', callerNumber: '101' });
	});

	it('knows the seven documented event types', () => {
		expect([...EVENT_TYPE_VALUES].sort()).toEqual(['answer', 'dial-in', 'dial-out', 'hangup', 'message-in', 'message-out', 'voicemail']);
	});
});

describe('missed-call rule', () => {
	const missed = { ...HANGUP, CallStatus: 'NOANSWER', Bridged: 'no', Duration: '20000000', RecID: '' };
	const is = (fields: Record<string, string | undefined>) => isMissedCall(parsePbxEvent(fields));

	it('an inbound hangup, not bridged, not answered, is missed', () => {
		expect(is(missed)).toBe(true);
		for (const status of ['BUSY', 'CANCEL', 'CONGESTION', 'CHANUNAVAIL', 'noanswer']) expect(is({ ...missed, CallStatus: status })).toBe(true);
	});

	it('missing direction, status or bridged flag do not hide a missed call', () => {
		expect(is({ ...missed, CallFlow: undefined })).toBe(true);
		expect(is({ ...missed, CallStatus: undefined })).toBe(true);
		expect(is({ ...missed, Bridged: undefined })).toBe(true);
		expect(is({ ...missed, CallFlow: 'IN' })).toBe(true);
	});

	it('an answered call is not missed (status ANSWER, or bridged)', () => {
		expect(is(HANGUP)).toBe(false);
		expect(is({ ...missed, CallStatus: 'ANSWER' })).toBe(false);
		expect(is({ ...missed, CallStatus: 'answer' })).toBe(false);
		expect(is({ ...missed, Bridged: 'yes' })).toBe(false);
	});

	it('outbound and internal calls are not missed', () => {
		expect(is({ ...missed, CallFlow: 'out' })).toBe(false);
		expect(is({ ...missed, CallFlow: 'internal' })).toBe(false);
	});

	it('only a hangup can be a missed call', () => {
		for (const type of ['dial-in', 'answer', 'voicemail', 'message-in']) expect(is({ ...missed, EventType: type })).toBe(false);
	});
});

describe('secret check', () => {
	const secret = 'a'.repeat(16) + '0123456789abcdef0123456789abcdef';

	it('accepts exactly the secret', () => {
		expect(secretMatches(secret, secret)).toBe(true);
		expect(secretMatches([secret, 'other'], secret)).toBe(true);
	});

	it.each([
		['missing', undefined],
		['null', null],
		['empty', ''],
		['one character different', `${secret.slice(0, -1)}0`],
		['a prefix', secret.slice(0, -1)],
		['longer', `${secret}0`],
		['other case', secret.toUpperCase()],
	])('refuses a %s secret', (_, given) => {
		expect(secretMatches(given, secret)).toBe(false);
	});

	it('never accepts anything when no secret is expected', () => {
		expect(secretMatches('', '')).toBe(false);
		expect(secretMatches('x', '')).toBe(false);
	});

	it('compares equal-length values in constant time (crypto.timingSafeEqual)', () => {
		const spy = vi.mocked(crypto.timingSafeEqual);
		expect(secretMatches(`${secret.slice(0, -1)}0`, secret)).toBe(false);
		expect(spy).toHaveBeenCalledTimes(1);
		expect(secretMatches(secret, secret)).toBe(true);
		expect(spy).toHaveBeenCalledTimes(2);
	});
});
