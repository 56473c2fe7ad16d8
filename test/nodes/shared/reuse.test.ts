/**
 * Identical lookups once per run (nodes/shared/reuse.ts), through the CRM.COM node's Contact →
 * Get as a workflow runs it, against the fake CRM.COM over real sockets; and the reuse rules
 * themselves.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { beforeEach, describe, expect, it } from 'vitest';

import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import type { VendorResponse } from '../../../nodes/shared/client';
import { RequestReuse, reuseKey } from '../../../nodes/shared/reuse';
import { CRMCOM_PATHS } from '../../fakes/crmcom';
import { credentialStore, runNode, type CredentialStore } from '../../support/context';
import { useCrmComFixture } from '../../support/crmcom';

const node = new CrmCom();
const credentialType = new CrmComApi();

const f = useCrmComFixture();
let store: CredentialStore;

beforeEach(() => {
	f.fake.maxInFlight = 0;
	store = credentialStore(credentialType, f.credentials);
});

const number = (i: number) => `CI${String(i + 1).padStart(6, '0')}`;
/** 60 calls from 6 callers: item i asks for contact i % 6. */
const callers = Array.from({ length: 60 }, (_, i) => ({ i, caller: i % 6 }));

const lookup = (options: IDataObject = {}) => (i: number) => ({
	resource: 'contact',
	operation: 'get',
	identifyBy: 'number',
	identifierValue: number(callers[i]?.caller ?? i),
	options: { concurrency: 10, ...options },
});

const run = async (params: (i: number) => IDataObject, items: IDataObject[], continueOnFail = false): Promise<INodeExecutionData[]> =>
	await runNode(node, { store, params, items, continueOnFail });

const lookups = () => f.fake.requestsTo(CRMCOM_PATHS.contactShow, 'GET').length;

describe('identical lookups once per run', () => {
	it('60 items asking for 6 contacts: 6 lookups sent; every item its own answer, in order, with its own pairedItem', async () => {
		const output = await run(lookup(), callers);
		expect(lookups()).toBe(6);
		expect(output).toHaveLength(60);
		output.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			expect(item.json.number).toBe(number(i % 6));
			expect(item.json).toEqual(f.fake.contacts[i % 6]);
		});
		// Each output item owns its data: changing one changes no other.
		expect(output[0].json).not.toBe(output[6].json);
		(output[0].json as IDataObject).number = 'changed';
		expect(output[6].json.number).toBe(number(0));
		expect(output[12].json.number).toBe(number(0));
	});

	it('Options → Reuse Identical Lookups off: one lookup per item', async () => {
		const output = await run(lookup({ reuseLookups: false }), callers);
		expect(lookups()).toBe(60);
		output.forEach((item, i) => expect(item.json.number).toBe(number(i % 6)));
	});

	it('nothing is kept across runs: the next run asks again', async () => {
		await run(lookup(), callers);
		await run(lookup(), callers);
		expect(lookups()).toBe(12);
	});

	it('a contact that does not exist: asked once, and every item that asked gets its own error item in place', async () => {
		const params = (i: number) => ({ ...lookup()(i), identifierValue: i % 2 === 0 ? 'CI999999' : number(i % 3) });
		const items = Array.from({ length: 12 }, (_, i) => ({ i }));
		const output = await run(params, items, true);
		expect(lookups()).toBe(1 + 3);
		expect(output).toHaveLength(12);
		output.forEach((item, i) => {
			expect(item.pairedItem).toEqual({ item: i });
			if (i % 2 === 0) {
				expect(item.json.error).toMatch(/CRM\.COM refused the contact lookup \(number=CI999999\): NOT_FOUND/);
			} else {
				expect(item.json.error).toBeUndefined();
				expect(item.json.number).toBe(number(i % 3));
			}
		});
		expect(output[0].json).not.toBe(output[2].json);
	});

	it('without continue on fail, the error names the first failing item', async () => {
		const params = (i: number) => ({ ...lookup({ concurrency: 1 })(i), identifierValue: i >= 3 ? 'CI999999' : number(0) });
		const error = await run(params, Array.from({ length: 8 }, (_, i) => ({ i }))).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).context.itemIndex).toBe(3);
		expect(lookups()).toBe(2);
	});

	it('a lookup that failed is not reused as a success: the next item with the same request sends its own', async () => {
		// The first lookup meets a status the client neither retries nor reuses (409); the next
		// item asking for the same contact sends again and gets the contact.
		f.fake.fail({ method: 'GET', path: /contact_information\/show$/, times: 1 }, { status: 409, body: { message: 'Busy, try again' } });
		const sameContact = (i: number) => ({ ...lookup({ concurrency: 1 })(i), identifierValue: number(0) });
		const output = await run(sameContact, [{ i: 0 }, { i: 1 }, { i: 2 }], true);
		expect(output[0].json.error).toMatch(/409/);
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(output[1].json).toEqual(f.fake.contacts[0]);
		expect(output[1].pairedItem).toEqual({ item: 1 });
		expect(output[2].json).toEqual(f.fake.contacts[0]);
		expect(lookups()).toBe(2);
	});

	it('a refused token is renewed once and the answer after it is shared', async () => {
		await run(lookup(), [{ i: 0 }]);
		f.fake.reset();
		f.fake.clearLog();
		f.fake.expireTokensAfter(0);
		const output = await run(lookup(), callers);
		output.forEach((item, i) => expect(item.json.number).toBe(number(i % 6)));
		expect(f.fake.counters.loginOk).toBe(1);
		expect(f.fake.counters.protectedOk).toBe(6);
	});
});

describe('RequestReuse', () => {
	const ok = (body: unknown, statusCode = 200): VendorResponse => ({ statusCode, headers: {}, body });

	it('ten at once for one key: one send, ten answers, each its own copy', async () => {
		const reuse = new RequestReuse();
		let sends = 0;
		const send = async () => {
			sends++;
			await new Promise((resolve) => setTimeout(resolve, 20));
			return ok({ data: { id: 1 } });
		};
		const answers = await Promise.all(Array.from({ length: 10 }, async () => await reuse.run('k', send)));
		expect(sends).toBe(1);
		expect(reuse.sent).toBe(1);
		expect(reuse.reused).toBe(9);
		for (const answer of answers) expect(answer.body).toEqual({ data: { id: 1 } });
		expect(new Set(answers.map((a) => a.body)).size).toBe(10);
	});

	it.each([
		['a network failure', async () => await Promise.reject(new Error('ECONNRESET'))],
		['a 500', async () => ok({ message: 'oops' }, 500)],
		['a 429', async () => ok({}, 429)],
		['a 401', async () => ok({}, 401)],
	])('%s is never handed to the next caller', async (_, failing) => {
		const reuse = new RequestReuse();
		const first = reuse.run('k', failing as () => Promise<VendorResponse>);
		const second = reuse.run('k', async () => ok({ fine: true }));
		await first.catch(() => undefined);
		expect((await second).body).toEqual({ fine: true });
		expect(reuse.sent).toBe(2);
	});

	it('a vendor "token refused" answer (the vendor\'s own rule) is not reused', async () => {
		const reuse = new RequestReuse((r) => (r.body as IDataObject).refused === true);
		await reuse.run('k', async () => ok({ refused: true }));
		expect((await reuse.run('k', async () => ok({ refused: false }))).body).toEqual({ refused: false });
	});

	it('404 and other answers about the data are reused', async () => {
		const reuse = new RequestReuse();
		await reuse.run('k', async () => ok({ message: 'no such contact' }, 404));
		const again = await reuse.run('k', async () => ok({}, 200));
		expect(again.statusCode).toBe(404);
		expect(reuse.sent).toBe(1);
	});

	it('only GET and HEAD without a body or a binary answer are keyed', () => {
		expect(reuseKey({ method: 'GET', url: 'https://x/a', qs: { a: 1 } })).toBeDefined();
		expect(reuseKey({ url: 'https://x/a' })).toBeDefined();
		expect(reuseKey({ method: 'GET', url: 'https://x/a', qs: { a: 1 } })).not.toBe(reuseKey({ method: 'GET', url: 'https://x/a', qs: { a: 2 } }));
		expect(reuseKey({ method: 'POST', url: 'https://x/a' })).toBeUndefined();
		expect(reuseKey({ method: 'DELETE', url: 'https://x/a' })).toBeUndefined();
		expect(reuseKey({ method: 'GET', url: 'https://x/a', encoding: 'arraybuffer' })).toBeUndefined();
		expect(reuseKey({ method: 'GET', url: 'https://x/a', body: { a: 1 } })).toBeUndefined();
	});
});
