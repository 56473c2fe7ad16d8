/**
 * Every error message the package can raise must appear in the README's troubleshooting table,
 * so that a user who meets it finds what to do. A message appears when one table row holds its
 * fixed parts in order (the parts between template placeholders, each up to 50 characters).
 */
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { sourceMessages, staticParts } from './messages';

const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Troubleshooting'), readme.indexOf('## For contributors'));
const normalize = (text: string) => text.replace(/\\\|/g, '|').replace(/[`*]/g, '').replace(/\s+/g, ' ').toLowerCase();
const rows = section
	.split('\n')
	.filter((line) => line.startsWith('|'))
	.map((line) => normalize(line.split(/(?<!\\)\|/)[1] ?? ''));

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function appears(literal: string): boolean {
	const parts = staticParts(literal).map((p) => normalize(p).slice(0, 50).trim()).filter((p) => p.length > 2);
	const pattern = new RegExp(parts.map(escape).join('[\\s\\S]*?'));
	return rows.some((row) => pattern.test(row));
}

describe('README troubleshooting table', () => {
	const messages = sourceMessages();

	it('finds the package\'s messages in the source', () => {
		expect(messages.length).toBeGreaterThan(50);
		expect(rows.length).toBeGreaterThan(20);
	});

	it.each(messages.map((m) => [`${m.file}:${m.line}`, m.literal]))('%s appears in the table', (_, literal) => {
		expect(appears(literal), `add a row for: ${literal}`).toBe(true);
	});
});
