/**
 * Identical lookups once per run (nodes/shared/reuse.ts) inside a real n8n 2.41.1: a CRM.COM
 * Contact → Get over items that repeat a few numbers sends one lookup per distinct number, every
 * output item still its own (in order, paired with its input), unknown numbers one error item
 * each; the option turns it off; a second execution asks again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CRMCOM_PATHS, startFakeCrmCom, type FakeCrmCom } from '../fakes/crmcom';
import { packPackage, startN8nInstance, type ExecutionResult, type N8nInstance } from './harness';
import { generateItems, id16, nodeType, workflow, type NodeSpec } from './workflows';

const CRED = { id: id16('reusecred', 1), name: 'CRM.COM (fake)' };
const KEY = 'REUSE0000000000000000000000000KEY';
const AUTH_CODE = 'reuse-code-1';

let fake: FakeCrmCom;
let n8n: N8nInstance;

/** 300 items, 30 numbers: item i asks for CI0000(i % 30 + 1); every 50th asks for an unknown one. */
const lookup = (options: Record<string, unknown>): NodeSpec => ({
	name: 'Contact',
	type: nodeType('crmCom'),
	credentials: { crmComApi: CRED },
	onError: 'continueRegularOutput',
	parameters: {
		resource: 'contact',
		operation: 'get',
		identifyBy: 'number',
		identifierValue: "={{ $json.i % 50 === 7 ? 'CI999999' : 'CI' + String($json.i % 30 + 1).padStart(6, '0') }}",
		options: { concurrency: 10, ...options },
	},
});

const WF = {
	shared: workflow(id16('reusewf', 1), 'reuse on', [...generateItems(300), lookup({})]),
	off: workflow(id16('reusewf', 2), 'reuse off', [...generateItems(300), lookup({ reuseLookups: false })]),
};

const lookups = () => fake.requestsTo(CRMCOM_PATHS.contactShow, 'GET').length;

function expectOutput(result: ExecutionResult): void {
	expect(result.ok, JSON.stringify(result.error)).toBe(true);
	const out = result.nodes.Contact?.items ?? [];
	expect(out).toHaveLength(300);
	out.forEach((item, i) => {
		expect(item.pairedItem).toMatchObject({ item: i });
		if (i % 50 === 7) expect(String(item.json.error)).toMatch(/number=CI999999\): NOT_FOUND/);
		else expect(item.json.number).toBe(`CI${String((i % 30) + 1).padStart(6, '0')}`);
	});
}

beforeAll(async () => {
	fake = await startFakeCrmCom({ consumerKeys: [KEY], authenticationCodes: { [AUTH_CODE]: {} } });
	n8n = await startN8nInstance({ tarball: await packPackage() });
	await n8n.importCredentials([
		{ ...CRED, type: 'crmComApi', data: { serverUrl: fake.url, consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE } },
	]);
	await n8n.importWorkflow(Object.values(WF));
});

afterAll(async () => {
	await n8n?.dispose();
	await fake?.close();
});

describe('identical lookups once per run, in n8n 2.41.1', () => {
	it('300 items over 30 numbers and one unknown: 31 lookups, 300 outputs in order, 6 error items', async () => {
		fake.clearLog();
		expectOutput(await n8n.execute(WF.shared.id));
		expect(lookups()).toBe(31);
		// Nothing is kept across executions.
		fake.clearLog();
		expectOutput(await n8n.execute(WF.shared.id));
		expect(lookups()).toBe(31);
	});

	it('Reuse Identical Lookups off: one lookup per item', async () => {
		fake.clearLog();
		expectOutput(await n8n.execute(WF.off.id));
		expect(lookups()).toBe(300);
	});
});
