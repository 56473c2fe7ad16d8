/**
 * Redaction of secrets of any length (issue 13, item 7): a short pass code echoed by a vendor
 * disappears from messages, without destroying the sentence around a 1–2 character secret.
 */
import { describe, expect, it } from 'vitest';

import { CrmComApi } from '../../../credentials/CrmComApi.credentials';
import { CrmCom } from '../../../nodes/CrmCom/CrmCom.node';
import { redact } from '../../../nodes/shared/errors';
import { createExecuteContext, credentialStore } from '../../support/context';
import { crmcomFixture } from '../../support/crmcom';

describe('redact', () => {
	it('removes long secrets anywhere, even inside words', () => {
		expect(redact('key=abcdef123 and xabcdef123y', ['abcdef123'])).toBe('key=[redacted] and x[redacted]y');
	});

	it('removes a 3–5 character secret as a whole word or number', () => {
		expect(redact('Pass code 4242 is not valid for 4242.', ['4242'])).toBe('Pass code [redacted] is not valid for [redacted].');
		expect(redact('Code "q7x" refused', ['q7x'])).toBe('Code "[redacted]" refused');
		expect(redact('request 14242 and x4242y stay', ['4242'])).toBe('request 14242 and x4242y stay');
	});

	it('removes a 1–2 character secret only where it is quoted or given as a value', () => {
		expect(redact('Pass code "7" is not valid; code=7, code: 7', ['7'])).toBe('Pass code "[redacted]" is not valid; code=[redacted], code: [redacted]');
		expect(redact('Check a field and try again in 7 days', ['a', '7'])).toBe('Check a field and try again in 7 days');
	});

	it('handles secrets with regular-expression characters and overlapping secrets (longest first)', () => {
		expect(redact('pin (1+1) and 1+1x', ['(1+1)'])).toBe('pin [redacted] and 1+1x');
		expect(redact('secret abc123456', ['abc', 'abc123456'])).toBe('secret [redacted]');
	});

	it('ignores empty and non-string entries', () => {
		expect(redact('nothing to hide', ['', '   ', undefined, 42, null])).toBe('nothing to hide');
	});
});

describe('a 4-character pass code echoed by CRM.COM', () => {
	it('is not in the run error', async () => {
		const f = await crmcomFixture({ identifiers: { 'agent@example.com': { passCode: '4242' } } });
		try {
			f.fake.fail({ path: /token$/ }, { status: 401, body: { status: { code: 'INVALID_PASS_CODE', message: 'Pass code 4242 is not valid for agent@example.com' } } });
			const store = credentialStore(new CrmComApi(), { ...f.byMethod.identifierPassCode, identifier: 'agent@example.com', passCode: '4242' });
			const ctx = createExecuteContext({ store, params: { resource: 'apiRequest', operation: 'request', method: 'GET', action: 'contact_information/list' } });
			const error = await new CrmCom().execute.call(ctx).then(
				() => undefined,
				(e: unknown) => e as Error & { description?: string },
			);
			expect(error).toBeDefined();
			const text = `${error?.message} ${error?.description ?? ''}`;
			expect(text).toContain('Pass code [redacted] is not valid');
			expect(text).not.toContain('4242');
		} finally {
			await f.fake.close();
		}
	});
});
