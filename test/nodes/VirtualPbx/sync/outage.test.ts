/**
 * Mark as Synced and Mark as Failed after a write step that met a vendor outage under
 * continue-on-fail (its items flagged `outage: true`, shared/items.ts): they mark nothing and stop
 * the run, so the calls come again — n8n would otherwise carry the unwritten calls on as done.
 */
import { NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { VirtualPbxTrustedAppApi } from '../../../../credentials/VirtualPbxTrustedAppApi.credentials';
import { VirtualPbx } from '../../../../nodes/VirtualPbx/VirtualPbx.node';
import { createExecuteContext, credentialStore } from '../../../support/context';
import { usePbxFixture } from '../../../support/pbx';

const f = usePbxFixture({ callCount: 0, statsDelayMs: 0 }, { fresh: false });

const node = new VirtualPbx();

describe.each(['markSynced', 'markFailed'])('Call History → %s after an outage', (operation) => {
	it('an input item flagged outage: the run stops with a NodeOperationError naming what the write step was told; nothing is recorded', async () => {
		const recorded: unknown[] = [];
		const ctx = createExecuteContext({
			store: credentialStore(new VirtualPbxTrustedAppApi(), f.credentials),
			params: { authentication: 'trustedApp', resource: 'callHistory', operation, callUuid: '={{ $json.call_uuid }}', errorMessage: '', maxAttempts: 3 },
			items: [
				{ call_uuid: 'c-1', number: 'CI000001' },
				{ call_uuid: 'c-2', error: 'CRM.COM refused the contact update (number=CI000002): INTERNAL_ERROR: Internal server error', outage: true },
			],
		});
		Object.assign(ctx.helpers, {
			checkProcessedAndRecord: async (items: unknown[]) => {
				recorded.push(...items);
				return { new: items, processed: [] };
			},
			removeProcessed: async (items: unknown[]) => {
				recorded.push(...items);
			},
		});
		const error = await node.execute.call(ctx).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as NodeOperationError).message).toMatch(/could not write the call: the service it writes to is failing, so the run stops/);
		expect((error as NodeOperationError).description).toContain('INTERNAL_ERROR: Internal server error');
		expect((error as NodeOperationError).context.itemIndex).toBe(1);
		expect(recorded).toEqual([]);
	});
});
