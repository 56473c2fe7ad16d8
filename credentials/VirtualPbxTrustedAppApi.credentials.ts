import type {
	IAuthenticate,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { storedTokenFields } from '../nodes/shared/credentialFields';
import { acquireTrustedAppToken } from '../nodes/VirtualPbx/auth';
import { allowInsecureHttpField } from '../nodes/shared/host';

export const trustedAppAuthenticate: IAuthenticate = async (
	credentials: ICredentialDataDecryptedObject,
	requestOptions: IHttpRequestOptions,
): Promise<IHttpRequestOptions> => ({
	...requestOptions,
	headers: { ...(requestOptions.headers ?? {}), Authorization: `Bearer ${String(credentials.accessToken ?? '')}` },
});

/**
 * A permanent "trusted" application of the PBX user (client credentials): no browser, no
 * refresh token — a new access token whenever the old one expires or is refused.
 */
export class VirtualPbxTrustedAppApi implements ICredentialType {
	name = 'virtualPbxTrustedAppApi';

	displayName = 'Virtual PBX Trusted App API';

	documentationUrl = 'https://github.com/n8n-nodes-crm-pbx/n8n-nodes-crm-pbx#virtual-pbx-trusted-app-api';

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
			displayName: 'App ID',
			name: 'appId',
			type: 'string',
			default: '',
			required: true,
			description: 'ID of the trusted application (output of Virtual PBX → Application → Create Trusted)',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Secret of the trusted application, shown once when it was created',
		},
		...storedTokenFields('accessToken', 'Access Token'),
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		return { ...(await acquireTrustedAppToken(credentials, async (options) => await this.helpers.httpRequest(options))) };
	}

	authenticate = trustedAppAuthenticate;

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
