/**
 * The pieces every "API Request" operation shares: name/value parameter lists, a JSON body that
 * may arrive as text or as an object, and the answer turned into items.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from './items';

type Show = { resource: string[]; operation: string[] };

/** A "Name / Value" list parameter (query parameters, CRM.COM parameters, filters). */
export function nameValueList(
	name: string,
	displayName: string,
	show: Show,
	description?: string,
): INodeProperties {
	return {
		displayName,
		name,
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add parameter',
		default: {},
		...(description ? { description } : {}),
		displayOptions: { show },
		options: [
			{
				displayName: 'Parameter',
				name: 'parameter',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	};
}

/** The entries of a name/value list as an object; `token` is never taken from the user. */
export function readNameValueList(ctx: IExecuteFunctions, name: string, itemIndex: number): IDataObject {
	const list = ctx.getNodeParameter(`${name}.parameter`, itemIndex, []) as Array<{ name: string; value: string }>;
	const out: IDataObject = {};
	for (const entry of list) if (entry.name && entry.name !== 'token') out[entry.name] = entry.value;
	return out;
}

/** The "JSON Body" parameter, shown for the given methods. */
export function jsonBodyField(show: Show, methods: string[], description: string): INodeProperties {
	return {
		displayName: 'JSON Body',
		name: 'jsonBody',
		type: 'json',
		default: '',
		description,
		displayOptions: { show: { ...show, method: methods } },
	};
}

/** The JSON body as an object (or undefined when empty); text that is not a JSON object is refused. */
export function readJsonBody(ctx: IExecuteFunctions, itemIndex: number, example: string): IDataObject | undefined {
	const raw = ctx.getNodeParameter('jsonBody', itemIndex, '') as unknown;
	if (raw === undefined || raw === null || raw === '') return undefined;
	if (typeof raw === 'object' && !Array.isArray(raw)) return raw as IDataObject;
	let parsed: unknown;
	try {
		parsed = typeof raw === 'string' ? JSON.parse(raw) : undefined;
	} catch {
		parsed = undefined;
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NodeOperationError(ctx.getNode(), 'The "JSON Body" parameter is not a JSON object', {
			itemIndex,
			description: `Enter an object such as ${example}, or leave it empty.`,
		});
	}
	return parsed as IDataObject;
}

/** An answer as items: an array gives one item per entry, an object one item, anything else `{data}`. */
export function answerItems(answer: unknown): ItemResult {
	if (Array.isArray(answer)) {
		return answer.map((entry) => (typeof entry === 'object' && entry !== null ? (entry as IDataObject) : { value: entry as string }));
	}
	if (typeof answer === 'object' && answer !== null) return answer as IDataObject;
	return { data: (answer ?? null) as string | null };
}
