import type { INodeProperties } from 'n8n-workflow';

export function recordUuidField(operation: string): INodeProperties {
	return {
		displayName: 'Record UUID',
		name: 'recordUuid',
		type: 'string',
		default: '',
		required: true,
		description: 'The record_uuid of the recording (from Recording → Get Many, or a call\'s cdr)',
		displayOptions: { show: { resource: ['recording'], operation: [operation] } },
	};
}
