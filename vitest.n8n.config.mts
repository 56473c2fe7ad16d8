import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// The real-n8n suite: packs this package, installs it the way n8n's community panel does and
// runs workflows in n8n 2.41.1 against the fake vendors. Slow; run with `npm run test:n8n`.
export default defineConfig({
	resolve: { alias: { 'n8n-workflow': require.resolve('n8n-workflow') } },
	test: {
		include: ['test/n8n/**/*.test.ts'],
		testTimeout: 600_000,
		hookTimeout: 1_200_000,
		fileParallelism: false,
		maxWorkers: 1,
	},
});
