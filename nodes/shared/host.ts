/**
 * `http://` is refused for a vendor address that is not loopback or private (the credential,
 * its tokens and every answer would cross the internet unencrypted) unless the user ticks the
 * credential's explicit "Allow Insecure HTTP" option.
 */
import type { ICredentialDataDecryptedObject, INodeProperties } from 'n8n-workflow';

import { TokenError } from './errors';

export const INSECURE_OPTION = 'Allow Insecure HTTP';
export const INSECURE_PROPERTY = 'allowInsecureHttp';

/** The credential field every credential with a host shows. */
export function allowInsecureHttpField(hostField: string): INodeProperties {
	return {
		displayName: INSECURE_OPTION,
		name: INSECURE_PROPERTY,
		type: 'boolean',
		default: false,
		description: `Whether an http:// "${hostField}" outside this machine and private networks is accepted. The credential and every answer then travel unencrypted.`,
	};
}

export function allowsInsecureHttp(credentials: ICredentialDataDecryptedObject): boolean {
	return credentials[INSECURE_PROPERTY] === true;
}

/** Loopback, private (RFC 1918, unique local) and link-local addresses, and `localhost`. */
export function isLocalOrPrivateHost(hostname: string): boolean {
	const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
	if (host === 'localhost' || host.endsWith('.localhost')) return true;
	const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
	if (v4) {
		const [a, b] = [Number(v4[1]), Number(v4[2])];
		return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
	}
	if (host.includes(':')) {
		if (host === '::1') return true;
		const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/.exec(host);
		if (mapped) return isLocalOrPrivateHost(mapped[1]);
		return /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host);
	}
	return false;
}

/** Throws a TokenError naming the field when `url` is http:// to a public host and not allowed. */
export function refuseInsecureHttp(url: URL, field: string, allowInsecure: boolean): void {
	if (url.protocol !== 'http:' || allowInsecure || isLocalOrPrivateHost(url.hostname)) return;
	throw new TokenError(
		`The "${field}" field uses http://, which would send the credential unencrypted to ${url.hostname}. Use https://, or tick "${INSECURE_OPTION}" in the credential if this server can only be reached over http.`,
		'input',
		field,
	);
}
