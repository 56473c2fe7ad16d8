import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { tokenErrorToNodeError } from '../../../shared/operation';
import { normalizeHost, refreshB2CopyTokens } from '../../auth';
import { plainHttp, type B2CopyClient } from '../../transport';
import { TOKEN_NOTICE, tokenItem } from './common';
import { allowsInsecureHttp } from '../../../shared/host';

export const description: INodeProperties[] = [
	{
		displayName: TOKEN_NOTICE,
		name: 'tokenRefreshNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['token'], operation: ['refresh'] } },
	},
	{
		displayName: 'Refresh Token',
		name: 'refreshToken',
		type: 'string',
		typeOptions: { password: true },
		default: '',
		required: true,
		description:
			'A refresh token from an earlier Token → Get or Refresh step (map its refreshToken field). B2COPY accepts each refresh token once.',
		displayOptions: { show: { resource: ['token'], operation: ['refresh'] } },
	},
];

/** Trades the given refresh token for a new pair and outputs it. */
export async function execute(
	this: IExecuteFunctions,
	client: B2CopyClient,
	itemIndex: number,
): Promise<ItemResult> {
	const refreshToken = String(this.getNodeParameter('refreshToken', itemIndex, '')).trim();
	if (refreshToken === '') {
		throw new NodeOperationError(this.getNode(), 'The "Refresh Token" parameter is empty', {
			itemIndex,
			description: 'Map the refreshToken field of an earlier Token → Get or Token → Refresh step into it.',
		});
	}
	const credentials = await client.getCredentials();
	try {
		const tokens = await refreshB2CopyTokens(normalizeHost(credentials.host, undefined, allowsInsecureHttp(credentials)), refreshToken, plainHttp(this));
		return tokenItem(tokens);
	} catch (error) {
		throw tokenErrorToNodeError(this.getNode(), error, itemIndex, [refreshToken, ...(await client.secrets())]);
	}
}

export const parallel = false;
