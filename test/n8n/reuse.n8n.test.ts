/**
 * Identical lookups once per run (nodes/shared/reuse.ts) inside a real n8n 2.41.1: a CRM.COM
 * Contact → Get over items that repeat a few numbers sends one lookup per distinct number, every
 * output item still its own (in order, paired with its input), unknown numbers one error item
 * each; the option turns it off; a second execution asks again. A plain field mapping
 * (`{{ $json.from.number }}`, read from the item by nodes/shared/parameters.ts) gives exactly what
 * n8n's own evaluation of an equivalent expression gives, missing fields included.
 */
import { describe, expect, it } from 'vitest';

import { CRMCOM_PATHS } from '../fakes/crmcom';
import { useFakeCrmCom } from '../support/crmcom';
import type { ExecutionResult } from './harness';
import { useN8n } from './instance';
import { generateItems, id16, nodeType, workflow, type NodeSpec } from './workflows';

const CRED = { id: id16('reusecred', 1), name: 'CRM.COM (fake)' };
const KEY = 'REUSE0000000000000000000000000KEY';
const AUTH_CODE = 'reuse-code-1';

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

/** Items as a call history gives them: nested fields, a spaced key, one item without a number. */
const callRows = (): NodeSpec[] => [
	{
		name: 'Make Items',
		type: 'n8n-nodes-base.set',
		typeVersion: 3.4,
		parameters: {
			mode: 'raw',
			jsonOutput: `={{ JSON.stringify({ rows: Array.from({ length: 40 }, (_, i) => i === 13 ? ({ i, from: {} }) : ({ i, from: { number: 'CI' + String(i % 12 + 1).padStart(6, '0') }, 'other party': i % 5 === 0 ? 'CI999999' : 'CI' + String(i % 7 + 1).padStart(6, '0') })) }) }}`,
			options: {},
		},
	},
	{ name: 'Split Items', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'rows', options: {} } },
];
const mapped = (identifierValue: string): NodeSpec => ({ ...lookup({}), parameters: { ...lookup({}).parameters, identifierValue } });

const WF = {
	shared: workflow(id16('reusewf', 1), 'reuse on', [...generateItems(300), lookup({})]),
	off: workflow(id16('reusewf', 2), 'reuse off', [...generateItems(300), lookup({ reuseLookups: false })]),
	mapping: workflow(id16('reusewf', 3), 'field mapping', [...callRows(), mapped('={{ $json.from.number }}')]),
	evaluated: workflow(id16('reusewf', 4), 'same, evaluated by n8n', [...callRows(), mapped("={{ $json.from.number === undefined ? undefined : '' + $json.from.number }}")]),
	spaced: workflow(id16('reusewf', 5), 'spaced field mapping', [...callRows(), mapped('={{ $json["other party"] }}')]),
	blocked: workflow(id16('reusewf', 7), 'field n8n refuses', [...generateItems(5, { caller: { number: 'CI000001' } }), mapped('={{ $json.caller.number }}')]),
	spacedEvaluated: workflow(id16('reusewf', 6), 'spaced, evaluated by n8n', [...callRows(), mapped("={{ $json['other party'] === undefined ? undefined : '' + $json['other party'] }}")]),
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

const fake = useFakeCrmCom({ consumerKeys: [KEY], authenticationCodes: { [AUTH_CODE]: {} } }, { fresh: false });
const n8n = useN8n({
	credentials: () => [{ ...CRED, type: 'crmComApi', data: { serverUrl: fake.url, consumerKey: KEY, loginMethod: 'authenticationCode', authenticationCode: AUTH_CODE } }],
	workflows: () => Object.values(WF),
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

describe('plain field mappings read from the item, in n8n 2.41.1', () => {
	const outputs = (result: ExecutionResult) => {
		expect(result.ok, JSON.stringify(result.error)).toBe(true);
		return (result.nodes.Contact?.items ?? []).map((item) => ({ json: item.json, pairedItem: item.pairedItem }));
	};

	it('{{ $json.from.number }} and {{ $json["other party"] }} give what n8n gives for the same values, missing field included', async () => {
		const mappedOut = outputs(await n8n.execute(WF.mapping.id));
		const evaluatedOut = outputs(await n8n.execute(WF.evaluated.id));
		expect(mappedOut).toHaveLength(40);
		expect(mappedOut).toEqual(evaluatedOut);
		expect(mappedOut[0].json, JSON.stringify(mappedOut.slice(0, 2))).toMatchObject({ number: 'CI000001' });
		expect(String(mappedOut[13].json.error)).toMatch(/"Value" parameter is empty/); // no number: n8n's answer, then our message
		const spacedOut = outputs(await n8n.execute(WF.spaced.id));
		expect(spacedOut).toEqual(outputs(await n8n.execute(WF.spacedEvaluated.id)));
		expect(spacedOut.filter((o) => o.json.error)).toHaveLength(9); // every 5th asks for CI999999, item 13 has none
	});

	it("a field n8n's sandbox refuses to read (caller) is refused for every item, not read around", async () => {
		const out = outputs(await n8n.execute(WF.blocked.id));
		expect(out).toHaveLength(5);
		for (const item of out) expect(String(item.json.error)).toMatch(/security concerns/);
	});
});
