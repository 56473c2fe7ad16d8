import { expect } from 'vitest';

/** Awaits a promise that must reject, and returns what it rejected with. */
export async function failure<E = Error>(promise: Promise<unknown>): Promise<E> {
	try {
		await promise;
	} catch (error) {
		return error as E;
	}
	throw new Error('expected a failure, but it succeeded');
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** Awaits a promise that must reject with an instance of `type`, and returns it. */
export async function failureOf<E>(type: ErrorClass<E>, promise: Promise<unknown>): Promise<E> {
	const error = await failure(promise);
	expect(error).toBeInstanceOf(type);
	return error as E;
}

/** Runs `fn`, which must throw an instance of `type`, and returns what it threw. */
export function thrownBy<E>(type: ErrorClass<E>, fn: () => unknown): E {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(type);
		return error as E;
	}
	throw new Error(`expected a ${type.name}`);
}
