/**
 * Bad inputs across every credential field and node parameter, run through the nodes the way a
 * workflow runs them. Each case asserts: an error whose message names the field to fix, no request
 * reached the fake vendor (the input alone is wrong, so nothing is sent), and no secret of the
 * credential in the message or description.
 */
import type { ICredentialDataDecryptedObject, ICredentialType, IDataObject, INodeType } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../credentials/CrmComApi.credentials';
import { VirtualPbxTrustedAppApi } from '../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../nodes/B2Copy/B2Copy.node';
import { CrmCom } from '../nodes/CrmCom/CrmCom.node';
import { VirtualPbx } from '../nodes/VirtualPbx/VirtualPbx.node';
import type { FakeServer } from './fakes/common';
import { createExecuteContext, credentialStore } from './support/context';
import { useVendorFixtures } from './support/vendors';

interface Case {
	/** What is wrong, for the test name. */
	what: string;
	/** Credential fields replaced (undefined removes one). */
	credentials?: Record<string, unknown>;
	params: Record<string, unknown>;
	/** The field the message must name, exactly as the user sees it. */
	field: string;
	/** More the message must say. */
	says?: RegExp;
}

const { b2, crm, pbx } = useVendorFixtures();

async function errorOf(
	node: INodeType,
	type: ICredentialType,
	credentials: ICredentialDataDecryptedObject,
	params: Record<string, unknown>,
): Promise<{ message: string; description: string }> {
	const store = credentialStore(type, credentials);
	const ctx = createExecuteContext({ store, params, items: [{}] });
	const error = await (node.execute as (this: unknown) => Promise<unknown>).call(ctx).then(
		() => undefined,
		(e: unknown) => e as Error & { description?: string },
	);
	if (!error) throw new Error('expected the node to fail');
	return { message: error.message, description: String(error.description ?? '') };
}

function withOverrides(base: ICredentialDataDecryptedObject, overrides: Record<string, unknown> = {}): ICredentialDataDecryptedObject {
	const out: ICredentialDataDecryptedObject = { ...base };
	for (const [key, value] of Object.entries(overrides)) {
		if (value === undefined) delete out[key];
		else out[key] = value as string;
	}
	return out;
}

function check(result: { message: string; description: string }, c: Case, fake: FakeServer, secrets: string[]) {
	expect(result.message).toContain(`"${c.field}"`);
	if (c.says) expect(`${result.message} ${result.description}`).toMatch(c.says);
	expect(fake.requests).toHaveLength(0);
	for (const secret of secrets) {
		if (secret.length < 6) continue;
		expect(result.message).not.toContain(secret);
		expect(result.description).not.toContain(secret);
	}
}

// ---- B2COPY -------------------------------------------------------------------------------------

const b2Echo = { resource: 'apiRequest', operation: 'request', method: 'GET', path: '/api/admin/test/echo' };
const b2Fee = (extra: IDataObject = {}) => ({ resource: 'fee', operation: 'process', accountLogin: '123456', requestId: 'r-1', waitForCompletion: true, pollInterval: 2, waitTimeout: 60, ...extra });

const b2Cases: Case[] = [
	{ what: 'empty host', credentials: { host: '' }, params: b2Echo, field: 'Host URL', says: /empty/ },
	{ what: 'host without scheme', credentials: { host: 'b2copy.example.com' }, params: b2Echo, field: 'Host URL' },
	{ what: 'host over ftp', credentials: { host: 'ftp://b2copy.example.com' }, params: b2Echo, field: 'Host URL' },
	{ what: 'host with a query', credentials: { host: 'https://b2copy.example.com/?x=1' }, params: b2Echo, field: 'Host URL' },
	{ what: 'host with a fragment', credentials: { host: 'https://b2copy.example.com/#top' }, params: b2Echo, field: 'Host URL' },
	{ what: 'host not a URL', credentials: { host: 'not a url' }, params: b2Echo, field: 'Host URL' },
	{ what: 'empty admin ID', credentials: { adminId: '' }, params: b2Echo, field: 'Admin ID', says: /empty/ },
	{ what: 'missing admin ID', credentials: { adminId: undefined }, params: b2Echo, field: 'Admin ID' },
	{ what: 'empty device IP', credentials: { deviceIp: '' }, params: b2Echo, field: 'Device IP', says: /empty/ },
	{ what: 'device IP a host name', credentials: { deviceIp: 'n8n.example.com' }, params: b2Echo, field: 'Device IP', says: /not an IP address/ },
	{ what: 'device IP out of range', credentials: { deviceIp: '300.1.2.3' }, params: b2Echo, field: 'Device IP' },
	{ what: 'empty key ID', credentials: { keyId: '' }, params: b2Echo, field: 'Key ID', says: /empty/ },
	{ what: 'empty private key', credentials: { privateKey: '' }, params: b2Echo, field: 'Private Key', says: /empty/ },
	{ what: 'private key not a PEM', credentials: { privateKey: 'hello' }, params: b2Echo, field: 'Private Key', says: /not a PEM/ },
	{ what: 'a public key instead', credentials: { privateKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, params: b2Echo, field: 'Private Key', says: /public key/ },
	{ what: 'a damaged PEM', credentials: { privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, params: b2Echo, field: 'Private Key', says: /damaged/ },
	{ what: 'an encrypted key', credentials: { privateKey: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----' }, params: b2Echo, field: 'Private Key', says: /passphrase/ },
	{ what: 'assertion lifetime 5 s', credentials: { assertionLifetime: 5 }, params: b2Echo, field: 'Assertion Lifetime (Seconds)', says: /30 and 3600/ },
	{ what: 'assertion lifetime 1 day', credentials: { assertionLifetime: 86400 }, params: b2Echo, field: 'Assertion Lifetime (Seconds)' },
	{ what: 'API path to another host', params: { ...b2Echo, path: 'https://evil.example.com/api/x' }, field: 'Path', says: /not at the credential's host/ },
	{ what: 'API path with ..', params: { ...b2Echo, path: '/api/../secret' }, field: 'Path', says: /\.\./ },
	{ what: 'API JSON body not JSON', params: { ...b2Echo, method: 'POST', jsonBody: '{oops' }, field: 'JSON Body' },
	{ what: 'API JSON body an array', params: { ...b2Echo, method: 'POST', jsonBody: '[1,2]' }, field: 'JSON Body' },
	{ what: 'fee without account login', params: b2Fee({ accountLogin: '' }), field: 'Account Login', says: /empty/ },
	{ what: 'fee without request ID', params: b2Fee({ requestId: '  ' }), field: 'Request ID', says: /empty/ },
	{ what: 'poll interval 0.1 s', params: b2Fee({ pollInterval: 0.1 }), field: 'Poll Interval (Seconds)', says: /from 1 to 300/ },
	{ what: 'poll interval 0', params: b2Fee({ pollInterval: 0 }), field: 'Poll Interval (Seconds)' },
	{ what: 'poll interval text', params: b2Fee({ pollInterval: 'soon' }), field: 'Poll Interval (Seconds)' },
	{ what: 'wait timeout 0', params: b2Fee({ waitTimeout: 0 }), field: 'Wait Timeout (Seconds)' },
	{ what: 'wait timeout 2 hours', params: b2Fee({ waitTimeout: 7200 }), field: 'Wait Timeout (Seconds)' },
	{ what: 'refresh without a refresh token', params: { resource: 'token', operation: 'refresh', refreshToken: '' }, field: 'Refresh Token', says: /empty/ },
];

describe('B2COPY bad inputs', () => {
	it.each(b2Cases)('$what → names "$field", sends nothing', async (c) => {
		const result = await errorOf(new B2Copy(), new B2CopyExternalCrmApi(), withOverrides(b2.credentials, c.credentials), c.params);
		check(result, c, b2.fake, [String(b2.credentials.privateKey), b2.keys.privatePkcs8Pem]);
	});
});

// ---- CRM.COM ------------------------------------------------------------------------------------

const crmContact = { resource: 'contact', operation: 'get', identifyBy: 'number', identifierValue: 'CI000001' };

const crmCases: Case[] = [
	{ what: 'empty server URL', credentials: { serverUrl: '' }, params: crmContact, field: 'Server URL', says: /empty/ },
	{ what: 'server URL not a URL', credentials: { serverUrl: 'acme crm' }, params: crmContact, field: 'Server URL' },
	{ what: 'server URL over ftp', credentials: { serverUrl: 'ftp://acme.crm.com' }, params: crmContact, field: 'Server URL' },
	{ what: 'server URL with a query', credentials: { serverUrl: 'https://acme.crm.com/?a=b' }, params: crmContact, field: 'Server URL' },
	{ what: 'server URL with a fragment', credentials: { serverUrl: 'https://acme.crm.com/#x' }, params: crmContact, field: 'Server URL' },
	{ what: 'empty authentication code', credentials: { authenticationCode: '' }, params: crmContact, field: 'Authentication Code', says: /empty/ },
	{ what: 'missing authentication code', credentials: { authenticationCode: undefined }, params: crmContact, field: 'Authentication Code' },
	{ what: 'identifier login without identifier', credentials: { loginMethod: 'identifierPassCode', identifier: '', passCode: 'pc-Quartz-4242' }, params: crmContact, field: 'Identifier', says: /empty/ },
	{ what: 'identifier login without pass code', credentials: { loginMethod: 'identifierPassCode', identifier: 'agent@example.com', passCode: '' }, params: crmContact, field: 'Pass Code', says: /empty/ },
	{ what: 'identifier login without consumer key', credentials: { loginMethod: 'identifierPassCode', identifier: 'agent@example.com', passCode: 'pc-Quartz-4242', consumerKey: '' }, params: crmContact, field: 'Consumer Application Key' },
	{ what: 'JWT login without JWT', credentials: { loginMethod: 'jwt', jwt: '', organisation: 'ps_dev' }, params: crmContact, field: 'Identity JWT' },
	{ what: 'JWT login without organisation', credentials: { loginMethod: 'jwt', jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', organisation: '' }, params: crmContact, field: 'Organisation' },
	{ what: 'unknown login method', credentials: { loginMethod: 'magic' }, params: crmContact, field: 'Login Method' },
	{ what: 'empty contact value', params: { ...crmContact, identifierValue: '' }, field: 'Value', says: /empty/ },
	{ what: 'blank contact value', params: { ...crmContact, identifierValue: '   ' }, field: 'Value' },
	{ what: 'other field name with spaces', params: { ...crmContact, identifyBy: 'other', identifierField: 'id number' }, field: 'Field Name' },
	{ what: 'other field name empty', params: { ...crmContact, identifyBy: 'other', identifierField: '' }, field: 'Field Name' },
	{ what: 'other field name starting with a digit', params: { ...crmContact, identifyBy: 'other', identifierField: '1st' }, field: 'Field Name' },
	{ what: 'API action not a method', params: { resource: 'apiRequest', operation: 'request', method: 'GET', action: '../admin' }, field: 'Resource and Action' },
	{ what: 'API action a full URL', params: { resource: 'apiRequest', operation: 'request', method: 'GET', action: 'https://evil.example.com/x' }, field: 'Resource and Action' },
	{ what: 'API JSON body not JSON', params: { resource: 'apiRequest', operation: 'request', method: 'POST', action: 'contact_information/update', jsonBody: 'nope' }, field: 'JSON Body' },
	{ what: 'API JSON body a number', params: { resource: 'apiRequest', operation: 'request', method: 'POST', action: 'contact_information/update', jsonBody: '42' }, field: 'JSON Body' },
	{ what: 'group members without a group', params: { resource: 'account', operation: 'getGroupMembers', identifyBy: 'number', identifierValue: '', returnAll: true }, field: 'Value' },
];

describe('CRM.COM bad inputs', () => {
	it.each(crmCases)('$what → names "$field", sends nothing', async (c) => {
		const result = await errorOf(new CrmCom(), new CrmComApi(), withOverrides(crm.credentials, c.credentials), c.params);
		check(result, c, crm.fake, crm.secrets);
	});
});

// ---- Virtual PBX --------------------------------------------------------------------------------

const trusted = { authentication: 'trustedApp' };
const getMe = { ...trusted, resource: 'user', operation: 'getMe' };
const history = (extra: IDataObject = {}) => ({ ...trusted, resource: 'callHistory', operation: 'getMany', start: '2024-05-01', end: '2024-05-02', returnAll: true, order: 'asc', ...extra });
const recordings = (extra: IDataObject = {}) => ({ ...trusted, resource: 'recording', operation: 'getMany', start: '2024-05-01', end: '2024-05-02', returnAll: true, ...extra });

const pbxCases: Case[] = [
	{ what: 'empty host', credentials: { host: '' }, params: getMe, field: 'Host URL' },
	{ what: 'host not a URL', credentials: { host: 'pbx operator' }, params: getMe, field: 'Host URL' },
	{ what: 'host over ftp', credentials: { host: 'ftp://pbx.example.com' }, params: getMe, field: 'Host URL' },
	{ what: 'host with a query', credentials: { host: 'https://pbx.example.com/?a=1' }, params: getMe, field: 'Host URL' },
	{ what: 'empty App ID', credentials: { appId: '' }, params: getMe, field: 'App ID', says: /empty/ },
	{ what: 'missing App ID', credentials: { appId: undefined }, params: getMe, field: 'App ID' },
	{ what: 'empty App Secret', credentials: { appSecret: '' }, params: getMe, field: 'App Secret', says: /empty/ },
	{ what: 'blank App Secret', credentials: { appSecret: '   ' }, params: getMe, field: 'App Secret' },
	{ what: 'start 31 February', params: history({ start: '2024-02-31' }), field: 'Start', says: /February 2024 has no day 31/ },
	{ what: 'start 30 February with a zone', params: history({ start: '2024-02-30T10:00:00Z' }), field: 'Start', says: /no day 30/ },
	{ what: 'start 31 April (dotted)', params: history({ start: '31.04.2024' }), field: 'Start', says: /April 2024 has no day 31/ },
	{ what: 'start month 13', params: history({ start: '2024-13-01' }), field: 'Start', says: /no month 13/ },
	{ what: 'start hour 25', params: history({ start: '2024-05-01 25:00' }), field: 'Start', says: /no hour 25/ },
	{ what: 'start not a date', params: history({ start: 'yesterday' }), field: 'Start', says: /not a date/ },
	{ what: 'start empty', params: history({ start: '' }), field: 'Start', says: /empty/ },
	{ what: 'end 29 February 2023', params: history({ end: '2023-02-29' , start: '2023-02-01' }), field: 'End', says: /February 2023 has no day 29/ },
	{ what: 'end not a date', params: history({ end: 'later' }), field: 'End', says: /not a date/ },
	{ what: 'start after end', params: history({ start: '2024-05-03', end: '2024-05-02' }), field: 'Start', says: /after "End"/ },
	{ what: 'recordings start 31 June', params: recordings({ start: '2024-06-31' }), field: 'Start', says: /June 2024 has no day 31/ },
	{ what: 'call UUID empty', params: { ...trusted, resource: 'call', operation: 'get', callUuid: '' }, field: 'Call UUID', says: /empty/ },
	{ what: 'call UUID with a slash', params: { ...trusted, resource: 'call', operation: 'get', callUuid: 'a/../b' }, field: 'Call UUID' },
	{ what: 'record UUID empty (Get URL)', params: { ...trusted, resource: 'recording', operation: 'getUrl', recordUuid: '' }, field: 'Record UUID' },
	{ what: 'record UUID with ? (Download)', params: { ...trusted, resource: 'recording', operation: 'download', recordUuid: 'x?y' }, field: 'Record UUID' },
	{ what: 'call: extension ID with #', params: { ...trusted, resource: 'call', operation: 'make', extensionId: '1#2', srcNumbers: '101', dstNumber: '+15550000000' }, field: 'Extension ID' },
	{ what: 'call: no destination', params: { ...trusted, resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: '101', dstNumber: '' }, field: 'Destination Number' },
	{ what: 'call: nobody to ring first', params: { ...trusted, resource: 'call', operation: 'make', extensionId: '1001', srcNumbers: '', dstNumber: '+15550000000' }, field: 'Ring First' },
	{ what: 'subscription: URL not http', params: { ...trusted, resource: 'eventSubscription', operation: 'create', extensionId: '1001', url: 'ftp://x', eventType: 'hangup' }, field: 'URL' },
	{ what: 'subscription: extension ID empty', params: { ...trusted, resource: 'eventSubscription', operation: 'create', extensionId: '', url: 'https://crm.example.com/hook', eventType: 'hangup' }, field: 'Extension ID' },
	{ what: 'subscription delete: ID with /', params: { ...trusted, resource: 'eventSubscription', operation: 'delete', extensionId: '1001', subscriptionId: '1/2' }, field: 'Subscription ID' },
	{ what: 'trusted app without a name', params: { ...trusted, resource: 'application', operation: 'createTrusted', name: '' }, field: 'Name' },
	{ what: 'API path to another host', params: { ...trusted, resource: 'apiRequest', operation: 'request', method: 'GET', path: 'https://evil.example.com/x' }, field: 'Path' },
	{ what: 'API path with ..', params: { ...trusted, resource: 'apiRequest', operation: 'request', method: 'GET', path: '/user/../../x' }, field: 'Path' },
];

describe('Virtual PBX bad inputs', () => {
	it.each(pbxCases)('$what → names "$field", sends nothing', async (c) => {
		const result = await errorOf(new VirtualPbx(), new VirtualPbxTrustedAppApi(), withOverrides(pbx.credentials, c.credentials), c.params);
		check(result, c, pbx.fake, pbx.secrets);
	});
});

it('the table holds at least 60 bad inputs', () => {
	expect(b2Cases.length + crmCases.length + pbxCases.length).toBeGreaterThanOrEqual(60);
});
