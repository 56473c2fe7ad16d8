import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { VendorClient } from './client';
import { runItems } from './items';
import { readRunSettings, type Operation, type RunSettings } from './operation';
import { withRunParameters } from './parameters';
import { guardToolRun, type SecretOperations } from './tool';
import { RequestReuse } from './reuse';

export type OperationTable<Client> = Record<string, Record<string, Operation<Client>>>;

/**
 * Finds the operation chosen in the node, makes one client for the whole run (the credential is
 * read once and a renewed token is shared by all items) and runs the operation over the items.
 * For typed read operations, items that send the same request share one (see reuse.ts).
 */
export async function route<Client extends VendorClient>(
	ctx: IExecuteFunctions,
	operations: OperationTable<Client>,
	makeClient: (settings: RunSettings) => Client,
	concurrency: { default: number; max: number },
	/** Operations that output a token or secret: refused when the node runs as an AI tool. */
	secretOperations: SecretOperations = {},
): Promise<INodeExecutionData[][]> {
	const resource = ctx.getNodeParameter('resource', 0) as string;
	const operation = ctx.getNodeParameter('operation', 0) as string;
	const selected = operations[resource]?.[operation];
	if (!selected) {
		throw new NodeOperationError(ctx.getNode(), `The operation "${operation}" of resource "${resource}" is not supported`);
	}
	const settings = readRunSettings(ctx, concurrency.default, concurrency.max);
	const client = makeClient(settings);
	// Identical lookups once per run: the memory belongs to this run's client only.
	if (selected.reusable && settings.reuse) client.reuse = new RequestReuse((response) => client.isAuthFailure(response));
	// Expression-free parameters are resolved once per run, not once per item (parameters.ts).
	const itemContext = withRunParameters(ctx);
	const items = await runItems(
		ctx,
		{
			concurrency: selected.parallel ? settings.concurrency : 1,
			recordKey: selected.recordKey ? (itemIndex) => selected.recordKey!.call(itemContext, itemIndex) : undefined,
			stopsRun: selected.stopsRun,
		},
		async (itemIndex) => {
			guardToolRun(ctx, resource, operation, secretOperations, itemIndex);
			return await selected.execute.call(itemContext, client, itemIndex);
		},
	);
	return [items];
}
