/**
 * A fake B2COPY with one registered key pair, admin and device IP, and the matching credential
 * data. Free of vitest, so `npm run demo` (tsx, outside vitest) can use it too; the hooks are in
 * b2copy.ts.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { startFakeB2Copy, type FakeB2Copy, type FakeB2CopyOptions } from '../fakes/b2copy';
import { generateEcKeyPair, type EcKeyPair } from '../fakes/keys';

export const ADMIN_ID = '42';
export const DEVICE_IP = '203.0.113.10';
export const KEY_ID = 'crm-key-1';

export interface B2CopyFixture {
	fake: FakeB2Copy;
	keys: EcKeyPair;
	credentials: ICredentialDataDecryptedObject;
}

export async function b2copyFixture(options: Partial<FakeB2CopyOptions> = {}): Promise<B2CopyFixture> {
	const keys = generateEcKeyPair();
	const fake = await startFakeB2Copy({
		keys: { [KEY_ID]: keys.publicPem },
		admins: { [ADMIN_ID]: { allowedIps: [DEVICE_IP] } },
		...options,
	});
	return {
		fake,
		keys,
		credentials: {
			host: fake.url,
			adminId: ADMIN_ID,
			deviceIp: DEVICE_IP,
			keyId: KEY_ID,
			privateKey: keys.privatePkcs8Pem,
			assertionLifetime: 300,
		},
	};
}
