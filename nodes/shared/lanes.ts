/**
 * Lanes: tasks that name the same lane run one at a time, in the order they asked; tasks of other
 * lanes run beside them. Used by the client (`SendOptions.lane`: a vendor that refuses a second
 * concurrent statistics request of the same client) and by the item runner (`recordKey`: items
 * that write the same record run one after another, in item order, so a vendor answering
 * concurrent writes out of order cannot apply an older write after a newer one).
 */
export class Lanes {
	/** Per lane: the promise the next task of that lane waits for. */
	private readonly tails = new Map<string, Promise<void>>();

	/** Runs `task` once every earlier task of `lane` has settled; the next one waits for it. */
	async run<T>(lane: string, task: () => Promise<T>): Promise<T> {
		const before = this.tails.get(lane) ?? Promise.resolve();
		let done!: () => void;
		const mine = new Promise<void>((resolve) => (done = resolve));
		this.tails.set(lane, mine);
		await before;
		try {
			return await task();
		} finally {
			done();
			if (this.tails.get(lane) === mine) this.tails.delete(lane);
		}
	}
}
