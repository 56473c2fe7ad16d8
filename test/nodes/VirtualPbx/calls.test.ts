import { describe, expect, it } from 'vitest';

import { externalNumber, knownNumber } from '../../../nodes/VirtualPbx/calls';

describe('the external party\'s number', () => {
	it('caller of an inbound call, called party of an outbound one, nothing for an internal call', () => {
		expect(externalNumber({ flow: 'in', from_username: '+74951234567', to_username: '101' })).toBe('+74951234567');
		expect(externalNumber({ flow: 'out', from_username: '101', to_username: '+74951234567' })).toBe('+74951234567');
		expect(externalNumber({ flow: 'internal', from_username: '101', to_username: '102' })).toBe('');
	});

	it.each(['', '   ', 'anonymous', 'Anonymous', 'Unknown', 'PRIVATE', 'restricted', 'withheld', 'null', '12345', '*67', undefined, null])(
		'withheld or unmatchable: %j → empty',
		(from) => {
			expect(externalNumber({ flow: 'in', from_username: from as string })).toBe('');
		},
	);

	it('keeps a number as the PBX wrote it once it has 6 digits or more', () => {
		expect(knownNumber('123456')).toBe('123456');
		expect(knownNumber(' +7 (495) 123-45-67 ')).toBe('+7 (495) 123-45-67');
		expect(knownNumber(74951234567)).toBe('74951234567');
	});
});
