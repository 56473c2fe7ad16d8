/**
 * A fake CRM.COM with one consumer application key, an access token for each login method
 * (authentication code; identifier + pass code; identity JWT + organisation), two units, and
 * the matching credential data: the starting point of CRM.COM tests in every tier.
 *
 * The secrets are long and distinctive (redaction skips values under 6 characters), so a leak
 * test that searches for them proves something.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { signIdentityJwt, startFakeCrmCom, type FakeCrmCom, type FakeCrmComOptions } from '../fakes/crmcom';
import { useFake, useFixture, type FakeUseOptions } from './lifecycle';

export const CONSUMER_KEY = 'ck-7F3A9C1E5B2D4F60A8C7E1D3B5F79A2C';
export const AUTH_CODE = 'ac-Kestora-7781!';
export const IDENTIFIER = 'agent.smith@example.com';
export const PASS_CODE = 'pc-Quartz-4242';
export const IDENTITY_SECRET = 'identity-secret-for-crmcom-tests';
export const ORGANISATION = 'ps_dev';
export const UNITS = ['1', '2'];

export type CrmComLoginMethod = 'authenticationCode' | 'identifierPassCode' | 'jwt';

export interface CrmComFixture {
	fake: FakeCrmCom;
	/** Authentication-code credentials (the default login method). */
	credentials: ICredentialDataDecryptedObject;
	/** Credentials for each login method. */
	byMethod: Record<CrmComLoginMethod, ICredentialDataDecryptedObject>;
	/** A valid identity-system JWT (1 hour). */
	identityJwt: string;
	/** Every secret input, for leak tests (session tokens: `fake.issuedTokens()`). */
	secrets: string[];
	/** Moves the fake's clock (not ours) by `ms` from real time; 0 puts it back. */
	shiftClock(ms: number): void;
}

export async function crmcomFixture(options: Partial<FakeCrmComOptions> = {}): Promise<CrmComFixture> {
	let offset = 0;
	const fake = await startFakeCrmCom({
		consumerKeys: [CONSUMER_KEY],
		authenticationCodes: { [AUTH_CODE]: {} },
		identifiers: { [IDENTIFIER]: { passCode: PASS_CODE } },
		identityJwtSecret: IDENTITY_SECRET,
		organisations: [ORGANISATION, 'other_org'],
		units: UNITS,
		now: () => Date.now() + offset,
		...options,
	});
	const identityJwt = signIdentityJwt(IDENTITY_SECRET, { sub: 'identity-user-7' }, { expiresInSec: 3600 });
	const common = { serverUrl: fake.url, consumerKey: CONSUMER_KEY, unit: '' };
	const byMethod: Record<CrmComLoginMethod, ICredentialDataDecryptedObject> = {
		authenticationCode: { ...common, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE },
		identifierPassCode: { ...common, loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: PASS_CODE },
		jwt: { ...common, loginMethod: 'jwt', jwt: identityJwt, organisation: ORGANISATION },
	};
	return {
		fake,
		credentials: byMethod.authenticationCode,
		byMethod,
		identityJwt,
		secrets: [CONSUMER_KEY, AUTH_CODE, PASS_CODE, identityJwt],
		shiftClock: (ms: number) => {
			offset = ms;
		},
	};
}

/** `crmcomFixture(options)` for the file or describe block (test/support/lifecycle.ts). */
export function useCrmComFixture(options: Partial<FakeCrmComOptions> = {}, use: FakeUseOptions = {}): CrmComFixture {
	return useFixture('the CRM.COM fixture', async () => await crmcomFixture(options), use);
}

/** A bare fake CRM.COM (the suite's own secrets) for the file or describe block. */
export function useFakeCrmCom(options: FakeCrmComOptions, use: FakeUseOptions = {}): FakeCrmCom {
	return useFake('the fake CRM.COM', async () => await startFakeCrmCom(options), use);
}
