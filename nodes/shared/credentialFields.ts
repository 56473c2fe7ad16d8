import type { INodeProperties } from 'n8n-workflow';

/**
 * The hidden fields a token-acquiring credential keeps in n8n's credential store: the token
 * (the `expirable` property that makes n8n call preAuthentication), when it expires, and a
 * fingerprint of the inputs it was obtained with (so an edited credential gets a new token).
 */
export function storedTokenFields(tokenName: string, tokenLabel: string): INodeProperties[] {
	return [
		{ displayName: tokenLabel, name: tokenName, type: 'hidden', typeOptions: { expirable: true, password: true }, default: '' },
		{ displayName: 'Expires At', name: 'expiresAt', type: 'hidden', default: 0 },
		{ displayName: 'Inputs Fingerprint', name: 'inputsFingerprint', type: 'hidden', default: '' },
	];
}
