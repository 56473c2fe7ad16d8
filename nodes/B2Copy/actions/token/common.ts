import type { IDataObject } from 'n8n-workflow';

import type { B2CopyTokens } from '../../auth';

/** The item Token → Get and Token → Refresh output: the one place tokens leave the store. */
export function tokenItem(tokens: B2CopyTokens, nowMs: number = Date.now()): IDataObject {
	return {
		accessToken: tokens.accessToken,
		refreshToken: tokens.refreshToken,
		tokenType: 'Bearer',
		expiresAt: new Date(tokens.expiresAt).toISOString(),
		expiresIn: Math.max(0, Math.round((tokens.expiresAt - nowMs) / 1000)),
	};
}

export const TOKEN_NOTICE =
	'This operation outputs live tokens: anyone who can open this workflow\'s executions can use them. The other operations never need it — they sign in by themselves.';
