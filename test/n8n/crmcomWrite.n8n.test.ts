/**
 * CRM.COM writes and the credential Test inside a real n8n 2.41.1, against a fake CRM.COM that
 * has NO contact_information/list (no public page documents it): Contact → Create → Get →
 * Update through one workflow (only the fields set are sent, the token only in the JSON body),
 * Get's On Not Found, a write whose connection drops after it reached CRM.COM (sent once), and
 * the credential Test (passes without the list method, whatever shape "not found" takes; wrong
 * key and wrong pass code still get distinct messages).
 */
import { describe, expect, it } from 'vitest';

import { CRMCOM_PATHS } from '../fakes/crmcom';
import type { LoggedRequest } from '../fakes/common';
import { useFakeCrmCom } from '../support/crmcom';
import { okItems as items, useN8n, useN8nServer } from './instance';
import { generateItems, id16, nodeType, workflow } from './workflows';

const CRM = nodeType('crmCom');
const CRED_TYPE = 'crmComApi';
const CRED = { id: id16('crmwcred', 1), name: 'CRM.COM writes (fake)' };
const credentials = { [CRED_TYPE]: CRED };
const KEY = 'B5D1E0A7C3F94E2A8D6B0C1F2E3A4B5C';
const AUTH_CODE = 'ac-write-tests-5150';
const IDENTIFIER = 'writer-7';
const PASS_CODE = 'pc-writer-7777';

const customFields = (...entries: Array<[string, string]>) => ({ field: entries.map(([name, value]) => ({ name, value })) });

/** Contact → Get over 3 items, only item 1 found, with On Not Found set to `onNotFound`. */
const notFound = (n: number, onNotFound: string, name: string) =>
	workflow(id16('crmwwnf', n), name, [
		...generateItems(3),
		{
			name: 'Get',
			type: CRM,
			credentials,
			parameters: { resource: 'contact', operation: 'get', identifyBy: 'number', identifierValue: '={{ $json.i === 1 ? "CI000002" : "NOPE" + $json.i }}', onNotFound },
		},
	]);

const WF = {
	roundTrip: workflow(id16('crmwwrt', 1), 'CRM.COM create → get → update', [
		{
			name: 'Create',
			type: CRM,
			credentials,
			parameters: {
				resource: 'contact',
				operation: 'create',
				fields: {
					firstName: 'Eleni',
					lastName: 'Kallis',
					phone: '+35799000001',
					email: '',
					customFields: customFields(['udf_string_1', 'inbound'], ['udf_date_1', '2024-05-31T14:05:00Z']),
				},
			},
		},
		{
			name: 'Get',
			type: CRM,
			credentials,
			parameters: { resource: 'contact', operation: 'get', identifyBy: 'phone', identifierValue: '={{ $json.phone }}' },
		},
		{
			name: 'Update',
			type: CRM,
			credentials,
			parameters: {
				resource: 'contact',
				operation: 'update',
				identifyBy: 'id',
				identifierValue: '={{ $json.id }}',
				fields: { notes: '={{ "Called " + $json.first_name }}', clearFields: 'udf_string_1', customFields: customFields(['udf_float_1', '={{ 40 + 2.5 }}']) },
			},
		},
	]),
	notFoundNothing: notFound(1, 'nothing', 'CRM.COM get, not found → nothing'),
	notFoundInput: notFound(2, 'input', 'CRM.COM get, not found → input item'),
	updateOnce: workflow(id16('crmwwup', 1), 'CRM.COM update CI000003', [
		{
			name: 'Update',
			type: CRM,
			credentials,
			parameters: { resource: 'contact', operation: 'update', identifyBy: 'number', identifierValue: 'CI000003', fields: { notes: 'once' } },
		},
	]),
};

const writesTo = (path: string): LoggedRequest[] => fake.requests.filter((r) => r.method === 'POST' && r.path === path);
const sentFields = (r: LoggedRequest) => Object.keys(JSON.parse(r.rawBody) as Record<string, unknown>).sort();

const fake = useFakeCrmCom(
	{
		consumerKeys: [KEY],
		authenticationCodes: { [AUTH_CODE]: {} },
		identifiers: { [IDENTIFIER]: { passCode: PASS_CODE } },
		contactCount: 100,
		groupMemberCount: 10,
		contactListMethod: 'http404',
	},
	{ fresh: false },
);
const n8n = useN8n({
	credentials: () => [{ ...CRED, type: CRED_TYPE, data: { serverUrl: fake.url, consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE } }],
	workflows: () => Object.values(WF),
});

describe('CRM.COM writes in n8n 2.41.1', () => {
	it('Create → Get → Update in one workflow: only the fields set are sent, the token only in the JSON body', async () => {
		fake.reset();
		fake.clearLog();
		const result = await n8n.execute(WF.roundTrip.id);
		const [created] = items(result, 'Create');
		const [found] = items(result, 'Get');
		const [updated] = items(result, 'Update');
		expect(created.json).toMatchObject({ number: 'CI000101', first_name: 'Eleni', udf_string_1: 'inbound' });
		expect(found.json).toMatchObject({ id: created.json.id, phone: '+35799000001', udf_date_1: '2024-05-31T14:05:00Z' });
		expect(updated.json).toMatchObject({ id: created.json.id, notes: 'Called Eleni', udf_string_1: null, udf_float_1: 42.5, last_name: 'Kallis' });
		for (const item of [created, found, updated]) expect(item.pairedItem).toMatchObject({ item: 0 });

		const [create] = writesTo(CRMCOM_PATHS.contactCreate);
		const [update] = writesTo(CRMCOM_PATHS.contactUpdate);
		expect(sentFields(create)).toEqual(['first_name', 'last_name', 'phones_set', 'token', 'udf_date_1', 'udf_string_1']);
		expect(JSON.parse(create.rawBody).phones_set).toEqual([{ action: 'ADD', type: 'MOBILE', number: '+35799000001' }]);
		expect(sentFields(update)).toEqual(['contact_information_identifier', 'notes', 'token', 'udf_float_1', 'udf_string_1']);
		expect(JSON.parse(update.rawBody)).toMatchObject({ contact_information_identifier: { id: created.json.id }, udf_float_1: 42.5, udf_string_1: null });
		for (const r of [create, update]) {
			expect(r.query).toEqual({});
			expect(r.headers.authorization).toBeUndefined();
		}
		expect(fake.counters).toMatchObject({ loginOk: 1, contactCreates: 1, contactUpdates: 1, contactWrites: 2, placementViolations: 0 });
		expect(fake.writesTo('CI000101')).toBe(2);
	});

	it('Get with On Not Found: Output Nothing drops the misses, Output Input Item passes them through; pairedItem kept', async () => {
		const nothing = items(await n8n.execute(WF.notFoundNothing.id), 'Get');
		expect(nothing.map((o) => [o.json.number, o.pairedItem])).toEqual([['CI000002', { item: 1 }]]);
		const input = items(await n8n.execute(WF.notFoundInput.id), 'Get');
		expect(input.map((o) => [o.json.number ?? o.json.i, o.pairedItem])).toEqual([
			[0, { item: 0 }],
			['CI000002', { item: 1 }],
			[2, { item: 2 }],
		]);
	});

	it('a write whose connection drops after CRM.COM carried it out: sent exactly once, the run fails saying so', async () => {
		fake.reset();
		fake.clearLog();
		fake.dropAfterWrites(1);
		const result = await n8n.execute(WF.updateOnce.id);
		expect(result.ok).toBe(false);
		expect(writesTo(CRMCOM_PATHS.contactUpdate)).toHaveLength(1);
		expect(fake.writesTo('CI000003')).toBe(1);
		expect(fake.contacts[2].notes).toBe('once');
		const error = result.nodes.Update?.error ?? result.error;
		expect(error?.message).toMatch(/Could not reach CRM\.COM for the contact update \(number=CI000003\)/);
		expect(JSON.stringify(result.error ?? {}) + JSON.stringify(result.nodes.Update?.error ?? {})).toMatch(/not sent again/);
	});

	describe('the credential Test without contact_information/list', () => {
		useN8nServer(n8n, 180_000);
		const test = async (name: string, data: Record<string, unknown>) => await n8n.testCredential({ name, type: CRED_TYPE, data: { serverUrl: `${fake.url}/`, ...data } });
		const good = { consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE };

		it.each([
			['http404', 'envelope200'],
			['http404', 'http404'],
			['envelope200', 'okEmpty'],
		] as const)('list absent as %s, not found answered as %s: the Test passes', async (listMode, notFound) => {
			fake.settings.contactListMethod = listMode;
			fake.settings.notFoundShape = notFound;
			fake.reset();
			fake.clearLog();
			try {
				const result = await test(`ok ${listMode} ${notFound}`, good);
				expect(result, result.message).toMatchObject({ status: 'OK' });
				expect(fake.requestsTo(CRMCOM_PATHS.contactList)).toHaveLength(0);
				expect(fake.requestsTo(CRMCOM_PATHS.contactShow)).toHaveLength(1);
				expect(fake.counters.loginOk).toBe(1);
			} finally {
				fake.settings.notFoundShape = 'envelope200';
				fake.settings.contactListMethod = 'http404';
			}
		});

		it('wrong key, wrong pass code and a refused session token: each its own message naming what to fix', async () => {
			const wrongKey = await test('wrong key', { ...good, consumerKey: 'WRONGKEY0000000' });
			const wrongPass = await test('wrong pass', { consumerKey: KEY, loginMethod: 'identifierPassCode', identifier: IDENTIFIER, passCode: 'pc-not-this-one' });
			fake.fail({ path: CRMCOM_PATHS.contactShow }, { status: 200, body: { data: null, status: { code: 'PERMISSION_DENIED', message: 'Not allowed', description: '' } } });
			const refused = await test('refused token', good);
			for (const r of [wrongKey, wrongPass, refused]) expect(r.status).toBe('Error');
			expect(wrongKey.message).toMatch(/CRM\.COM refused the login.*INVALID_CONSUMER_APPLICATION_KEY.*Check "Consumer Application Key"/);
			expect(wrongPass.message).toMatch(/CRM\.COM refused the login.*INVALID_PASS_CODE.*Check "Pass Code"/);
			expect(refused.message).toMatch(/^CRM\.COM accepted the login but refused the new session token .*PERMISSION_DENIED.*access token may read contacts/);
			expect(new Set([wrongKey.message, wrongPass.message, refused.message]).size).toBe(3);
			for (const secret of ['WRONGKEY0000000', 'pc-not-this-one', KEY, AUTH_CODE]) {
				expect(wrongKey.message + wrongPass.message + refused.message).not.toContain(secret);
			}
		});
	});

	it('no key, code, pass code or session token in n8n\'s log; the package loaded without warnings', () => {
		const text = n8n.logText();
		expect([KEY, AUTH_CODE, PASS_CODE, ...fake.issuedTokens()].filter((s) => text.includes(s))).toEqual([]);
		expect(n8n.loadWarnings()).toEqual([]);
	});
});
