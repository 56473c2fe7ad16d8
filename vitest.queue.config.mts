import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// The queue-mode suite: Redis + PostgreSQL + n8n main + 2 workers (test/queue/cluster.ts), the
// package installed the panel way, bursts of webhook executions. Run with `npm run test:queue`.
export default defineConfig({
	resolve: { alias: { 'n8n-workflow': require.resolve('n8n-workflow') } },
	test: {
		include: ['test/queue/**/*.test.ts'],
		testTimeout: 900_000,
		hookTimeout: 900_000,
		fileParallelism: false,
		maxWorkers: 1,
	},
});
