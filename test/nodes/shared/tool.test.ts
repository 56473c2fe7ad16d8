/**
 * The AI tool variants: no operation outputs a token or secret, API Request only reads unless
 * the user allows writes. Checked on the description the way n8n evaluates it (`@tool` display
 * options against the tool's type name) and at run time (the router refuses, nothing is sent).
 */
import type { INodeExecutionData, INodeProperties, INodePropertyOptions, INodeTypeDescription } from 'n8n-workflow';
import { NodeHelpers, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { VirtualPbxTrustedAppApi } from '../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../../nodes/B2Copy/B2Copy.node';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { VirtualPbx } from '../../../nodes/VirtualPbx/VirtualPbx.node';
import { B2COPY_PATHS } from '../../fakes/b2copy';
import { createExecuteContext, credentialStore } from '../../support/context';
import { useVendorFixtures } from '../../support/vendors';

const { b2, crm, pbx } = useVendorFixtures();

/** What the editor shows for one parameter in the node (`b2Copy`) or its tool (`b2CopyTool`). */
function visibleOptions(description: INodeTypeDescription, asTool: boolean, name: string, values: Record<string, unknown>): string[] {
	const type = { ...description, name: `${description.name}${asTool ? 'Tool' : ''}` };
	const shown = description.properties.filter(
		(p) => p.name === name && NodeHelpers.displayParameter(values as never, p, { typeVersion: 1 }, type),
	);
	return shown.flatMap((p: INodeProperties) => (p.options as INodePropertyOptions[] | undefined)?.map((o) => String(o.value)) ?? [String(p.default)]);
}

describe('descriptions (as n8n evaluates @tool)', () => {
	const cases: Array<[string, INodeTypeDescription, string]> = [
		['B2COPY', new B2Copy().description, 'token'],
		['CRM.COM', new CrmCom().description, 'token'],
		['Virtual PBX', new VirtualPbx().description, 'application'],
	];
	for (const [vendor, description, secret] of cases) {
		it(`${vendor}: the node offers "${secret}", its tool variant does not; one Resource each`, () => {
			const node = visibleOptions(description, false, 'resource', {});
			const tool = visibleOptions(description, true, 'resource', {});
			expect(node).toContain(secret);
			expect(tool).not.toContain(secret);
			expect(tool).toContain('apiRequest');
			expect(tool.length).toBe(node.length - 1);
		});
		it(`${vendor}: "Allow Writes as AI Tool" only in the tool variant, on API Request`, () => {
			expect(visibleOptions(description, true, 'allowWritesAsTool', { resource: 'apiRequest' })).toEqual(['false']);
			expect(visibleOptions(description, false, 'allowWritesAsTool', { resource: 'apiRequest' })).toEqual([]);
		});
	}
});

async function runAsTool(
	node: { execute: (this: never) => Promise<INodeExecutionData[][]> },
	type: unknown,
	credentials: Record<string, unknown>,
	params: Record<string, unknown>,
	asTool = true,
): Promise<{ output?: INodeExecutionData[]; error?: Error }> {
	const ctx = createExecuteContext({ store: credentialStore(type as never, credentials as never), params });
	const getNode = ctx.getNode.bind(ctx);
	ctx.getNode = () => ({ ...getNode(), type: `n8n-nodes-crm-pbx.someNode${asTool ? 'Tool' : ''}` });
	try {
		const [output] = await node.execute.call(ctx as never);
		return { output };
	} catch (error) {
		return { error: error as Error };
	}
}

describe('run time: secrets never reach an AI agent', () => {
	it('B2COPY Token → Get and Refresh are refused as a tool, before any request', async () => {
		for (const operation of ['get', 'refresh']) {
			const { output, error } = await runAsTool(new B2Copy(), new B2CopyExternalCrmApi(), b2.credentials, { resource: 'token', operation, refreshToken: 'x' });
			expect(output).toBeUndefined();
			expect(error).toBeInstanceOf(NodeOperationError);
			expect(error?.message).toMatch(/outputs a token or secret, so it cannot run as an AI tool/);
		}
		expect(b2.fake.requests).toEqual([]);
	});

	it('CRM.COM Token → Get is refused as a tool', async () => {
		const { error } = await runAsTool(new CrmCom(), new CrmComApi(), crm.credentials, { resource: 'token', operation: 'get' });
		expect(error?.message).toMatch(/cannot run as an AI tool/);
		expect(crm.fake.requests).toEqual([]);
	});

	it('PBX Application → Create Trusted is refused as a tool', async () => {
		const { error } = await runAsTool(new VirtualPbx(), new VirtualPbxTrustedAppApi(), pbx.credentials, { authentication: 'trustedApp', resource: 'application', operation: 'createTrusted', name: 'agent app' });
		expect(error?.message).toMatch(/cannot run as an AI tool/);
		expect(pbx.fake.requests).toEqual([]);
	});

	it('the same operations still run in a regular step (B2COPY Token → Get)', async () => {
		const { output, error } = await runAsTool(new B2Copy(), new B2CopyExternalCrmApi(), b2.credentials, { resource: 'token', operation: 'get' }, false);
		expect(error).toBeUndefined();
		expect(output?.[0].json.accessToken).toBeTruthy();
	});
});

describe('run time: API Request as a tool only reads unless allowed', () => {
	const echo = (method: string, extra: Record<string, unknown> = {}) => ({ resource: 'apiRequest', operation: 'request', method, path: B2COPY_PATHS.echo, jsonBody: '{"x":1}', ...extra });

	it('GET works; POST is refused with no request sent; allowed, POST is sent', async () => {
		const get = await runAsTool(new B2Copy(), new B2CopyExternalCrmApi(), b2.credentials, echo('GET'));
		expect(get.error).toBeUndefined();
		b2.fake.clearLog();
		const post = await runAsTool(new B2Copy(), new B2CopyExternalCrmApi(), b2.credentials, echo('POST'));
		expect(post.error?.message).toBe('API Request as an AI tool only reads: the method POST is not allowed');
		expect(b2.fake.requestsTo(B2COPY_PATHS.echo)).toEqual([]);
		const allowed = await runAsTool(new B2Copy(), new B2CopyExternalCrmApi(), b2.credentials, echo('POST', { allowWritesAsTool: true }));
		expect(allowed.error).toBeUndefined();
		expect(b2.fake.requestsTo(B2COPY_PATHS.echo, 'POST')).toHaveLength(1);
	});

	it('CRM.COM and PBX API Request POST are refused as a tool', async () => {
		const crmPost = await runAsTool(new CrmCom(), new CrmComApi(), crm.credentials, { resource: 'apiRequest', operation: 'request', method: 'POST', action: 'contact_information/update', jsonBody: '{}' });
		expect(crmPost.error?.message).toMatch(/only reads: the method POST/);
		const pbxPost = await runAsTool(new VirtualPbx(), new VirtualPbxTrustedAppApi(), pbx.credentials, { authentication: 'trustedApp', resource: 'apiRequest', operation: 'request', method: 'POST', path: '/user/', jsonBody: '{}' });
		expect(pbxPost.error?.message).toMatch(/only reads: the method POST/);
		expect(crm.fake.requests).toEqual([]);
		expect(pbx.fake.requests).toEqual([]);
	});
});
