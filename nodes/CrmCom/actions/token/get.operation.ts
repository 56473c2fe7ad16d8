import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ItemResult } from '../../../shared/items';
import { tokenErrorToNodeError } from '../../../shared/operation';
import { loginCrmCom } from '../../auth';
import { plainHttp, type CrmComClient } from '../../transport';

export const description: INodeProperties[] = [
	{
		displayName:
			'This operation logs in and outputs a live session token: anyone who can open this workflow\'s executions can use it for two hours. The other operations never need it — they log in by themselves.',
		name: 'tokenNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['token'], operation: ['get'] } },
	},
];

/** Logs in with the credential and outputs the session token and when it expires. */
export async function execute(this: IExecuteFunctions, client: CrmComClient, itemIndex: number): Promise<ItemResult> {
	const credentials = await client.getCredentials();
	try {
		const session = await loginCrmCom(credentials, plainHttp(this));
		return {
			token: session.sessionToken,
			expiresAt: new Date(session.expiresAt).toISOString(),
			expiresIn: Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000)),
		};
	} catch (error) {
		throw tokenErrorToNodeError(this.getNode(), error, itemIndex, await client.secrets());
	}
}

export const parallel = false;
