/**
 * One request to the vendor through `helpers.httpRequestWithAuthentication`, so n8n's proxy,
 * SSRF and credential rules apply: with the client's own copy of the credential (whose token the
 * client renews itself, renewal.ts), or for OAuth2 credentials with none (n8n refreshes those
 * itself). Adds the per-request timeout, and handles redirects here instead of in n8n's request
 * layer (redirect.ts). No retries, no renewal: one answer, or the error n8n threw.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IHttpRequestOptions, INode } from 'n8n-workflow';

import type { ForbiddenBudget, RequestContext, VendorProfile, VendorResponse } from './clientTypes';
import { NO_REDIRECTS, RedirectRefusedError, decideRedirect, redirectMessage } from './redirect';
import { responseOf } from './response';

type FullResponse = { statusCode: number; headers: Record<string, unknown>; body: unknown };

export class Sender {
	constructor(
		private readonly ctx: RequestContext,
		private readonly profile: VendorProfile,
		private readonly node: () => INode,
		private readonly timeoutMs: number,
		private readonly forbidden: ForbiddenBudget,
	) {}

	/**
	 * One request with the credential, redirects included: n8n is told never to follow one
	 * (it would re-send the credential, and on 307/308 the body, to another host); a same-origin
	 * redirect is followed here with the credential, any other is refused (see redirect.ts).
	 */
	async raw(
		request: IHttpRequestOptions,
		credentials: ICredentialDataDecryptedObject | undefined,
		what?: string,
	): Promise<VendorResponse> {
		let current = request;
		for (let hop = 0; ; hop++) {
			const response = await this.rawOnce(current, credentials);
			const decision = decideRedirect(current, response, hop);
			if (decision.kind === 'none') return response;
			if (decision.kind === 'follow') {
				current = decision.request;
				continue;
			}
			const { message, description } = redirectMessage(
				decision,
				this.profile.vendor,
				what ?? 'the request',
				this.profile.hostField,
			);
			throw new RedirectRefusedError(message, description, decision.status);
		}
	}

	private async rawOnce(
		request: IHttpRequestOptions,
		credentials: ICredentialDataDecryptedObject | undefined,
	): Promise<VendorResponse> {
		const options: IHttpRequestOptions = {
			...NO_REDIRECTS,
			...request,
			// authenticate() may add to these: never let it touch the caller's objects.
			headers: { ...(request.headers ?? {}) },
			qs: request.qs ? { ...request.qs } : undefined,
			body:
				request.body && typeof request.body === 'object' && !Buffer.isBuffer(request.body)
					? Array.isArray(request.body)
						? [...request.body]
						: { ...(request.body as IDataObject) }
					: request.body,
			timeout: request.timeout ?? this.timeoutMs,
			returnFullResponse: true,
		};
		if (options.qs === undefined) delete options.qs;
		if (options.body === undefined) delete options.body;
		const node = this.node();
		const reference = node.credentials?.[this.profile.credentialType];
		if (credentials) {
			// Our own token handling: HTTP errors come back as answers, not as n8n's 401 path.
			options.ignoreHttpStatusErrors = true;
			const full = (await this.ctx.helpers.httpRequestWithAuthentication.call(
				this.ctx,
				this.profile.credentialType,
				options,
				{
					credentialsDecrypted: {
						id: reference?.id ?? '',
						name: reference?.name ?? '',
						type: this.profile.credentialType,
						data: credentials,
					},
				},
			)) as FullResponse;
			return { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body };
		}
		// OAuth2: n8n refreshes on its own when a request throws one of `tokenExpiredStatusCode`
		// (then resends once), so let errors throw and turn an HTTP error back into an answer here.
		// A 403 counts as a refused token too, until one 403 has survived a refresh in this run
		// (then it is a permission refusal, and further 403s cost no refresh).
		const forbiddenRefreshes = !this.forbidden.spent;
		const outcome = await this.ctx.helpers.httpRequestWithAuthentication
			.call(this.ctx, this.profile.credentialType, options, {
				oauth2: { tokenExpiredStatusCode: forbiddenRefreshes ? [401, 403] : 401 },
			})
			.then(
				(full: FullResponse) => ({
					response: { statusCode: full.statusCode, headers: full.headers ?? {}, body: full.body },
				}),
				(error: unknown) => ({ error, response: responseOf(error) }),
			);
		if (outcome.response) {
			const status = outcome.response.statusCode;
			if (status === 401 || status === 403) {
				// n8n refreshed and resent for a 401 (and a 403 when asked to): the answer is the
				// resent request's.
				const renewed = status === 401 || forbiddenRefreshes;
				if (status === 403 && forbiddenRefreshes) this.forbidden.spent = true;
				return { ...outcome.response, renewed };
			}
			return outcome.response;
		}
		throw (outcome as { error: unknown }).error;
	}
}
