// Loaded into every n8n process of `npm run bench` (NODE_OPTIONS=--require): at exit, writes the
// process's own CPU time and peak RSS to $BENCH_USAGE_DIR/<pid>.json. Bench tooling only.
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_USAGE_DIR;
if (dir) {
	process.on('exit', () => {
		try {
			const usage = process.resourceUsage();
			fs.writeFileSync(
				path.join(dir, `${process.pid}.json`),
				JSON.stringify({ argv: process.argv.slice(2), cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssKb: usage.maxRSS }),
			);
		} catch {
			// best effort
		}
	});
}
