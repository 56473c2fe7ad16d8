import { createPublicKey } from 'node:crypto';

import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';

import {
	acquireB2CopyTokens,
	b2copyFingerprint,
	exchangeB2CopyTokens,
	loadPrivateKey,
	normalizeHost,
	normalizePem,
	parseB2CopyTokens,
	readB2CopyInputs,
	refreshB2CopyTokens,
	signAssertion,
} from '../../../nodes/B2Copy/auth';
import { TokenError } from '../../../nodes/shared/errors';
import { encryptedPkcs8Pem, generateEcKeyPair, generateP384Pem, generateRsaPem } from '../../fakes/keys';
import { ADMIN_ID, DEVICE_IP, KEY_ID, useB2CopyFixture } from '../../support/b2copy';
import { failure, thrownBy } from '../../support/failure';
import { testHttpRequest } from '../../support/http';

const keys = generateEcKeyPair();

function inputs(overrides: Record<string, unknown> = {}) {
	return {
		host: 'https://b2copy.example.com/',
		adminId: ADMIN_ID,
		deviceIp: DEVICE_IP,
		keyId: KEY_ID,
		privateKey: keys.privatePkcs8Pem,
		assertionLifetime: 300,
		...overrides,
	};
}

const tokenError = (fn: () => unknown): TokenError => thrownBy(TokenError, fn);

describe('private key input', () => {
	it.each([
		['PKCS#8', keys.privatePkcs8Pem],
		['SEC1', keys.privateSec1Pem],
		['PKCS#8 with literal \\n', keys.privatePkcs8Pem.trim().replace(/\n/g, '\\n')],
		['SEC1 with literal \\n and quotes', `"${keys.privateSec1Pem.trim().replace(/\n/g, '\\n')}"`],
		['PKCS#8 on one line with spaces', keys.privatePkcs8Pem.trim().replace(/\n/g, ' ')],
		['PKCS#8 with CRLF', keys.privatePkcs8Pem.replace(/\n/g, '\r\n')],
	])('accepts %s', (_, pem) => {
		const { key } = loadPrivateKey(pem);
		expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
		expect(createPublicKey(key).export({ type: 'spki', format: 'pem' })).toBe(keys.publicPem);
	});

	it.each([
		['an RSA key', generateRsaPem(), /RSA key.*EC P-256/],
		['a P-384 key', generateP384Pem(), /curve secp384r1.*P-256/],
		['an encrypted key', encryptedPkcs8Pem('pass phrase'), /encrypted with a passphrase/],
		['a public key', keys.publicPem, /public key or certificate/],
		['random text', 'hello world', /not a PEM private key/],
		['a damaged PEM', keys.privatePkcs8Pem.replace(/[A-Za-z]{10}/, 'AAAAAAAAAA'), /damaged or incomplete/],
		['nothing', '', /is empty/],
	])('refuses %s with a message naming the field', (_, pem, pattern) => {
		const error = tokenError(() => loadPrivateKey(pem));
		expect(error.kind).toBe('input');
		expect(error.field).toBe('Private Key');
		expect(error.message).toMatch(/"Private Key"/);
		expect(error.message).toMatch(pattern);
		expect(error.message).not.toContain(pem.split('\n')[1] || 'no-such-line');
	});

	it('normalises a PEM without touching its content', () => {
		expect(normalizePem(keys.privatePkcs8Pem.trim().replace(/\n/g, '\\n'))).toBe(keys.privatePkcs8Pem.trim());
	});
});

describe('other inputs', () => {
	it.each([
		[{ host: '' }, 'Host URL'],
		[{ host: 'b2copy.example.com' }, 'Host URL'],
		[{ host: 'ftp://b2copy.example.com' }, 'Host URL'],
		[{ adminId: '' }, 'Admin ID'],
		[{ deviceIp: '' }, 'Device IP'],
		[{ deviceIp: '300.1.2.3' }, 'Device IP'],
		[{ deviceIp: 'my-server' }, 'Device IP'],
		[{ keyId: ' ' }, 'Key ID'],
		[{ assertionLifetime: 5 }, 'Assertion Lifetime (Seconds)'],
		[{ assertionLifetime: 86400 }, 'Assertion Lifetime (Seconds)'],
	])('refuses %o naming "%s"', (override, field) => {
		const error = tokenError(() => readB2CopyInputs(inputs(override)));
		expect(error.field).toBe(field);
		expect(error.message).toContain(`"${field}"`);
	});

	it('accepts IPv6 device addresses and trims the host', () => {
		const read = readB2CopyInputs(inputs({ deviceIp: '2001:db8::10' }));
		expect(read.deviceIp).toBe('2001:db8::10');
		expect(read.host).toBe('https://b2copy.example.com');
		expect(normalizeHost('http://127.0.0.1:8080///')).toBe('http://127.0.0.1:8080');
	});

	it('makes no request when an input is wrong', async () => {
		let requests = 0;
		const http = async () => {
			requests++;
			return {};
		};
		await expect(acquireB2CopyTokens(inputs({ privateKey: generateRsaPem() }), http)).rejects.toThrow(/Private Key/);
		await expect(acquireB2CopyTokens(inputs({ deviceIp: 'x' }), http)).rejects.toThrow(/Device IP/);
		expect(requests).toBe(0);
	});
});

describe('the ES256 assertion', () => {
	it('is verified by an independent implementation (jose) and carries the claims', async () => {
		const now = Date.now();
		const jwt = signAssertion(readB2CopyInputs(inputs()), now);
		const header = decodeProtectedHeader(jwt);
		expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: KEY_ID });
		const { payload } = await jwtVerify(jwt, await importSPKI(keys.publicPem, 'ES256'), { algorithms: ['ES256'] });
		expect(payload).toMatchObject({ admin_id: ADMIN_ID, device_ip: DEVICE_IP, key_id: KEY_ID });
		const seconds = Math.floor(now / 1000);
		expect(payload.iat).toBe(seconds - 60);
		expect(payload.exp).toBe(seconds + 300);
		expect(typeof payload.jti).toBe('string');
	});

	it('is unique every time (jti)', () => {
		const read = readB2CopyInputs(inputs());
		expect(signAssertion(read)).not.toBe(signAssertion(read));
	});

	it('fails verification with another key', async () => {
		const other = generateEcKeyPair();
		const jwt = signAssertion(readB2CopyInputs(inputs({ privateKey: other.privatePkcs8Pem })));
		await expect(jwtVerify(jwt, await importSPKI(keys.publicPem, 'ES256'))).rejects.toThrow();
	});
});

describe('token answers', () => {
	const now = 1_700_000_000_000;
	const jwtWithExp = (exp: number) =>
		`${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

	it.each([
		['snake_case', { access_token: 'a1', refresh_token: 'r1', expires_in: 600 }, now + 600_000],
		['camelCase', { accessToken: 'a1', refreshToken: 'r1', expiresIn: '600' }, now + 600_000],
		[
			'objects with expiresAt',
			{ accessToken: { token: 'a1', expiresAt: new Date(now + 90_000).toISOString() }, refreshToken: { token: 'r1' } },
			now + 90_000,
		],
		['wrapped in data', { data: { access_token: 'a1', refresh_token: 'r1', expires_in: 60 } }, now + 60_000],
		['expiry from the JWT exp', { access_token: jwtWithExp(now / 1000 + 120), refresh_token: 'r1' }, now + 120_000],
		['no expiry at all', { access_token: 'a1', refresh_token: 'r1' }, now + 15 * 60_000],
	])('reads %s', (_, body, expiresAt) => {
		const tokens = parseB2CopyTokens(body, now);
		expect(tokens?.refreshToken).toBe('r1');
		expect(tokens?.accessToken).toBeTruthy();
		expect(tokens?.expiresAt).toBe(expiresAt);
	});

	it('finds nothing in an answer without an access token', () => {
		expect(parseB2CopyTokens({ token_type: 'Bearer' }, now)).toBeUndefined();
		expect(parseB2CopyTokens('<html>', now)).toBeUndefined();
	});
});

describe('against the fake B2COPY', () => {
	const f = useB2CopyFixture({}, { fresh: false });

	it.each(['snake', 'camel', 'camelObject', 'wrapped'] as const)('exchanges and refreshes in the %s shape', async (shape) => {
		f.fake.settings.responseShape = shape;
		try {
			const tokens = await exchangeB2CopyTokens(readB2CopyInputs(f.credentials), testHttpRequest);
			expect(tokens.accessToken).toBeTruthy();
			expect(tokens.refreshToken).toBeTruthy();
			expect(tokens.expiresAt).toBeGreaterThan(Date.now());
			const refreshed = await refreshB2CopyTokens(f.fake.url, tokens.refreshToken, testHttpRequest);
			expect(refreshed.accessToken).not.toBe(tokens.accessToken);
			expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
		} finally {
			f.fake.settings.responseShape = 'snake';
		}
	});

	it('reads the expiry from the access token JWT when the answer has none', async () => {
		f.fake.settings.includeExpiry = false;
		try {
			const tokens = await exchangeB2CopyTokens(readB2CopyInputs(f.credentials), testHttpRequest);
			const ttl = f.fake.settings.accessTokenTtlSec * 1000;
			expect(Math.abs(tokens.expiresAt - (Date.now() + ttl))).toBeLessThan(5000);
		} finally {
			f.fake.settings.includeExpiry = true;
		}
	});

	it('renews by a new signed exchange even when a refresh token is stored: never sends the refresh token', async () => {
		f.fake.reset();
		const first = await acquireB2CopyTokens(f.credentials, testHttpRequest);
		expect(f.fake.counters.exchangesOk).toBe(1);
		expect(first.refreshToken).toBeTruthy();
		const second = await acquireB2CopyTokens({ ...f.credentials, ...first }, testHttpRequest);
		expect(f.fake.counters.exchangesOk).toBe(2);
		expect(f.fake.counters.refreshes).toBe(0);
		expect(second.accessToken).not.toBe(first.accessToken);
		// Edited input (another key id registered for the same key): a new fingerprint is stored.
		await f.fake.registerKey('crm-key-2', f.keys.publicPem);
		const edited = { ...f.credentials, ...second, keyId: 'crm-key-2' };
		expect(b2copyFingerprint(edited)).not.toBe(second.inputsFingerprint);
		const third = await acquireB2CopyTokens(edited, testHttpRequest);
		expect(third.inputsFingerprint).toBe(b2copyFingerprint(edited));
		expect(f.fake.counters.exchangesOk).toBe(3);
		expect(f.fake.counters.refreshes).toBe(0);
	});

	it('a revoked refresh token does not matter to renewal', async () => {
		f.fake.reset();
		const first = await acquireB2CopyTokens(f.credentials, testHttpRequest);
		f.fake.revokeRefreshTokens();
		const second = await acquireB2CopyTokens({ ...f.credentials, ...first }, testHttpRequest);
		expect(second.accessToken).toBeTruthy();
		expect(f.fake.counters.refreshes).toBe(0);
		expect(f.fake.counters.exchangesOk).toBe(2);
	});

	it.each([
		['a wrong private key', () => ({ privateKey: generateEcKeyPair().privatePkcs8Pem }), /HTTP 401.*signature.*"Private Key" and "Key ID"/],
		['an unknown key id', () => ({ keyId: 'nobody' }), /HTTP 401.*key.*Check "Key ID"/i],
		['an unknown admin', () => ({ adminId: '999' }), /HTTP 403.*admin.*Check "Admin ID"/i],
		['a device IP not allowed', () => ({ deviceIp: '198.51.100.7' }), /HTTP 403.*Check "Device IP"/],
	])('explains %s, quoting B2COPY, without secrets', async (_, override, pattern) => {
		const credentials = { ...f.credentials, ...(override() as Record<string, string>) };
		const error = await failure<TokenError>(acquireB2CopyTokens(credentials, testHttpRequest));
		expect(error).toBeInstanceOf(TokenError);
		expect(error.message).toMatch(pattern);
		expect(error.message).not.toMatch(/eyJ|PRIVATE KEY/);
		for (const line of String(credentials.privateKey).split('\n').filter((l) => l.length > 20)) {
			expect(error.message).not.toContain(line);
		}
	});

	it('says the host is unreachable, naming the Host URL field', async () => {
		const error = await failure<TokenError>(acquireB2CopyTokens({ ...f.credentials, host: 'http://127.0.0.1:9' }, testHttpRequest));
		expect(error.message).toMatch(/Could not reach B2COPY at 127\.0\.0\.1:9: the connection was refused.*"Host URL"/);
	});

	it('says when the host is not a B2COPY API (HTML, garbage, 404)', async () => {
		// A proxy's 502 page is retried (a transient failure): it must persist to be reported.
		f.fake.fail({ path: /authexternalcrm/, times: 4 }, { kind: 'html' });
		await expect(acquireB2CopyTokens(f.credentials, testHttpRequest)).rejects.toThrow(/does not look like a B2COPY API.*HTML page/);
		f.fake.fail({ path: /authexternalcrm/ }, { kind: 'garbage' });
		await expect(acquireB2CopyTokens(f.credentials, testHttpRequest)).rejects.toThrow(/does not look like a B2COPY API.*not JSON/);
		await expect(acquireB2CopyTokens({ ...f.credentials, host: `${f.fake.url}/wrong/prefix` }, testHttpRequest)).rejects.toThrow(/HTTP 404/);
		// A host with a path: the 404 names the Host URL field, even when a JSON "Not Found" comes with it.
		await expect(acquireB2CopyTokens({ ...f.credentials, host: `${f.fake.url}/wrong/prefix` }, testHttpRequest)).rejects.toThrow(/"Host URL".*Check the "Host URL" field/);
		f.fake.fail({ path: /authexternalcrm/, times: 1 }, { status: 404, body: { message: 'Not Found' } });
		await expect(acquireB2CopyTokens(f.credentials, testHttpRequest)).rejects.toThrow(/does not look like a B2COPY API.*HTTP 404.*Check the "Host URL" field/);
	});
});
