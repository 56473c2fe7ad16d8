/**
 * Extension events as the PBX posts them (application/x-www-form-urlencoded, times and durations
 * in microseconds), turned into clean items; and the filters users want without a Code node.
 */
import { timingSafeEqual } from 'node:crypto';

import type { IDataObject } from 'n8n-workflow';

export const EVENT_TYPE_VALUES = ['dial-in', 'dial-out', 'answer', 'hangup', 'message-in', 'message-out', 'voicemail'] as const;

function str(value: unknown): string | undefined {
	if (Array.isArray(value)) return str(value[0]);
	if (value === undefined || value === null) return undefined;
	const text = String(value).trim();
	return text === '' ? undefined : text;
}

/** Microseconds since the epoch → ISO 8601 (milliseconds precision). */
export function microsToIso(value: unknown): string | undefined {
	const text = str(value);
	if (!text || !/^\d+(\.\d+)?$/.test(text)) return undefined;
	const micros = Number(text);
	// Accept seconds or milliseconds too, should a PBX send them.
	const ms = micros > 1e14 ? micros / 1000 : micros > 1e11 ? micros : micros * 1000;
	return new Date(Math.floor(ms)).toISOString();
}

/** Microseconds → seconds, with up to three decimals. */
export function microsToSeconds(value: unknown): number | undefined {
	const text = str(value);
	if (!text || !/^\d+(\.\d+)?$/.test(text)) return undefined;
	return Math.round(Number(text) / 1000) / 1000;
}

function yesNo(value: unknown): boolean | undefined {
	const text = str(value)?.toLowerCase();
	if (text === undefined) return undefined;
	if (['yes', 'true', '1', 'y'].includes(text)) return true;
	if (['no', 'false', '0', 'n'].includes(text)) return false;
	return undefined;
}

export interface PbxEvent extends IDataObject {
	eventType: string | null;
	callId: string | null;
	subCallId: string | null;
	callApiId: string | null;
	direction: string | null;
	status: string | null;
	callerNumber: string | null;
	callerName: string | null;
	callerExtension: string | null;
	callerExtensionId: string | null;
	calledNumber: string | null;
	calledDid: string | null;
	calledExtension: string | null;
	calledExtensionId: string | null;
	eventTime: string | null;
	durationSeconds: number | null;
	recordingId: string | null;
	bridged: boolean | null;
}

/** One clean item from the PBX's form fields (field names as the PBX documents them). */
export function parsePbxEvent(fields: IDataObject): PbxEvent {
	const get = (name: string) => str(fields[name]) ?? null;
	return {
		eventType: get('EventType'),
		callId: get('CallID'),
		subCallId: get('SubCallID'),
		callApiId: get('CallAPIID'),
		direction: get('CallFlow'),
		status: get('CallStatus'),
		callerNumber: get('CallerIDNum'),
		callerName: get('CallerIDName'),
		callerExtension: get('CallerExtension'),
		callerExtensionId: get('CallerExtensionID'),
		calledNumber: get('CalledNumber') ?? get('CalledDID'),
		calledDid: get('CalledDID'),
		calledExtension: get('CalledExtension'),
		calledExtensionId: get('CalledExtensionID'),
		eventTime: microsToIso(fields.EventTime) ?? null,
		durationSeconds: microsToSeconds(fields.Duration) ?? null,
		recordingId: get('RecID'),
		bridged: yesNo(fields.Bridged) ?? null,
	};
}

/** An inbound call that ended without being answered. */
export function isMissedCall(event: PbxEvent): boolean {
	if (event.eventType !== 'hangup') return false;
	if (event.direction !== null && event.direction.toLowerCase() !== 'in') return false;
	if (event.bridged === true) return false;
	return (event.status ?? '').toUpperCase() !== 'ANSWER';
}

/** Compares a secret from a request with the expected one in constant time. */
export function secretMatches(given: unknown, expected: string): boolean {
	const value = str(given);
	if (!value || expected === '') return false;
	const a = Buffer.from(value);
	const b = Buffer.from(expected);
	return a.length === b.length && timingSafeEqual(a, b);
}
