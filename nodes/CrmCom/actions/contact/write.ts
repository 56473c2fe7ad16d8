/**
 * What the contact writes (Create, Update, Create or Update) share:
 *
 * - the record an item writes, so that items of one run writing the same contact are sent one
 *   after another in item order (shared/items.ts): CRM.COM answering concurrent writes out of
 *   order can then not leave an older call on a contact;
 * - "Only If Newer": the contact is read first and the write is skipped when it already holds
 *   the same or a later date in the named field, so the last call never goes backwards, whatever
 *   order calls arrive in (listed late, delivered again after a failure);
 * - phones and e-mails added only when the contact does not have them yet (CRM.COM adds a second
 *   entry for the same number otherwise);
 * - outages stop the run even under continue-on-fail (transport.ts `isItemRefusal`).
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { isItemRefusal, markItemRefusal, type CrmComClient } from '../../transport';
import { EMAILS_SET, PHONES_SET, phoneNumber } from './fields';

type Show = { resource: string[]; operation: string[] };

export function onlyIfNewerField(show: Show): INodeProperties {
	return {
		displayName: 'Only If Newer',
		name: 'onlyIfNewer',
		type: 'string',
		default: '',
		placeholder: 'udf_date_1',
		description:
			'Name of a date field this write sets (e.g. udf_date_1 holding the call\'s start). The contact is read first and left unchanged when it already holds the same or a later date there, so an older call never overwrites a newer one. Empty: always write.',
		displayOptions: { show },
	};
}

/** The record key of a contact identified by `field` = `value` (phone numbers compared digit by digit). */
export function contactKey(field: string, value: string): string {
	const normalized = field === 'phone' ? (phoneNumber(value) ?? value.trim()) : field === 'email' ? value.trim().toLowerCase() : value.trim();
	return `contact:${field}=${normalized}`;
}

/** Under continue-on-fail a write still stops the run unless CRM.COM refused this item's data. */
export function stopsRun(error: unknown): boolean {
	return !isItemRefusal(error);
}

/** A date or date-time as epoch ms: ISO 8601, 'YYYY-MM-DD HH:MM:SS' (UTC), epoch seconds or ms. */
export function dateMs(value: unknown): number | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return value > 1e11 ? value : value * 1000;
	if (typeof value !== 'string' || value.trim() === '') return undefined;
	const text = value.trim();
	if (/^\d{9,13}$/.test(text)) return dateMs(Number(text));
	let iso = text.replace(' ', 'T');
	if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
	if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
	const ms = Date.parse(iso);
	return Number.isNaN(ms) ? undefined : ms;
}

/** The "Only If Newer" field name, checked against the body it must be part of. */
export function readOnlyIfNewer(ctx: IExecuteFunctions, itemIndex: number, body: IDataObject): string | undefined {
	const name = String(ctx.getNodeParameter('onlyIfNewer', itemIndex, '') ?? '').trim();
	if (name === '') return undefined;
	if (!(name in body) || body[name] === null) {
		throw new NodeOperationError(ctx.getNode(), `"Only If Newer" names "${name}", but this write does not set that field`, {
			itemIndex,
			description: 'Name a date field you set under "Fields → Custom Fields" (e.g. udf_date_1), or leave "Only If Newer" empty.',
		});
	}
	if (dateMs(body[name]) === undefined) {
		throw new NodeOperationError(ctx.getNode(), `"Only If Newer" names "${name}", whose value "${String(body[name])}" is not a date`, {
			itemIndex,
			description: 'Name a date field (udf_date_N) with a value like 2024-05-31T14:05:00Z.',
		});
	}
	return name;
}

/** Reads the contact (never shared with other items: it must see the writes made before). */
export async function readContact(
	client: CrmComClient,
	itemIndex: number,
	field: string,
	value: string,
): Promise<IDataObject | undefined> {
	const found = await client.lookup('GET', 'contact_information/show', { contact_information_identifier: `${field}=${value}` }, {
		itemIndex,
		what: `the contact lookup (${field}=${value})`,
	});
	if (!found.found) return undefined;
	const data = found.data;
	return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as IDataObject) : undefined;
}

/** The numbers of a contact as read, whatever the answer calls them (phones list, phone field). */
export function phonesOf(contact: IDataObject): Set<string> {
	const out = new Set<string>();
	const add = (value: unknown) => {
		if (typeof value !== 'string' && typeof value !== 'number') return;
		const number = phoneNumber(String(value));
		if (number) out.add(number.replace(/^\+/, ''));
	};
	add(contact.phone);
	for (const key of ['phones', PHONES_SET, 'phone_numbers']) {
		const list = contact[key];
		if (!Array.isArray(list)) continue;
		for (const entry of list) {
			if (typeof entry === 'object' && entry !== null) {
				const e = entry as IDataObject;
				add(e.number ?? e.phone_number ?? e.phone);
			} else add(entry);
		}
	}
	return out;
}

export function emailsOf(contact: IDataObject): Set<string> {
	const out = new Set<string>();
	const add = (value: unknown) => {
		if (typeof value === 'string' && value.trim() !== '') out.add(value.trim().toLowerCase());
	};
	add(contact.email);
	for (const key of ['emails', EMAILS_SET]) {
		const list = contact[key];
		if (!Array.isArray(list)) continue;
		for (const entry of list) {
			if (typeof entry === 'object' && entry !== null) {
				const e = entry as IDataObject;
				add(e.email_address ?? e.email ?? e.address);
			} else add(entry);
		}
	}
	return out;
}

/** The body without phones and e-mails the contact already has (empty lists dropped). */
export function withoutKnownEntries(body: IDataObject, contact: IDataObject): IDataObject {
	const out: IDataObject = { ...body };
	const phones = out[PHONES_SET];
	if (Array.isArray(phones)) {
		const known = phonesOf(contact);
		const left = (phones as IDataObject[]).filter((p) => p.action !== 'ADD' || !known.has(String(p.number).replace(/^\+/, '')));
		if (left.length > 0) out[PHONES_SET] = left;
		else delete out[PHONES_SET];
	}
	const emails = out[EMAILS_SET];
	if (Array.isArray(emails)) {
		const known = emailsOf(contact);
		const left = (emails as IDataObject[]).filter((e) => e.action !== 'ADD' || !known.has(String(e.email_address).toLowerCase()));
		if (left.length > 0) out[EMAILS_SET] = left;
		else delete out[EMAILS_SET];
	}
	return out;
}

export interface UpdateRequest {
	field: string;
	value: string;
	/** The fields to write (without the identifier). */
	body: IDataObject;
	onlyIfNewer?: string;
	/** The contact as read just before, when the caller has it. */
	current?: IDataObject;
}

/**
 * contact_information/update of one contact: read first when "Only If Newer" is set or phones /
 * e-mails are added, skipped when the contact holds a date as new or newer or nothing is left
 * to change. Output: CRM.COM's answer, or the contact as read with `written: false` and why.
 */
export async function updateContact(ctx: IExecuteFunctions, client: CrmComClient, itemIndex: number, request: UpdateRequest): Promise<IDataObject> {
	const { field, value, onlyIfNewer } = request;
	let body = request.body;
	let current = request.current;
	const needsRead = onlyIfNewer !== undefined || PHONES_SET in body || EMAILS_SET in body;
	if (needsRead && current === undefined) {
		current = await readContact(client, itemIndex, field, value);
		if (current === undefined) {
			const message = `CRM.COM has no contact with ${field} "${value}" to update`;
			throw markItemRefusal(new NodeApiError(ctx.getNode(), { message }, {
				message,
				description: 'Check "Identify By" and "Value" (or use Contact → Create or Update).',
				itemIndex,
			}));
		}
	}
	if (current !== undefined) {
		if (onlyIfNewer !== undefined) {
			const held = dateMs(current[onlyIfNewer]);
			const incoming = dateMs(body[onlyIfNewer])!;
			if (held !== undefined && held >= incoming) {
				return {
					...current,
					written: false,
					notWrittenBecause: `${onlyIfNewer} on the contact (${String(current[onlyIfNewer])}) is not older than this write's (${String(body[onlyIfNewer])})`,
				};
			}
		}
		body = withoutKnownEntries(body, current);
		if (Object.keys(body).length === 0) return { ...current, written: false, notWrittenBecause: 'the contact already holds everything this write sets' };
	}
	const data = await client.call('POST', 'contact_information/update', { ...body, contact_information_identifier: { [field]: value } }, {
		itemIndex,
		what: `the contact update (${field}=${value})`,
	});
	const out = (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data }) as IDataObject;
	return onlyIfNewer !== undefined ? { ...out, written: true } : out;
}
