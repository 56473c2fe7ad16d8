/** Awaits a promise that must reject, and returns what it rejected with. */
export async function failure<E = Error>(promise: Promise<unknown>): Promise<E> {
	try {
		await promise;
	} catch (error) {
		return error as E;
	}
	throw new Error('expected a failure, but it succeeded');
}
