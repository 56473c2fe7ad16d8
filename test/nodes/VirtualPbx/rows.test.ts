import { describe, expect, it } from 'vitest';

import { SIMPLE_CALL_FIELDS, callRows, recordingRows, withIsoTimes } from '../../../nodes/VirtualPbx/actions/rows';

describe('rows: ISO times and Simplify', () => {
	it('adds x_time beside every x_time_gmt, nested legs too; null, empty and unreadable values give null; other fields untouched', () => {
		const row = {
			call_uuid: 'u1',
			start_time_gmt: '2024-05-31 14:05:09',
			answer_time_gmt: null,
			end_time_gmt: '',
			hangup_time_gmt: 'yesterday',
			created_gmt: '2024-05-31 14:05:09',
			cdr: [{ record_uuid: 'r1', start_time_gmt: '2024-05-31T14:06:00' }, 'x'],
		};
		expect(withIsoTimes(row)).toEqual({
			...row,
			start_time: '2024-05-31T14:05:09.000Z',
			answer_time: null,
			end_time: null,
			hangup_time: null,
			cdr: [{ record_uuid: 'r1', start_time_gmt: '2024-05-31T14:06:00', start_time: '2024-05-31T14:06:00.000Z' }, 'x'],
		});
		expect(row).not.toHaveProperty('start_time'); // a copy
	});

	it('keeps a field the PBX itself sends under the ISO name', () => {
		expect(withIsoTimes({ start_time_gmt: '2024-05-31 14:05:09', start_time: '17:05 MSK' })).toEqual({ start_time_gmt: '2024-05-31 14:05:09', start_time: '17:05 MSK' });
	});

	it('Simplify: at most ten call fields, in a fixed order, those present only; recordings keep their ids', () => {
		expect(SIMPLE_CALL_FIELDS.length).toBeLessThanOrEqual(10);
		const wide = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`extra_${i}`, i]));
		const [simple] = callRows([{ ...wide, to_username: '+1', call_uuid: 'u', start_time_gmt: '2024-01-02 03:04:05', flow: 'in' }], true);
		expect(Object.keys(simple)).toEqual(['call_uuid', 'start_time_gmt', 'start_time', 'flow', 'external_number', 'in_progress']);
		expect(simple.external_number).toBe(''); // '+1' has too few digits to be a customer's number
		expect(simple.in_progress).toBe(true); // no end_time_gmt
		expect(simple.start_time).toBe('2024-01-02T03:04:05.000Z');
		const [full] = callRows([{ ...wide, call_uuid: 'u' }], false);
		expect(Object.keys(full)).toHaveLength(28);
		expect(recordingRows([{ call_uuid: 'c', record_uuid: 'r', storage: 's3', size: 1 }], true)).toEqual([{ call_uuid: 'c', record_uuid: 'r' }]);
	});
});
