import { readFileSync } from 'node:fs';

import { defineConfig } from 'vitest/config';

import n8nSuite from './vitest.n8n.config.mts';

// `npm run test:n8n:newest` (scripts/test-n8n-newest.mjs): a selection of the real-n8n suite
// (test/n8n/newest-selection.json) on the newest n8n the registry serves, next to 2.41.1. The
// script sets N8N_VERSION and checks afterwards that every selected test ran.
const selection = JSON.parse(readFileSync(new URL('./test/n8n/newest-selection.json', import.meta.url), 'utf8')) as {
	files: Record<string, string[]>;
};
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const parts = [...new Set(Object.values(selection.files).flat())];

export default defineConfig({
	...n8nSuite,
	test: {
		...n8nSuite.test,
		include: Object.keys(selection.files),
		testNamePattern: new RegExp(parts.map(escape).join('|')),
	},
});
