/**
 * Facts about one call-history row that the output rows and the call sync share.
 *
 * - The external party's number: the caller of an inbound call, the called party of an
 *   outbound one, nothing for an internal call. Empty when the number is withheld: the PBX sends
 *   an empty number or a word for it; we treat as withheld an empty value, the words anonymous,
 *   unknown, private, restricted, withheld, hidden, unavailable, null, none (any case), and
 *   anything with fewer than 6 digits (no CRM can match it to a customer; extensions are shorter).
 * - In progress: whether the PBX lists the call before it ended is not documented. A row with no
 *   hangup time (end_time_gmt empty or null) or with a result that names a state rather than an
 *   outcome (in_progress, ringing, …) is a call still going on: its duration and result are not
 *   final and it has no recording yet.
 */
import type { IDataObject } from 'n8n-workflow';

const WITHHELD_WORDS = new Set(['anonymous', 'unknown', 'private', 'restricted', 'withheld', 'hidden', 'unavailable', 'null', 'none', 'undefined']);
export const MIN_EXTERNAL_DIGITS = 6;

/** A number a CRM can match, or '' when it is withheld (see above). */
export function knownNumber(value: unknown): string {
	if (typeof value !== 'string' && typeof value !== 'number') return '';
	const text = String(value).trim();
	if (text === '' || WITHHELD_WORDS.has(text.toLowerCase())) return '';
	const digits = text.replace(/\D/g, '');
	return digits.length < MIN_EXTERNAL_DIGITS ? '' : text;
}

/** The external party's number of a call (caller for inbound, called party for outbound), '' when withheld or internal. */
export function externalNumber(call: IDataObject): string {
	if (call.flow === 'out') return knownNumber(call.to_username);
	if (call.flow === 'internal') return '';
	return knownNumber(call.from_username);
}

/** Results that describe a call still going on rather than how it ended. */
const NOT_FINAL_RESULTS = new Set(['in_progress', 'inprogress', 'progress', 'active', 'ringing', 'calling', 'dialing', 'talking', 'ongoing', 'up']);

export function isInProgress(call: IDataObject): boolean {
	const end = call.end_time_gmt;
	if (end === null || end === undefined || (typeof end === 'string' && (end.trim() === '' || end.startsWith('0000')))) return true;
	return typeof call.result === 'string' && NOT_FINAL_RESULTS.has(call.result.trim().toLowerCase());
}
