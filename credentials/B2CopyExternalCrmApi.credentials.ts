import type {
	IAuthenticate,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { storedTokenFields } from '../nodes/shared/credentialFields';
import {
	B2COPY_PATHS,
	acquireB2CopyTokens,
	readB2CopyInputs,
	signAssertion,
} from '../nodes/B2Copy/auth';
import { allowInsecureHttpField } from '../nodes/shared/host';

/**
 * Adds the Bearer token to every request. The credential Test sends the token exchange itself;
 * for that one request this also signs a fresh assertion, so the Test proves the private key,
 * key ID, admin and device IP even when the stored token was only refreshed.
 */
export const b2copyAuthenticate: IAuthenticate = async (
	credentials: ICredentialDataDecryptedObject,
	requestOptions: IHttpRequestOptions,
): Promise<IHttpRequestOptions> => {
	const headers = { ...(requestOptions.headers ?? {}) };
	headers.Authorization = `Bearer ${String(credentials.accessToken ?? '')}`;
	const options: IHttpRequestOptions = { ...requestOptions, headers };
	const body = requestOptions.body as IDataObject | undefined;
	const url = `${requestOptions.baseURL ?? ''}${requestOptions.url}`;
	if (url.endsWith(B2COPY_PATHS.exchange) && !body?.external_token) {
		options.body = { ...(body ?? {}), external_token: signAssertion(readB2CopyInputs(credentials)) };
	}
	return options;
};

export class B2CopyExternalCrmApi implements ICredentialType {
	name = 'b2CopyExternalCrmApi';

	displayName = 'B2COPY External CRM API';

	documentationUrl = 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#b2copy-external-crm-api';

	icon: Icon = { light: 'file:../icons/b2copy.svg', dark: 'file:../icons/b2copy.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Host URL',
			name: 'host',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://b2copy.your-broker.com',
			description: 'Address of your B2COPY instance, without a path',
		},
		allowInsecureHttpField('Host URL'),
		{
			displayName: 'Admin ID',
			name: 'adminId',
			type: 'string',
			default: '',
			required: true,
			description: 'ID of the service admin created for your CRM in the B2COPY Admin panel',
		},
		{
			displayName: 'Device IP',
			name: 'deviceIp',
			type: 'string',
			default: '',
			required: true,
			placeholder: '203.0.113.10',
			description:
				'Public IP address your n8n server sends requests from, as registered with B2COPY support',
		},
		{
			displayName: 'Key ID',
			name: 'keyId',
			type: 'string',
			default: '',
			required: true,
			description: 'Identifier of your key pair, as registered with B2COPY support',
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 6 },
			default: '',
			required: true,
			placeholder: '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
			description:
				'EC P-256 private key in PEM (PKCS#8 or SEC1), unencrypted. Paste the whole file; "\\n" sequences are accepted.',
		},
		{
			displayName: 'Assertion Lifetime (Seconds)',
			name: 'assertionLifetime',
			type: 'number',
			default: 300,
			typeOptions: { minValue: 30, maxValue: 3600 },
			description: 'How long each signed sign-in assertion is valid',
		},
		...storedTokenFields('accessToken', 'Access Token'),
		{
			displayName: 'Refresh Token',
			name: 'refreshToken',
			type: 'hidden',
			typeOptions: { password: true },
			default: '',
		},
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		return { ...(await acquireB2CopyTokens(credentials, async (options) => await this.helpers.httpRequest(options))) };
	}

	authenticate = b2copyAuthenticate;

	test: ICredentialTestRequest = {
		request: {
			// Never follow a redirect with the credential (see nodes/shared/redirect.ts).
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
			baseURL: '={{String($credentials.host).trim().replace(/\\/+$/, "").replace(/\\/api(\\/.*)?$/i, "")}}',
			url: B2COPY_PATHS.exchange,
			method: 'POST',
		},
		rules: [
			{
				type: 'responseCode',
				properties: {
					value: 401,
					message: 'B2COPY refused the sign-in: check Key ID and Private Key',
				},
			},
			{
				type: 'responseCode',
				properties: {
					value: 403,
					message: 'B2COPY refused the sign-in: check Admin ID and Device IP',
				},
			},
		],
	};
}
