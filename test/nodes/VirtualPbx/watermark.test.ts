import { describe, expect, it } from 'vitest';

import { advance, windowStart, type SyncState } from '../../../nodes/VirtualPbx/watermark';

const call = (uuid: string, start: string) => ({ call_uuid: uuid, start_time_gmt: start });

describe('incremental call-history watermark', () => {
	it('first run starts at Start; later runs at the newest call, edge calls skipped by uuid', () => {
		const state: SyncState = {};
		const w1 = windowStart(state, '2024-05-01 00:00:00', 0);
		expect(w1.start).toBe('2024-05-01 00:00:00');
		const first = advance(state, [call('a', '2024-05-01 10:00:00'), call('b', '2024-05-01 10:05:00'), call('c', '2024-05-01 10:05:00')], w1, 0);
		expect(first.fresh.map((c) => c.call_uuid)).toEqual(['a', 'b', 'c']);
		expect(first.next.watermark).toBe('2024-05-01 10:05:00');
		expect(Object.keys(first.next.seen ?? {}).sort()).toEqual(['b', 'c']);

		const w2 = windowStart(first.next, '2024-05-01 00:00:00', 0);
		expect(w2.start).toBe('2024-05-01 10:05:00');
		// The PBX returns the edge calls again (inclusive window) plus two new ones.
		const second = advance(first.next, [call('b', '2024-05-01 10:05:00'), call('c', '2024-05-01 10:05:00'), call('d', '2024-05-01 10:05:00'), call('e', '2024-05-01 11:00:00')], w2, 0);
		expect(second.fresh.map((c) => c.call_uuid)).toEqual(['d', 'e']);
		expect(second.next.watermark).toBe('2024-05-01 11:00:00');
		expect(Object.keys(second.next.seen ?? {})).toEqual(['e']);
	});

	it('an overlap looks back and still returns each call once', () => {
		const state: SyncState = { watermark: '2024-05-01 11:00:00', seen: { x: '2024-05-01 10:55:00', y: '2024-05-01 11:00:00' } };
		const w = windowStart(state, 'ignored', 10);
		expect(w.start).toBe('2024-05-01 10:50:00');
		const out = advance(state, [call('late', '2024-05-01 10:52:00'), call('x', '2024-05-01 10:55:00'), call('y', '2024-05-01 11:00:00')], w, 10);
		expect(out.fresh.map((c) => c.call_uuid)).toEqual(['late']);
		expect(out.next.watermark).toBe('2024-05-01 11:00:00');
		expect(Object.keys(out.next.seen ?? {}).sort()).toEqual(['late', 'x', 'y']);
	});

	it('no new calls: the watermark stays', () => {
		const state: SyncState = { watermark: '2024-05-01 11:00:00', seen: { y: '2024-05-01 11:00:00' } };
		const out = advance(state, [call('y', '2024-05-01 11:00:00')], windowStart(state, 'x', 0), 0);
		expect(out.fresh).toEqual([]);
		expect(out.next.watermark).toBe('2024-05-01 11:00:00');
	});
});
