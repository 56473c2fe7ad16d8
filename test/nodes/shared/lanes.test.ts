/**
 * Lanes (nodes/shared/lanes.ts): tasks of one lane one at a time, in the order they asked; other
 * lanes beside them; a failed task does not hold its lane.
 */
import { describe, expect, it } from 'vitest';

import { Lanes } from '../../../nodes/shared/lanes';

const tick = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms));

describe('Lanes', () => {
	it('runs the tasks of one lane one at a time, in the order they asked, whatever their durations', async () => {
		const lanes = new Lanes();
		const log: string[] = [];
		let inFlight = 0;
		let most = 0;
		const task = (name: string, ms: number) => async () => {
			inFlight++;
			most = Math.max(most, inFlight);
			log.push(`start ${name}`);
			await tick(ms);
			log.push(`end ${name}`);
			inFlight--;
			return name;
		};
		const results = await Promise.all([
			lanes.run('a', task('1', 30)),
			lanes.run('a', task('2', 1)),
			lanes.run('a', task('3', 10)),
		]);
		expect(results).toEqual(['1', '2', '3']);
		expect(most).toBe(1);
		expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
	});

	it('runs tasks of other lanes beside each other', async () => {
		const lanes = new Lanes();
		let inFlight = 0;
		let most = 0;
		const task = async (): Promise<void> => {
			inFlight++;
			most = Math.max(most, inFlight);
			await tick(20);
			inFlight--;
		};
		await Promise.all([lanes.run('a', task), lanes.run('b', task), lanes.run('c', task)]);
		expect(most).toBe(3);
	});

	it('a task that throws passes its error to its caller and the next task of the lane still runs', async () => {
		const lanes = new Lanes();
		const order: string[] = [];
		const failing = lanes.run('a', async () => {
			await tick(5);
			order.push('failing');
			throw new Error('boom');
		});
		const next = lanes.run('a', async () => {
			order.push('next');
			return 'ok';
		});
		await expect(failing).rejects.toThrow('boom');
		await expect(next).resolves.toBe('ok');
		expect(order).toEqual(['failing', 'next']);
	});

	it('a lane whose tasks have all ended starts the next task at once', async () => {
		const lanes = new Lanes();
		await lanes.run('a', async () => await tick(5));
		const started = Date.now();
		let ran = false;
		await lanes.run('a', async () => {
			ran = true;
		});
		expect(ran).toBe(true);
		expect(Date.now() - started).toBeLessThan(50);
		expect((lanes as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
	});
});
