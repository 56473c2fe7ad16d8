import type { ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';
import { allowInsecureHttpField } from '../nodes/shared/host';

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
			default: '={{String($self["host"]).trim().replace(/\\/+$/, "").replace(/\\/api\\/ver1\\.0$/i, "")}}/oauth/authorize',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{String($self["host"]).trim().replace(/\\/+$/, "").replace(/\\/api\\/ver1\\.0$/i, "")}}/oauth/token',
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
			baseURL: '={{String($credentials.host).trim().replace(/\\/+$/, "").replace(/\\/api\\/ver1\\.0$/i, "")}}',
			url: '/api/ver1.0/user/',
			method: 'GET',
		},
	};
}
