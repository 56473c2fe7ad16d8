/**
 * Key material for tests, generated fresh with node:crypto (nothing is checked in).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

export interface EcKeyPair {
	/** `-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm EC` writes it. */
	privatePkcs8Pem: string;
	/** `-----BEGIN EC PRIVATE KEY-----` (SEC1), as `openssl ecparam -genkey` writes it. */
	privateSec1Pem: string;
	/** `-----BEGIN PUBLIC KEY-----` (SPKI), what the vendor registers. */
	publicPem: string;
}

/** A fresh P-256 key pair in the formats a user might paste. */
export function generateEcKeyPair(): EcKeyPair {
	const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
	return {
		privatePkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
		privateSec1Pem: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
		publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
	};
}

/** A 2048-bit RSA private key, PKCS#8 PEM (wrong key type for ES256). */
export function generateRsaPem(): string {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A P-384 EC private key, PKCS#8 PEM (right key type, wrong curve for ES256). */
export function generateP384Pem(): string {
	const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
	return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A P-256 private key as passphrase-encrypted PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`). */
export function encryptedPkcs8Pem(passphrase: string): string {
	const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
	return privateKey
		.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
		.toString();
}

/** The SPKI public PEM of any unencrypted private PEM (PKCS#8, SEC1 or PKCS#1). */
export function publicPemOf(privatePem: string): string {
	return createPublicKey(createPrivateKey(privatePem))
		.export({ type: 'spki', format: 'pem' })
		.toString();
}
