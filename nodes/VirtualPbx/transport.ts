/**
 * The only place the Virtual PBX node (and its trigger) talks HTTP, with either credential:
 * the trusted application (our token handling: renewal on 401 or expiry, single flight) or the
 * OAuth2 authorization-code credential (n8n's own OAuth2: refresh on 401, reconnect errors).
 *
 * The PBX refuses a second concurrent statistics request of the same client (429), so every
 * statistics call of a run goes through one lane: never two at once, whatever the concurrency.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IHttpRequestMethods } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { VendorClient, type ClientOptions, type RequestContext, type SendOptions, type VendorProfile } from '../shared/client';
import { API_PREFIX, PUBLIC_APP_CREDENTIAL_TYPE, TRUSTED_CREDENTIAL_TYPE, normalizePbxHost, trustedExpiresAt, trustedFingerprint } from './auth';
import { allowsInsecureHttp } from '../shared/host';

export type PbxAuthentication = 'trustedApp' | 'oAuth2';

/** The lane of statistics requests (call history, recordings). */
export const STATISTICS_LANE = 'pbx-statistics';

/** What both PBX credentials have in common: the vendor's name and the host field. */
const pbx = {
	vendor: 'The PBX',
	hostField: 'Host URL',
	baseUrl: (credentials: ICredentialDataDecryptedObject) => normalizePbxHost(credentials.host, allowsInsecureHttp(credentials)),
};

export const trustedProfile: VendorProfile = {
	...pbx,
	credentialType: TRUSTED_CREDENTIAL_TYPE,
	tokenProperty: 'accessToken',
	expiresAt: trustedExpiresAt,
	inputsChanged: (credentials: ICredentialDataDecryptedObject) =>
		typeof credentials.accessToken === 'string' && credentials.accessToken !== '' && credentials.inputsFingerprint !== trustedFingerprint(credentials),
	secrets: (credentials: ICredentialDataDecryptedObject) => [credentials.appSecret, credentials.accessToken],
};

export const oauth2Profile: VendorProfile = {
	...pbx,
	credentialType: PUBLIC_APP_CREDENTIAL_TYPE,
	secrets: (credentials: ICredentialDataDecryptedObject) => {
		const token = (credentials.oauthTokenData ?? {}) as IDataObject;
		return [credentials.clientSecret, token.access_token, token.refresh_token];
	},
};

export interface ApiCall {
	method?: IHttpRequestMethods;
	/** Path after /api/ver1.0, e.g. `/user/`. */
	path: string;
	qs?: IDataObject;
	body?: IDataObject;
	statistics?: boolean;
	binary?: boolean;
}

export class PbxClient extends VendorClient {
	private clientIdPromise?: Promise<string>;

	async host(): Promise<string> {
		return await this.baseUrl();
	}

	/** Sends a call to /api/ver1.0 and returns the full answer (status checked). */
	async api<T = unknown>(call: ApiCall, options: SendOptions): Promise<{ body: T; headers: Record<string, unknown> }> {
		const url = `${await this.host()}${API_PREFIX}${call.path}`;
		const response = await this.send(
			{
				method: call.method ?? 'GET',
				url,
				qs: call.qs,
				body: call.body,
				json: !call.binary,
				...(call.binary ? { encoding: 'arraybuffer' as const } : {}),
			},
			{ ...options, lane: call.statistics ? STATISTICS_LANE : options.lane },
		);
		// Not a 2xx, or a 2xx that is no API answer (an HTML page, damaged JSON): an error, never an
		// output item whose `json` is a string.
		await this.checkAnswer(response, options, call.binary);
		return { body: response.body as T, headers: response.headers };
	}

	async json<T = IDataObject>(call: ApiCall, options: SendOptions): Promise<T> {
		return (await this.api<T>(call, options)).body;
	}

	/** The PBX client id of the credential's user (from /user/), read once per run. */
	async clientId(itemIndex: number): Promise<string> {
		this.clientIdPromise ??= (async () => {
			const user = await this.json<IDataObject>({ path: '/user/' }, { itemIndex, what: 'reading the user of the credential' });
			const id = user.client_id;
			if (id === undefined || id === null || id === '') {
				const message = 'The PBX user of this credential has no client_id, so its call history cannot be read';
				throw new NodeApiError(this.node, { message }, { message, description: 'Use a credential of a PBX client (not a dealer or admin) user.', itemIndex });
			}
			return encodeURIComponent(String(id));
		})();
		return await this.clientIdPromise;
	}
}

export function createPbxClient(ctx: RequestContext, authentication: PbxAuthentication, options: ClientOptions = {}): PbxClient {
	return new PbxClient(ctx, authentication === 'oAuth2' ? oauth2Profile : trustedProfile, options);
}
