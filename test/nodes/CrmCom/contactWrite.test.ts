/**
 * Contact → Create, Contact → Update and Contact → Get's "On Not Found", through the node, the
 * credential and the shared client against the strict fake CRM.COM over real sockets.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { checkDate } from '../../../nodes/CrmCom/actions/contact/fields';
import { CRMCOM_PATHS } from '../../fakes/crmcom';
import type { LoggedRequest } from '../../fakes/common';
import { createExecuteContext, credentialStore, type CredentialStore } from '../../support/context';
import { crmcomFixture, type CrmComFixture } from '../../support/crmcom';

const node = new CrmCom();
const credentialType = new CrmComApi();

let f: CrmComFixture;
let store: CredentialStore;

beforeAll(async () => {
	f = await crmcomFixture({ contactCount: 50, groupMemberCount: 20 });
});
afterAll(async () => {
	await f.fake.close();
});
beforeEach(() => {
	f.fake.reset();
	f.fake.clearFaults();
	f.fake.clearLog();
	f.fake.settings.writeFailure = 'off';
	f.fake.settings.notFoundShape = 'envelope200';
	f.fake.dropAfterWrites(0);
	store = credentialStore(credentialType, f.credentials);
});

type Params = Record<string, unknown> | ((i: number) => Record<string, unknown>);

async function run(params: Params, items: IDataObject[] = [{}], continueOnFail = false): Promise<INodeExecutionData[]> {
	const ctx = createExecuteContext({ store, params, items, continueOnFail });
	const [output] = await node.execute.call(ctx);
	return output;
}

async function failure(params: Params, items: IDataObject[] = [{}], continueOnFail = false): Promise<NodeApiError | NodeOperationError> {
	const error = await run(params, items, continueOnFail).then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error instanceof NodeApiError || error instanceof NodeOperationError, String(error)).toBe(true);
	return error as NodeApiError;
}

const writes = (): LoggedRequest[] =>
	f.fake.requests.filter((r) => r.path === CRMCOM_PATHS.contactCreate || r.path === CRMCOM_PATHS.contactUpdate);
const bodyOf = (r: LoggedRequest) => JSON.parse(r.rawBody) as IDataObject;
const custom = (...entries: Array<[string, unknown]>) => ({ customFields: { field: entries.map(([name, value]) => ({ name, value })) } });

const create = (fields: IDataObject) => ({ resource: 'contact', operation: 'create', fields });
const update = (fields: IDataObject, identifyBy = 'number', identifierValue = 'CI000007', extra: IDataObject = {}) => ({
	resource: 'contact',
	operation: 'update',
	identifyBy,
	identifierValue,
	fields,
	...extra,
});
const get = (identifierValue: string, onNotFound?: string, identifyBy = 'number') => ({
	resource: 'contact',
	operation: 'get',
	identifyBy,
	identifierValue,
	...(onNotFound ? { onNotFound } : {}),
});

describe('Contact → Create', () => {
	it('sends only the fields set, the token in the JSON body only; outputs the new contact, which Get then finds', async () => {
		const [created] = await run(
			create({
				firstName: ' Eleni ',
				lastName: 'Kallis',
				email: 'eleni.kallis@example.com',
				phone: '',
				...custom(['udf_string_1', 'inbound'], ['udf_float_2', '42.5'], ['udf_date_3', '2024-05-31T14:05:00Z'], ['udf_string_4', '']),
			}),
		);
		expect(created.pairedItem).toEqual({ item: 0 });
		expect(created.json).toMatchObject({ first_name: 'Eleni', last_name: 'Kallis', type: 'PERSON', udf_float_2: 42.5, number: 'CI000051' });
		const [post] = writes();
		expect(post.method).toBe('POST');
		expect(post.query).toEqual({});
		expect(post.headers.authorization).toBeUndefined();
		const { token, ...sent } = bodyOf(post);
		expect(token).toBe(store.data.sessionToken);
		// Empty values (phone, udf_string_4) are not sent; udf_float goes as a JSON number.
		expect(sent).toEqual({
			first_name: 'Eleni',
			last_name: 'Kallis',
			emails_set: [{ action: 'ADD', type: 'PERSONAL', email_address: 'eleni.kallis@example.com' }],
			udf_string_1: 'inbound',
			udf_float_2: 42.5,
			udf_date_3: '2024-05-31T14:05:00Z',
		});
		expect(f.fake.counters).toMatchObject({ contactWrites: 1, contactCreates: 1, placementViolations: 0 });
		expect(f.fake.writesTo('CI000051')).toBe(1);
		const [found] = await run(get('CI000051'));
		expect(found.json).toMatchObject({ name: 'Eleni Kallis', udf_string_1: 'inbound', udf_date_3: '2024-05-31T14:05:00Z' });
	});

	it('a company: Type Company with a company name', async () => {
		const [created] = await run(create({ type: 'COMPANY', companyName: 'Kestora Ltd' }));
		expect(created.json).toMatchObject({ type: 'COMPANY', name: 'Kestora Ltd' });
		expect(bodyOf(writes()[0])).toMatchObject({ type: 'COMPANY', company_name: 'Kestora Ltd' });
	});

	it('CRM.COM\'s own refusal (a person without last name) is quoted; nothing is written', async () => {
		const error = await failure(create({ firstName: 'Only' }));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('CRM.COM refused the contact creation: MANDATORY_PARAMETER_MISSING: last_name is mandatory');
		expect(f.fake.counters.contactWrites).toBe(0);
	});
});

describe('Contact → Update', () => {
	it.each([
		['number', 'CI000007'],
		['id', null],
		['email', null],
		['phone', null],
		['other', null],
	] as const)('identified by %s, like Contact → Get: only the fields set change', async (identifyBy, given) => {
		const target = f.fake.contacts[6];
		const before = { ...target };
		const value = given ?? (identifyBy === 'other' ? target.number : String(target[identifyBy]));
		const extra = identifyBy === 'other' ? { identifierField: 'number' } : {};
		const [out] = await run(update({ notes: 'Called back', ...custom(['udf_string_2', 'answered']) }, identifyBy, value, extra));
		const sent = bodyOf(writes()[0]);
		expect(sent.contact_information_identifier).toEqual({ [identifyBy === 'other' ? 'number' : identifyBy]: value });
		expect(Object.keys(sent).sort()).toEqual(['contact_information_identifier', 'notes', 'token', 'udf_string_2']);
		expect(out.json).toMatchObject({ number: 'CI000007', notes: 'Called back', udf_string_2: 'answered' });
		expect(target).toMatchObject({ first_name: before.first_name, last_name: before.last_name, email: before.email, phone: before.phone });
		expect(f.fake.writesTo('CI000007')).toBe(1);
	});

	it('"Fields to Clear" sends null and CRM.COM empties the fields', async () => {
		await run(update({ notes: 'x', ...custom(['udf_string_5', 'keep me?']) }));
		await run(update({ clearFields: 'notes, udf_string_5', email: 'new.address@example.com' }));
		const sent = bodyOf(writes()[1]);
		expect(sent).toMatchObject({ notes: null, udf_string_5: null, emails_set: [{ action: 'ADD', type: 'PERSONAL', email_address: 'new.address@example.com' }] });
		expect(f.fake.contacts[6]).toMatchObject({ notes: null, udf_string_5: null });
		expect(f.fake.contacts[6].emails.map((e) => e.email_address)).toContain('new.address@example.com');
		expect(f.fake.writesTo('CI000007')).toBe(2);
	});

	it('one update per input item, each with its own mapped values, in order, with pairedItem', async () => {
		const output = await run(
			(i) => update({ ...custom(['udf_float_1', String(i * 10)], ['udf_date_1', `2024-06-0${i + 1}`]) }, 'number', `CI00001${i}`),
			[{}, {}, {}],
		);
		expect(output.map((o) => [o.json.number, o.json.udf_float_1, o.pairedItem])).toEqual([
			['CI000010', 0, { item: 0 }],
			['CI000011', 10, { item: 1 }],
			['CI000012', 20, { item: 2 }],
		]);
		expect(f.fake.counters.contactUpdates).toBe(3);
	});

	it('an unknown contact: CRM.COM\'s NOT_FOUND quoted, nothing written', async () => {
		const error = await failure(update({ notes: 'x' }, 'number', 'CI999999'));
		expect(error.message).toMatch(/^CRM\.COM refused the contact update \(number=CI999999\): NOT_FOUND/);
		expect(f.fake.counters.contactWrites).toBe(0);
	});

	it('an expired session: one new login, the write resent once (CRM.COM refused it, so it did not happen)', async () => {
		await run(update({ notes: 'first' }));
		f.fake.expireTokens();
		f.fake.reset();
		const [out] = await run(update({ notes: 'second' }));
		expect(out.json.notes).toBe('second');
		expect(f.fake.counters).toMatchObject({ loginOk: 1, contactWrites: 1, protectedRefused: 1 });
	});
});

describe('a write is never sent twice', () => {
	it('connection dropped after the write reached CRM.COM: exactly one write, a clear error', async () => {
		f.fake.dropAfterWrites(1);
		const error = await failure(update({ notes: 'once' }));
		expect(f.fake.counters.contactWrites).toBe(1);
		expect(writes()).toHaveLength(1);
		expect(f.fake.contacts[6].notes).toBe('once');
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toMatch(/^Could not reach CRM\.COM for the contact update \(number=CI000007\)/);
		expect(error.description).toMatch(/may have reached CRM\.COM.*not sent again.*Check the contact in CRM\.COM/);
		expect(error.context.itemIndex).toBe(0);
	});

	it('the same for a create; under continue-on-fail a lost answer is an outage (not a refusal of one record): no further write, the items not known written flagged outage; each write sent once', async () => {
		f.fake.dropAfterWrites(1);
		const output = await run((i) => create({ lastName: `Caller ${i}`, phone: `+3579900000${i}` }), [{}, {}, {}], true);
		expect(writes()).toHaveLength(f.fake.counters.contactCreates); // in flight together (other records), none sent twice
		const flagged = output.filter((o) => o.json.outage === true);
		expect(flagged.length).toBeGreaterThanOrEqual(1);
		expect(output.filter((o) => o.json.outage !== true).every((o) => typeof o.json.number === 'string')).toBe(true);
		expect(String(flagged[0].json.error)).toMatch(/^Could not reach CRM\.COM for the contact creation/);
		expect(String(flagged[0].json.description)).toMatch(/not sent again/);
		expect(output.map((o) => o.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	});

	it('under continue-on-fail, an HTTP 500 (even with an error envelope) is an outage: its items flagged outage; a refusal with HTTP 200 fails that item only', async () => {
		f.fake.settings.writeFailure = 'http500';
		const newer = await run((i) => update({ customFields: { field: [{ name: 'udf_date_1', value: `2030-01-0${i + 1}T00:00:00Z` }] } }, 'number', `CI00003${i}`, { onlyIfNewer: 'udf_date_1' }), [{}, {}], true);
		expect(newer.map((o) => o.json.outage)).toEqual([true, true]);
		const outage = await run((i) => update({ notes: `n${i}` }, 'number', `CI00002${i}`), [{}, {}], true);
		expect(outage.map((o) => [o.json.outage, /INTERNAL_ERROR/.test(String(o.json.error))])).toEqual([[true, true], [true, true]]);
		f.fake.settings.writeFailure = 'off';
		f.fake.refuseWrite = (body) => ((body.contact_information_identifier as { number: string }).number === 'CI000020' ? { code: 'E_INVALID_PARAMETER', message: 'notes are locked' } : undefined);
		try {
			const output = await run((i) => update({ notes: `m${i}` }, 'number', `CI00002${i}`), [{}, {}], true);
			expect(output.map((o) => [o.json.error === undefined ? o.json.notes : 'error', o.pairedItem])).toEqual([['error', { item: 0 }], ['m1', { item: 1 }]]);
			expect(String(output[0].json.error)).toContain('notes are locked');
		} finally {
			f.fake.refuseWrite = undefined;
		}
	});

	it.each(['envelope', 'http500'] as const)('CRM.COM failing the write (%s): one request, its words, nothing written', async (mode) => {
		f.fake.settings.writeFailure = mode;
		const error = await failure(update({ notes: 'nope' }));
		expect(writes()).toHaveLength(1);
		expect(f.fake.counters).toMatchObject({ contactWrites: 0, writeFailures: 1, loginAttempts: 1 });
		expect(error.message).toMatch(mode === 'envelope' ? /CRM\.COM refused the contact update.*SAVE_FAILED/ : /CRM\.COM refused the contact update \(number=CI000007\): INTERNAL_ERROR/);
	});
});

describe('bad input: named, and no request sent', () => {
	const cases: Array<[string, Record<string, unknown>, RegExp]> = [
		['nothing to create', create({}), /Nothing to create: add at least one field/],
		['only empty values', create({ firstName: '', ...custom(['udf_string_1', '']) }), /Nothing to create/],
		['nothing to update', update({}), /Nothing to update: add at least one field .*Fields to Clear/],
		['a bad email', create({ lastName: 'X', email: 'not-an-email' }), /The "Email" field "not-an-email" is not an email address/],
		['a bad udf name', create({ lastName: 'X', ...custom(['udf_text_1', 'a']) }), /The field name "udf_text_1" in "Custom Fields" is not a user-defined field/],
		['udf number 0', update(custom(['udf_string_0', 'a'])), /"udf_string_0" in "Custom Fields" is not a user-defined field/],
		['a field name with spaces', update(custom(['last name', 'a'])), /The field name "last name" in "Custom Fields" is not a CRM.COM contact field name/],
		['the token as a field', update(custom(['token', 'a'])), /The field name "token" in "Custom Fields"/],
		['a custom field without name', update(custom(['', 'value'])), /The "Name" of custom field 1 is empty/],
		['a float that is not a number', update(custom(['udf_float_1', '12,5'])), /The value of "udf_float_1" must be a number, not "12,5"/],
		['a float that is text', update(custom(['udf_float_3', 'abc'])), /The value of "udf_float_3" must be a number/],
		['an impossible date', update(custom(['udf_date_1', '2024-02-31'])), /The value of "udf_date_1" must be a date, not "2024-02-31"/],
		['a date in another form', update(custom(['udf_date_2', '31/05/2024'])), /The value of "udf_date_2" must be a date/],
		['a field set twice', update({ notes: 'a', ...custom(['notes', 'b']) }), /The field "notes" is set twice \(in "Notes" and in "Custom Fields → notes"\)/],
		['set and cleared', update({ notes: 'a', clearFields: 'notes' }), /The field "notes" is set twice/],
		['a bad name to clear', update({ clearFields: 'notes, udf_foo' }), /The field name "udf_foo" in "Fields to Clear" is not a user-defined field/],
		['an empty identifier', update({ notes: 'a' }, 'number', '  '), /The "Value" parameter is empty/],
		['a bad identifier field', update({ notes: 'a' }, 'other', 'x', { identifierField: 'id number' }), /The "Field Name" parameter "id number" is not a field name/],
	];
	it.each(cases)('%s', async (_, params, pattern) => {
		const error = await failure(params);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(pattern);
		expect(error.context.itemIndex).toBe(0);
		expect(f.fake.requests).toHaveLength(0);
	});

	it('checkDate accepts calendar dates and ISO date-times only', () => {
		for (const good of ['2024-02-29', '2024-05-31T14:05', '2024-05-31T14:05:59.123Z', '2024-05-31 14:05:00+03:00']) expect(checkDate(good)).toBe(good);
		for (const bad of ['2023-02-29', '2024-13-01', '2024-05-31T24:00', '2024-05-31T12:60', 'tomorrow', '']) expect(checkDate(bad)).toBeUndefined();
	});
});

describe('Contact → Get: On Not Found', () => {
	const inputs = [{ caller: '+35799111111' }, { caller: 'CI000003' }, { caller: '+35799222222' }];
	const lookup = (onNotFound?: string) => (i: number) => get(i === 1 ? 'CI000003' : `CI99999${i}`, onNotFound);

	it.each(['envelope200', 'http404', 'okEmpty'] as const)('not found as %s: Output Nothing → only the found item, pairedItem kept', async (shape) => {
		f.fake.settings.notFoundShape = shape;
		const output = await run(lookup('nothing'), inputs);
		expect(output).toHaveLength(1);
		expect(output[0]).toMatchObject({ json: { number: 'CI000003' }, pairedItem: { item: 1 } });
		expect(f.fake.counters.loginAttempts).toBe(1);
	});

	it.each(['envelope200', 'http404', 'okEmpty'] as const)('not found as %s: Output Input Item → the input passes through', async (shape) => {
		f.fake.settings.notFoundShape = shape;
		const output = await run(lookup('input'), inputs);
		expect(output.map((o) => [o.json, o.pairedItem])).toEqual([
			[inputs[0], { item: 0 }],
			[expect.objectContaining({ number: 'CI000003' }), { item: 1 }],
			[inputs[2], { item: 2 }],
		]);
	});

	it.each(['envelope200', 'http404', 'okEmpty'] as const)('not found as %s: Return Error (the default) as before', async (shape) => {
		f.fake.settings.notFoundShape = shape;
		const error = await failure(lookup(), inputs);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toMatch(/^CRM\.COM refused the contact lookup \(number=CI999990\): /);
		if (shape !== 'okEmpty') expect(error.message).toMatch(/NOT_FOUND/);
		expect(error.description).toMatch(/On Not Found/);
		expect(error.context.itemIndex).toBe(0);
		const soft = await run(lookup('error'), inputs, true);
		expect(soft.map((o) => [Boolean(o.json.error), o.pairedItem])).toEqual([
			[true, { item: 0 }],
			[false, { item: 1 }],
			[true, { item: 2 }],
		]);
	});

	it('a found contact trimmed to nothing by Fields (fields_set) is still found', async () => {
		const output = await run({ ...get('CI000004', 'nothing'), contactFields: { fieldsSet: 'no_such_field' } });
		expect(output).toEqual([{ json: {}, pairedItem: { item: 0 } }]);
	});

	it('a lookup lost on the network is retried (a read), and its error does not speak of a write', async () => {
		f.fake.fail({ path: CRMCOM_PATHS.contactShow, times: 10 }, { kind: 'drop' });
		const error = await failure(get('CI000004', 'nothing'));
		expect(error.message).toMatch(/^Could not reach CRM\.COM for the contact lookup/);
		expect(error.description).not.toMatch(/not sent again/);
		expect(f.fake.requestsTo(CRMCOM_PATHS.contactShow).length).toBeGreaterThan(1);
	});

	it('other refusals still fail whatever On Not Found says', async () => {
		f.fake.fail({ path: CRMCOM_PATHS.contactShow }, { status: 200, body: { data: null, status: { code: 'INVALID_PARAMETER', message: 'Bad identifier', description: '' } } });
		const error = await failure(get('CI000001', 'nothing'));
		expect(error.message).toMatch(/INVALID_PARAMETER: Bad identifier/);
	});
});
