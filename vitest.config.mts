import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
	resolve: {
		// One CommonJS instance of n8n-workflow, as n8n itself loads it: `instanceof NodeApiError`
		// stays reliable and the ESM build (which does not load outside n8n) is never used.
		alias: { 'n8n-workflow': require.resolve('n8n-workflow') },
	},
	test: {
		include: ['test/**/*.test.ts'],
		exclude: ['test/n8n/**', 'test/queue/**', 'node_modules/**'],
		testTimeout: 20_000,
		hookTimeout: 30_000,
		// Single-process tests: no jittered wait before renewals (test/support/setup.ts).
		setupFiles: ['test/support/setup.ts'],
	},
});
