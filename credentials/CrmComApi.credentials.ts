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
import { acquireCrmComSession } from '../nodes/CrmCom/auth';
import { allowInsecureHttpField } from '../nodes/shared/host';

/**
 * CRM.COM's session token is not a header: GET calls carry it as `?token=`, POST calls as
 * `"token"` in the JSON body (and never the other way round).
 */
export const crmComAuthenticate: IAuthenticate = async (
	credentials: ICredentialDataDecryptedObject,
	requestOptions: IHttpRequestOptions,
): Promise<IHttpRequestOptions> => {
	const token = String(credentials.sessionToken ?? '');
	const method = (requestOptions.method ?? 'GET').toUpperCase();
	if (method === 'GET' || method === 'HEAD' || method === 'DELETE') {
		return { ...requestOptions, qs: { ...(requestOptions.qs ?? {}), token } };
	}
	let body = requestOptions.body;
	if (typeof body === 'string' && body.trim().startsWith('{')) {
		try {
			body = JSON.parse(body) as IDataObject;
		} catch {
			// not JSON: left as it is, and the token goes in a fresh object below
		}
	}
	const isObject = typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body) && !(body instanceof URLSearchParams);
	return {
		...requestOptions,
		body: { ...(isObject ? (body as IDataObject) : {}), token },
	};
};

const show = (loginMethod: string[]) => ({ show: { loginMethod } });

/** A contact number the Test looks up; "not found" is the expected answer. */
export const TEST_CONTACT_NUMBER = 'N8N-CREDENTIAL-TEST';

/**
 * Envelope codes that mean "this session token is refused". CRM.COM documents none of them
 * (vendors.md): these are the plausible spellings; any other non-OK answer to the Test's lookup
 * (NOT_FOUND above all) shows the token was accepted.
 */
export const TOKEN_REFUSAL_CODES = [
	'MISSING_TOKEN',
	'INVALID_TOKEN',
	'TOKEN_EXPIRED',
	'EXPIRED_TOKEN',
	'TOKEN_INVALID',
	'TOKEN_MISSING',
	'INVALID_SESSION',
	'SESSION_EXPIRED',
	'AUTHENTICATION_FAILED',
	'AUTHENTICATION_REQUIRED',
	'UNAUTHORIZED',
	'UNAUTHORISED',
	'NOT_AUTHORIZED',
	'NOT_AUTHORISED',
	'ACCESS_DENIED',
	'PERMISSION_DENIED',
	'FORBIDDEN',
	'INSUFFICIENT_PRIVILEGES',
	'NO_PERMISSION',
] as const;

export class CrmComApi implements ICredentialType {
	name = 'crmComApi';

	displayName = 'CRM.COM API';

	documentationUrl = 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#crmcom-api';

	icon: Icon = { light: 'file:../icons/crmcom.svg', dark: 'file:../icons/crmcom.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Server URL',
			name: 'serverUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://yourcompany.crm.com',
			description: 'Address of your CRM.COM server. With or without /crmapi/rest/v2 at the end.',
		},
		allowInsecureHttpField('Server URL'),
		{
			displayName: 'Consumer Application Key',
			name: 'consumerKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Web API key of the consumer application (CRM.COM → Settings → Consumer Applications). Required with identifier + pass code, and on releases before R16.2.',
		},
		{
			displayName: 'Login Method',
			name: 'loginMethod',
			type: 'options',
			default: 'authenticationCode',
			options: [
				{ name: 'Access Token Authentication Code', value: 'authenticationCode' },
				{ name: 'Access Token Identifier + Pass Code', value: 'identifierPassCode' },
				{ name: 'Identity JWT + Organisation (R16.2+)', value: 'jwt' },
			],
		},
		{
			displayName: 'Authentication Code',
			name: 'authenticationCode',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Authentication code of the CRM.COM access token',
			displayOptions: show(['authenticationCode']),
		},
		{
			displayName: 'Identifier',
			name: 'identifier',
			type: 'string',
			default: '',
			required: true,
			description: 'Identifier of the CRM.COM access token',
			displayOptions: show(['identifierPassCode']),
		},
		{
			displayName: 'Pass Code',
			name: 'passCode',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Pass code of the CRM.COM access token',
			displayOptions: show(['identifierPassCode']),
		},
		{
			displayName: 'Identity JWT',
			name: 'jwt',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Token returned by the CRM.COM identity management system',
			displayOptions: show(['jwt']),
		},
		{
			displayName: 'Organisation',
			name: 'organisation',
			type: 'string',
			default: '',
			required: true,
			description: 'ID of the organisation to open the session in (required with an identity JWT)',
			displayOptions: show(['jwt']),
		},
		{
			displayName: 'Unit',
			name: 'unit',
			type: 'string',
			default: '',
			description: 'Unit ID to log in to. Leave empty for the user\'s default unit.',
		},
		...storedTokenFields('sessionToken', 'Session Token'),
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		return { ...(await acquireCrmComSession(credentials, async (options) => await this.helpers.httpRequest(options))) };
	}

	authenticate = crmComAuthenticate;

	/**
	 * The Test rests on what CRM.COM documents publicly: the login itself (n8n runs
	 * preAuthentication, forced, before the test request, and its refusals name the field to
	 * fix), then one documented read, `contact_information/show`, for a contact number that does
	 * not exist. A NOT_FOUND answer (HTTP 200 or 404) proves the session token works; only a
	 * refusal of the token, or an answer that is not CRM.COM's envelope, fails the Test, with a
	 * message that says the login itself worked. (No public page lists contact_information/list,
	 * which an earlier Test used: servers without it failed the Test with a bare "Not Found".)
	 */
	test: ICredentialTestRequest = {
		request: {
			// Never follow a redirect with the credential (see nodes/shared/redirect.ts).
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
			baseURL:
				'={{String($credentials.serverUrl).trim().replace(/\\/+$/, "").replace(/\\/crmapi(\\/rest(\\/v2)?)?$/i, "") + "/crmapi/rest/v2"}}',
			url: '/contact_information/show',
			method: 'GET',
			qs: { contact_information_identifier: `number=${TEST_CONTACT_NUMBER}`, fields_set: 'id' },
			// CRM.COM may answer "not found" with HTTP 404: judged by the envelope, not the status.
			ignoreHttpStatusErrors: true,
		},
		rules: [
			{
				type: 'responseSuccessBody',
				properties: {
					key: 'status',
					value: undefined,
					message:
						'CRM.COM accepted the login, but answered a contact lookup (contact_information/show) with something that is not a Web API answer. Check the "Server URL" field, and any proxy between n8n and CRM.COM.',
				},
			},
			...TOKEN_REFUSAL_CODES.map((code) => ({
				type: 'responseSuccessBody' as const,
				properties: {
					key: 'status.code',
					value: code,
					message: `CRM.COM accepted the login but refused the new session token on a contact lookup (contact_information/show answered ${code}). Check that the access token may read contacts, and the "Unit" field if you set one.`,
				},
			})),
		],
	};
}
