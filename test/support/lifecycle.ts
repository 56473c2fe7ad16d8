/**
 * Things a test file starts once and stops after its tests (a fake vendor, a fixture, an n8n
 * instance), declared in one line: `const fake = useFake('fake CRM.COM', () => startFakeCrmCom(…))`
 * registers the `beforeAll` that starts it and the `afterAll` that stops it, in the file or in the
 * describe block where it is called, and gives the test a stand-in at once.
 *
 * The stand-in forwards every read, write and method call to the real object once `beforeAll`
 * has made it; before that (or when the start failed) it throws saying so. Read it inside tests
 * and hooks, not while the file is being collected.
 *
 * Hooks run in the order they are registered and `afterAll` hooks in reverse (vitest's default
 * `sequence.hooks: 'stack'`): what is declared first starts first and stops last.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** A stand-in for a value set later, and the means to set and read it. */
export interface Late<T extends object> {
	/** Forwards to the value; throws while there is none. */
	readonly ref: T;
	set(value: T): T;
	/** The value, or undefined while there is none (for teardown after a failed start). */
	get(): T | undefined;
}

export function late<T extends object>(what: string): Late<T> {
	let value: T | undefined;
	const target = (key: PropertyKey): T => {
		if (value === undefined) {
			throw new Error(`${what} is not started (reading ${String(key)}): use it inside a test or a hook; did its beforeAll fail?`);
		}
		return value;
	};
	const ref = new Proxy({} as T, {
		get(_, key) {
			// Not a thenable, and printable, while unset.
			if (value === undefined && (key === 'then' || typeof key === 'symbol')) return undefined;
			const t = target(key);
			const v: unknown = Reflect.get(t, key, t);
			return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(t) : v;
		},
		set: (_, key, v) => Reflect.set(target(key), key, v),
		has: (_, key) => value !== undefined && Reflect.has(value, key),
		ownKeys: () => Reflect.ownKeys(target('keys')),
		getOwnPropertyDescriptor: (_, key) => {
			const descriptor = Reflect.getOwnPropertyDescriptor(target(key), key);
			return descriptor && { ...descriptor, configurable: true };
		},
		getPrototypeOf: () => Reflect.getPrototypeOf(target('prototype')),
	});
	return {
		ref,
		set: (v) => (value = v),
		get: () => value,
	};
}

export interface UseOptions {
	/** Timeout of the start-up hook (default: the config's hookTimeout). */
	timeoutMs?: number;
}

/** Starts `start()` in beforeAll, `stop(value)` in afterAll (only if it started); the stand-in. */
export function useStarted<T extends object>(
	what: string,
	start: () => Promise<T>,
	stop: (value: T) => Promise<void>,
	options: UseOptions = {},
): T {
	const it = late<T>(what);
	beforeAll(async () => {
		it.set(await start());
	}, options.timeoutMs);
	afterAll(async () => {
		const value = it.get();
		if (value !== undefined) await stop(value);
	});
	return it.ref;
}

/** What a fake (test/fakes/common.ts FakeServer) can do between tests. */
export interface ResettableFake {
	close(): Promise<void>;
	/** Zeroes a vendor's counters (the vendor fakes have them). */
	reset?(): void;
	clearFaults(): void;
	clearLog(): void;
}

export interface FakeUseOptions extends UseOptions {
	/**
	 * true (default): every test starts from a fresh fake: counters zeroed, scripted faults and
	 * the request log cleared (before the file's own beforeEach hooks). false: the tests share
	 * its state (as a real-n8n suite does, one step after the other).
	 */
	fresh?: boolean;
}

/** Zeroes a fake's counters and clears its scripted faults and request log. */
export function freshen(fake: ResettableFake): void {
	fake.reset?.();
	fake.clearFaults();
	fake.clearLog();
}

function useResettable<T extends object>(
	what: string,
	start: () => Promise<T>,
	fakeOf: (value: T) => ResettableFake,
	options: FakeUseOptions,
): T {
	const value = useStarted(what, start, async (v) => await fakeOf(v).close(), options);
	if (options.fresh ?? true) beforeEach(() => freshen(fakeOf(value)));
	return value;
}

/** A fake vendor for the file (or describe block): started before its tests, closed after. */
export function useFake<F extends ResettableFake>(what: string, start: () => Promise<F>, options: FakeUseOptions = {}): F {
	return useResettable(what, start, (fake) => fake, options);
}

/** A vendor fixture (test/support/{b2copy,crmcom,pbx}.ts: a fake plus what the tests need with it). */
export function useFixture<T extends { fake: ResettableFake }>(what: string, start: () => Promise<T>, options: FakeUseOptions = {}): T {
	return useResettable(what, start, (fixture) => fixture.fake, options);
}
