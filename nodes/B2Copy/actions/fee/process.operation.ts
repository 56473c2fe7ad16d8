import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import { redact, vendorMessage } from '../../../shared/errors';
import type { ItemResult } from '../../../shared/items';
import { B2COPY_PATHS } from '../../auth';
import type { B2CopyClient } from '../../transport';

const show = { resource: ['fee'], operation: ['process'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Account Login',
		name: 'accountLogin',
		type: 'string',
		default: '',
		required: true,
		placeholder: '123456',
		description: 'Login of the trading account the fee is processed for',
		displayOptions: { show },
	},
	{
		displayName: 'Request ID',
		name: 'requestId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'withdrawal_req_789',
		description:
			'Your unique ID for this operation (e.g. the CRM withdrawal request ID). Sending the same ID again never processes the fee twice: it asks for its status.',
		displayOptions: { show },
	},
	{
		displayName: 'Wait for Completion',
		name: 'waitForCompletion',
		type: 'boolean',
		default: true,
		description:
			'Whether to ask again until B2COPY reports SUCCESS or ERROR. When off, the first answer is output, which may be PENDING.',
		displayOptions: { show },
	},
	{
		displayName: 'Poll Interval (Seconds)',
		name: 'pollInterval',
		type: 'number',
		default: 2,
		typeOptions: { minValue: 1, maxValue: 300, numberPrecision: 1 },
		description: 'How long to wait between two status requests (at least 1 second)',
		displayOptions: { show: { ...show, waitForCompletion: [true] } },
	},
	{
		displayName: 'Wait Timeout (Seconds)',
		name: 'waitTimeout',
		type: 'number',
		default: 120,
		typeOptions: { minValue: 1, maxValue: 3600 },
		description: 'How long to wait in total for a final status before failing the item',
		displayOptions: { show: { ...show, waitForCompletion: [true] } },
	},
];

export type FeeStatus = 'PENDING' | 'SUCCESS' | 'ERROR';

/** B2COPY's status as 1/2/3, "1"/"2"/"3", or words like PENDING or STATUS_SUCCESS. */
export function feeStatus(value: unknown): FeeStatus | undefined {
	const byNumber: Record<string, FeeStatus> = { '1': 'PENDING', '2': 'SUCCESS', '3': 'ERROR' };
	const text = String(value ?? '').trim().toUpperCase();
	if (byNumber[text]) return byNumber[text];
	if (text.includes('PENDING') || text.includes('PROCESSING')) return 'PENDING';
	if (text.includes('SUCCESS') || text === 'OK' || text === 'DONE') return 'SUCCESS';
	if (text.includes('ERROR') || text.includes('FAIL')) return 'ERROR';
	return undefined;
}

function required(ctx: IExecuteFunctions, name: string, label: string, itemIndex: number): string {
	const value = ctx.getNodeParameter(name, itemIndex, '') as string | number;
	const text = String(value ?? '').trim();
	if (text === '') {
		throw new NodeOperationError(ctx.getNode(), `The "${label}" parameter is empty`, { itemIndex });
	}
	return text;
}

/**
 * Calls processext for one account login and request ID; with "wait for completion" it asks
 * again (same request ID, so B2COPY never processes twice) until SUCCESS or ERROR.
 */
/**
 * A number of seconds within [min, max], as milliseconds; anything else (an expression giving 0.1,
 * text, a negative number) is refused naming the parameter, before any request is sent.
 */
function secondsParameter(
	ctx: IExecuteFunctions,
	name: string,
	label: string,
	itemIndex: number,
	fallback: number,
	min: number,
	max: number,
): number {
	const raw = ctx.getNodeParameter(name, itemIndex, fallback) as unknown;
	const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
		throw new NodeOperationError(ctx.getNode(), `The "${label}" parameter must be a number of seconds from ${min} to ${max}, got "${String(raw)}"`, {
			itemIndex,
			description: `Set "${label}" to at least ${min} second${min === 1 ? '' : 's'}: B2COPY should not be asked for a status more often than once a second.`,
		});
	}
	return value * 1000;
}

export async function execute(
	this: IExecuteFunctions,
	client: B2CopyClient,
	itemIndex: number,
): Promise<ItemResult> {
	const accountLogin = required(this, 'accountLogin', 'Account Login', itemIndex);
	const requestId = required(this, 'requestId', 'Request ID', itemIndex);
	const wait = this.getNodeParameter('waitForCompletion', itemIndex, true) as boolean;
	const intervalMs = wait ? secondsParameter(this, 'pollInterval', 'Poll Interval (Seconds)', itemIndex, 2, 1, 300) : 0;
	const timeoutMs = wait ? secondsParameter(this, 'waitTimeout', 'Wait Timeout (Seconds)', itemIndex, 120, 1, 3600) : 0;
	const url = `${await client.baseUrl()}${B2COPY_PATHS.processExt}`;
	const started = Date.now();
	let polls = 0;
	for (;;) {
		polls++;
		const body = await client.request<IDataObject>(
			{ method: 'POST', url, body: { account_login: accountLogin, request_id: requestId }, json: true },
			// Idempotent by request_id: safe to resend after a dropped connection.
			{ itemIndex, idempotent: true, what: `fee processing (request ID "${requestId}")` },
		);
		const answer: IDataObject = typeof body === 'object' && body !== null ? body : { answer: body };
		const status = feeStatus(answer.status);
		if (status === 'SUCCESS') return { ...answer, statusText: status, polls };
		if (status === 'ERROR') {
			const said = vendorMessage(answer) ?? 'no reason given';
			const message = redact(`B2COPY reported ERROR for fee request "${requestId}": ${said}`, await client.secrets());
			throw new NodeApiError(this.getNode(), { message }, {
				message,
				description: `Account login ${accountLogin}. Sending the same request ID again returns the same result; use a new request ID for a new attempt.`,
				itemIndex,
			});
		}
		if (status === undefined) {
			const message = `B2COPY answered fee request "${requestId}" with an unknown status "${String(answer.status)}"`;
			throw new NodeApiError(this.getNode(), { message }, { message, itemIndex });
		}
		if (!wait) return { ...answer, statusText: status, polls };
		if (Date.now() - started + intervalMs > timeoutMs) {
			throw new NodeOperationError(this.getNode(), `Fee request "${requestId}" was still PENDING after ${Math.round((Date.now() - started) / 1000)} s (${polls} checks)`, {
				itemIndex,
				description: 'Raise "Wait Timeout", or run the workflow again later with the same request ID: B2COPY will not process it twice.',
			});
		}
		await sleep(intervalMs);
	}
}

export const parallel = true;
