/**
 * The AI tool variants of the action nodes.
 *
 * n8n 2.41 registers a tool variant of every `usableAsTool` node (`<package>.<name>Tool`, built
 * by `convertNodeToAiTool` from the same description and the same `execute`). An AI agent must
 * never receive a token or a secret, and must not change data through *API Request* unless the
 * user allowed it. So:
 *
 * - in the description, operations that output a token or secret are left out of the tool
 *   variant (`displayOptions` `@tool`, which n8n evaluates against the tool's type name), and an
 *   "Allow Writes as AI Tool" switch is shown on *API Request* in the tool variant only;
 * - at run time the router refuses them again (an old workflow, an edited JSON, a tool built
 *   from an earlier version of this package).
 */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/** True when the node runs as the AI tool variant n8n generated for it. */
export function runsAsTool(ctx: Pick<IExecuteFunctions, 'getNode'>): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

/**
 * The node's Resource parameter twice: as it is for the node, and for the tool variant without
 * the resources whose every operation outputs a secret.
 */
export function resourceForNodeAndTool(resource: INodeProperties, notForTools: string[]): INodeProperties[] {
	const options = (resource.options as INodePropertyOptions[]).filter((o) => !notForTools.includes(String(o.value)));
	const fallback = notForTools.includes(String(resource.default)) ? options[0].value : resource.default;
	return [
		{ ...resource, displayOptions: { ...resource.displayOptions, hide: { ...resource.displayOptions?.hide, '@tool': [true] } } },
		{ ...resource, default: fallback, options, displayOptions: { ...resource.displayOptions, show: { ...resource.displayOptions?.show, '@tool': [true] } } },
	];
}

export const ALLOW_WRITES = 'allowWritesAsTool';

/** "Allow Writes as AI Tool", shown on API Request in the tool variant only. */
export function allowWritesProperty(vendor: string): INodeProperties {
	return {
		displayName: 'Allow Writes as AI Tool',
		name: ALLOW_WRITES,
		type: 'boolean',
		default: false,
		displayOptions: { show: { '@tool': [true], resource: ['apiRequest'] } },
		description: `Whether the AI agent may send requests other than GET to ${vendor} (create, change or delete data). Off: the tool only reads.`,
	};
}

/** Operations (resource → operations) whose output is a token or a secret. */
export type SecretOperations = Record<string, string[]>;

/**
 * Refuses, when running as an AI tool, an operation that outputs a secret, and an API Request
 * that writes without the user's permission.
 */
export function guardToolRun(
	ctx: IExecuteFunctions,
	resource: string,
	operation: string,
	secretOperations: SecretOperations,
	itemIndex: number,
): void {
	if (!runsAsTool(ctx)) return;
	if (secretOperations[resource]?.includes(operation)) {
		throw new NodeOperationError(
			ctx.getNode(),
			`The operation "${operation}" of resource "${resource}" outputs a token or secret, so it cannot run as an AI tool`,
			{
				itemIndex,
				description: 'Use this operation in a regular workflow step; an AI agent must never see credentials.',
			},
		);
	}
	if (resource !== 'apiRequest') return;
	const method = String(ctx.getNodeParameter('method', itemIndex, 'GET')).toUpperCase();
	if (method === 'GET' || method === 'HEAD') return;
	if (ctx.getNodeParameter(ALLOW_WRITES, itemIndex, false) === true) return;
	throw new NodeOperationError(
		ctx.getNode(),
		`API Request as an AI tool only reads: the method ${method} is not allowed`,
		{
			itemIndex,
			description: 'Turn on "Allow Writes as AI Tool" in this tool if the agent may change data.',
		},
	);
}
