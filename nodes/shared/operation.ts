/**
 * What every operation module exports, and the plumbing the routers share: the Options
 * collection (requests in parallel, timeout), conversion of token errors, path checks.
 */
import type { IExecuteFunctions, INode, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { TokenError, redact } from './errors';
import type { ItemResult } from './items';

export interface Operation<Client> {
	/** The operation's parameters, shown for its resource and operation. */
	description: INodeProperties[];
	/** Runs the operation for one input item. */
	execute(this: IExecuteFunctions, client: Client, itemIndex: number): Promise<ItemResult>;
	/** Whether several items may run at once (false: one after the other). */
	parallel: boolean;
	/**
	 * A typed read: items of one run that send the very same GET share one request (reuse.ts),
	 * unless Options → "Reuse Identical Lookups" is off.
	 */
	reusable?: boolean;
	/**
	 * For operations that write: the record an item writes (e.g. `contact:number=CI000111`).
	 * Items of one run that write the same record are sent one after another, in item order.
	 */
	recordKey?(this: IExecuteFunctions, itemIndex: number): string | undefined;
	/**
	 * For operations that write: under continue-on-fail, errors for which this returns true still
	 * stop the run (the vendor is unreachable or failing, not refusing this item's data).
	 */
	stopsRun?(error: NodeApiError | NodeOperationError): boolean;
}

export interface RunSettings {
	concurrency: number;
	timeoutMs: number;
	/** Options → "Reuse Identical Lookups" (default on). */
	reuse: boolean;
}

/** The Options collection every action node shows under its typed and custom operations. */
export function optionsCollection(
	vendor: string,
	defaultConcurrency: number,
	maxConcurrency: number,
	show: { resource?: string[]; operation?: string[] } | undefined,
	hide?: { resource?: string[]; operation?: string[] },
	/** Where "Reuse Identical Lookups" shows (the node's typed read operations); absent: nowhere. */
	reuseShow?: { '/resource'?: string[]; '/operation'?: string[] },
): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { ...(show ? { show } : {}), ...(hide ? { hide } : {}) },
		options: [
			{
				displayName: 'Requests in Parallel',
				name: 'concurrency',
				type: 'number',
				default: defaultConcurrency,
				typeOptions: { minValue: 1, maxValue: maxConcurrency },
				description: `How many input items are sent to ${vendor} at the same time (1 to ${maxConcurrency}). Output order always follows input order.`,
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeout',
				type: 'number',
				default: 30,
				typeOptions: { minValue: 1, maxValue: 600 },
				description: `How long to wait for each ${vendor} answer`,
			},
			...(reuseShow
				? [
						{
							displayName: 'Reuse Identical Lookups',
							name: 'reuseLookups',
							type: 'boolean' as const,
							default: true,
							displayOptions: { show: reuseShow },
							description: `Whether items that ask ${vendor} for exactly the same thing in one run share one request (each item still gets its own output). Turn off to send one request per item.`,
						},
					]
				: []),
		],
	};
}

export function readRunSettings(
	ctx: IExecuteFunctions,
	defaultConcurrency: number,
	maxConcurrency: number,
): RunSettings {
	const options = ctx.getNodeParameter('options', 0, {}) as { concurrency?: number; timeout?: number; reuseLookups?: boolean };
	const concurrency = Math.min(
		maxConcurrency,
		Math.max(1, Math.floor(Number(options.concurrency ?? defaultConcurrency)) || 1),
	);
	const timeout = Math.max(1, Number(options.timeout ?? 30) || 30);
	return { concurrency, timeoutMs: timeout * 1000, reuse: options.reuseLookups !== false };
}

/** A TokenError from a token function, as the n8n error a user should see. */
export function tokenErrorToNodeError(
	node: INode,
	error: unknown,
	itemIndex: number,
	secrets: unknown[] = [],
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	const message = redact(error instanceof Error ? error.message : String(error), secrets);
	if (error instanceof TokenError && error.kind === 'input') {
		return new NodeOperationError(node, message, { itemIndex, description: 'Open the credential and correct the field named above.' });
	}
	const httpCode = error instanceof TokenError && error.vendorStatus ? String(error.vendorStatus) : undefined;
	return new NodeApiError(node, { message }, { message, httpCode, itemIndex });
}

/**
 * A path typed by the user, checked so it cannot leave the credential's host: a full URL on
 * the same host is reduced to its path; another host, `..` segments or a bare word are refused.
 */
export function resolvePath(
	node: INode,
	host: string,
	path: string,
	itemIndex: number,
	field = 'Path',
): string {
	let value = path.trim();
	if (/^https?:\/\//i.test(value)) {
		const base = new URL(host);
		const given = new URL(value);
		if (given.host !== base.host) {
			throw new NodeOperationError(node, `The "${field}" points at ${given.host}, not at the credential's host ${base.host}`, {
				itemIndex,
				description: 'Enter only the path (e.g. /api/...). Requests carry your token and never leave the host set in the credential.',
			});
		}
		value = `${given.pathname}${given.search}`;
	}
	if (!value.startsWith('/')) value = `/${value}`;
	if (value.split(/[/?]/).some((segment) => segment === '..')) {
		throw new NodeOperationError(node, `The "${field}" must not contain ".." segments`, { itemIndex });
	}
	return value;
}

/** An id typed by the user, safe to put into a URL path segment. */
export function pathSegment(node: INode, value: unknown, field: string, itemIndex: number): string {
	const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
	if (text === '') throw new NodeOperationError(node, `The "${field}" parameter is empty`, { itemIndex });
	if (/[/?#\\]|^\.\.?$/.test(text)) {
		throw new NodeOperationError(node, `The "${field}" parameter "${text}" contains characters that cannot be part of an ID`, { itemIndex });
	}
	return encodeURIComponent(text);
}
