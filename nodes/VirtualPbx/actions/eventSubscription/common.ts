import type { INodePropertyOptions } from 'n8n-workflow';

export const EVENT_TYPES: INodePropertyOptions[] = [
	{ name: 'Answer', value: 'answer', description: 'A call was answered' },
	{ name: 'Dial In', value: 'dial-in', description: 'An inbound call starts ringing' },
	{ name: 'Dial Out', value: 'dial-out', description: 'An outbound call is dialled' },
	{ name: 'Hangup', value: 'hangup', description: 'A call ended' },
	{ name: 'Message In', value: 'message-in', description: 'A message was received' },
	{ name: 'Message Out', value: 'message-out', description: 'A message was sent' },
	{ name: 'Voicemail', value: 'voicemail', description: 'A voicemail was left' },
];
