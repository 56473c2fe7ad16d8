import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { tokenErrorToNodeError } from '../../../shared/operation';
import { exchangeB2CopyTokens, readB2CopyInputs } from '../../auth';
import { plainHttp, type B2CopyClient } from '../../transport';
import { TOKEN_NOTICE, tokenItem } from './common';

export const description: INodeProperties[] = [
	{
		displayName: TOKEN_NOTICE,
		name: 'tokenGetNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['token'], operation: ['get'] } },
	},
];

/** Signs a new assertion and exchanges it: outputs the access token, refresh token and expiry. */
export async function execute(
	this: IExecuteFunctions,
	client: B2CopyClient,
	itemIndex: number,
): Promise<ItemResult> {
	const credentials = await client.getCredentials();
	try {
		const tokens = await exchangeB2CopyTokens(readB2CopyInputs(credentials), plainHttp(this));
		return tokenItem(tokens);
	} catch (error) {
		throw tokenErrorToNodeError(this.getNode(), error, itemIndex, await client.secrets());
	}
}

export const parallel = false;
