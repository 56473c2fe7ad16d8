/**
 * The only place the B2COPY node talks HTTP: a VendorClient bound to the B2COPY credential
 * (Bearer token, renewal through the credential's preAuthentication), and the plain helper the
 * Token operations use to run the exchange or refresh themselves.
 */
import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import { VendorClient, type ClientOptions, type VendorProfile } from '../shared/client';
export { plainHttp } from '../shared/token';
import {
	B2COPY_CREDENTIAL_TYPE,
	b2copyExpiresAt,
	b2copyFingerprint,
	normalizeHost,
	normalizePem,
} from './auth';
import { allowsInsecureHttp } from '../shared/host';

/** Every base64 line of the key, so that not even a fragment of it can appear in a message. */
function pemParts(value: unknown): string[] {
	const pem = normalizePem(value);
	return [pem, ...pem.split('\n').filter((line) => !line.startsWith('-----') && line.length >= 16)];
}

export const b2copyProfile: VendorProfile = {
	vendor: 'B2COPY',
	credentialType: B2COPY_CREDENTIAL_TYPE,
	hostField: 'Host URL',
	tokenProperty: 'accessToken',
	expiresAt: b2copyExpiresAt,
	inputsChanged: (credentials: ICredentialDataDecryptedObject) =>
		typeof credentials.accessToken === 'string' &&
		credentials.accessToken !== '' &&
		credentials.inputsFingerprint !== b2copyFingerprint(credentials),
	baseUrl: (credentials: ICredentialDataDecryptedObject) => normalizeHost(credentials.host, undefined, allowsInsecureHttp(credentials)),
	secrets: (credentials: ICredentialDataDecryptedObject) => [
		...pemParts(credentials.privateKey),
		credentials.accessToken,
		credentials.refreshToken,
	],
};

/** B2COPY needs nothing beyond the shared client. */
export type B2CopyClient = VendorClient;

export function createB2CopyClient(ctx: IExecuteFunctions, options: ClientOptions = {}): B2CopyClient {
	return new VendorClient(ctx, b2copyProfile, options);
}

