/**
 * Builders for the workflows the real-n8n suites import: a Manual Trigger, an optional item
 * generator, and our nodes in a chain.
 */
import type { WorkflowInput, WorkflowNode } from './harness';

export const PACKAGE = 'n8n-nodes-crm-pbx';
export const nodeType = (name: string) => `${PACKAGE}.${name}`;

export interface NodeSpec {
	name: string;
	type: string;
	typeVersion?: number;
	parameters?: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	onError?: 'continueRegularOutput' | 'continueErrorOutput' | 'stopWorkflow';
}

/** Nodes that turn the trigger's single item into `count` items `{ i: 0 … count-1 }`. */
export function generateItems(count: number, extra: Record<string, unknown> = {}): NodeSpec[] {
	const row = JSON.stringify(extra).slice(1, -1);
	return [
		{
			name: 'Make Items',
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			parameters: {
				mode: 'raw',
				jsonOutput: `={{ JSON.stringify({ rows: Array.from({ length: ${count} }, (_, i) => ({ i${row ? `, ${row}` : ''} })) }) }}`,
				options: {},
			},
		},
		{
			name: 'Split Items',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			parameters: { fieldToSplitOut: 'rows', options: {} },
		},
	];
}

/** Connections of a chain of nodes: names[0] → names[1] → … (main output 0 each). */
export function chain(...names: string[]): Record<string, unknown> {
	return Object.fromEntries(names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]));
}

/** An HTTP Request node that POSTs the JSON `jsonBody` (an expression) to `url`: a sync's write step to a sink. */
export function postJson(name: string, url: string, jsonBody: string, position: [number, number]): WorkflowNode {
	return {
		name,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		position,
		parameters: { method: 'POST', url, sendBody: true, specifyBody: 'json', jsonBody, options: {} },
	};
}

/** A linear workflow: Manual Trigger → nodes[0] → nodes[1] → … */
export function workflow(id: string, name: string, nodes: NodeSpec[]): WorkflowInput {
	const all: WorkflowNode[] = [
		{ name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} } as WorkflowNode,
		...nodes.map((n, i) => ({ typeVersion: 1, parameters: {}, position: [200 * (i + 1), 0], ...n }) as WorkflowNode),
	];
	return { id, name, nodes: all, connections: chain(...all.map((n) => n.name)) } as WorkflowInput;
}

/** n8n workflow and credential ids are 16 characters. */
export function id16(prefix: string, n: number | string = 1): string {
	const tail = String(n);
	return `${prefix}${'0'.repeat(Math.max(0, 16 - prefix.length - tail.length))}${tail}`.slice(0, 16);
}
