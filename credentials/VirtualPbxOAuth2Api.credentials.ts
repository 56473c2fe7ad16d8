import type { ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';
import { allowInsecureHttpField } from '../nodes/shared/host';

/**
 * The URL scheme the OAuth2 URLs get instead of the Host URL when that is http:// to a public
 * host and "Allow Insecure HTTP" is not ticked: n8n's own OAuth2 connect (which never runs the
 * package's host check) then refuses with "OAuth url must use HTTP or HTTPS protocol. Invalid
 * protocol: use-https-in-host-url-or-tick-allow-insecure-http:", before any request is sent.
 */
export const INSECURE_OAUTH_SCHEME = 'use-https-in-host-url-or-tick-allow-insecure-http';

/**
 * After http://: loopback, private (RFC 1918, unique local) and link-local hosts and localhost,
 * as a regular expression: the twin of isLocalOrPrivateHost (nodes/shared/host.ts) for n8n
 * expressions (test/nodes/shared/host.test.ts checks that both agree).
 */
const LOCAL_HTTP = String.raw`^http:\/\/(localhost|[^\/?#:@]*\.localhost|127(\.\d{1,3}){3}|10(\.\d{1,3}){3}|192\.168(\.\d{1,3}){2}|172\.(1[6-9]|2\d|3[01])(\.\d{1,3}){2}|169\.254(\.\d{1,3}){2}|\[(::1|f[cd][0-9a-f]{2}:[0-9a-f:.]*|fe[89ab][0-9a-f]:[0-9a-f:.]*)\])(:\d*)?([\/?#]|$)`;

/**
 * The normalised Host URL as an n8n expression over `ref` ($self in the credential's own fields,
 * $credentials in its Test), or the refused scheme (see INSECURE_OAUTH_SCHEME).
 */
export function pbxBaseExpression(ref: '$self' | '$credentials'): string {
	const host = String.raw`String(${ref}["host"]).trim().replace(/\/+$/, "").replace(/\/api\/ver1\.0$/i, "")`;
	return String.raw`((h) => /^http:\/\//i.test(h) && ${ref}["allowInsecureHttp"] !== true && !/${LOCAL_HTTP}/i.test(h) ? "${INSECURE_OAUTH_SCHEME}:" : h)(${host})`;
}

/**
 * The PBX user's approval of a "public" application (OAuth2 authorization code, scope `all`).
 * n8n runs the whole flow: Connect button, callback, token storage, refresh on 401, and the
 * "reconnect" error when the refresh token is dead. Register n8n's OAuth callback URL (shown
 * in this form) as the public application's redirect URI.
 */
export class VirtualPbxOAuth2Api implements ICredentialType {
	name = 'virtualPbxOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Virtual PBX OAuth2 API';

	documentationUrl = 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#virtual-pbx-oauth2-api';

	icon: Icon = { light: 'file:../icons/pbx.svg', dark: 'file:../icons/pbx.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Host URL',
			name: 'host',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://apiproxy.telphin.ru',
			description: 'Address of your PBX operator\'s API server, without a path',
		},
		allowInsecureHttpField('Host URL'),
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'authorizationCode',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: `={{${pbxBaseExpression('$self')}}}/oauth/authorize`,
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: `={{${pbxBaseExpression('$self')}}}/oauth/token`,
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: 'all',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: '',
		},
		{
			// The PBX documents client_id and client_secret in the form body of /oauth/token.
			displayName: 'Authentication',
			name: 'authentication',
			type: 'hidden',
			default: 'body',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			// Never follow a redirect with the credential (see nodes/shared/redirect.ts).
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
			baseURL: `={{${pbxBaseExpression('$credentials')}}}`,
			url: '/api/ver1.0/user/',
			method: 'GET',
		},
	};
}
