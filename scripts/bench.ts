/**
 * `npm run bench`: 1,000 authenticated calls inside one real n8n 2.41.1, through
 *   (a) n8n's HTTP Request node at its defaults (header / query auth),
 *   (b) our B2COPY API Request and CRM.COM Contact → Get, at concurrency 1 and 10,
 * against the fake vendors with 0 ms and 50 ms injected latency. Each case runs 3 times; the
 * table shows the median of the node's own execution time (n8n's executionTime), per item.
 *
 * Writes bench-results/latest.md and .json. Figures, not a test: nothing here fails a build.
 *   BENCH_RUNS (default 3), BENCH_ITEMS (default 1000), BENCH_LATENCIES (default "0,50")
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { exchangeB2CopyTokens, readB2CopyInputs } from '../nodes/B2Copy/auth';
import { loginCrmCom } from '../nodes/CrmCom/auth';
import { startFakeCrmCom, type FakeCrmCom } from '../test/fakes/crmcom';
import { REPO_ROOT, packPackage, startN8nInstance, type ExecutionResult, type N8nInstance } from '../test/n8n/harness';
import { generateItems, id16, nodeType, workflow, type NodeSpec } from '../test/n8n/workflows';
import { b2copyFixture, type B2CopyFixture } from '../test/support/b2copy';
import { testHttpRequest } from '../test/support/http';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 1000);
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,50').split(',').map(Number);
const CRM_KEY = 'BENCHKEY0000000000000000000000';
const CRM_CODE = 'bench-code';

interface Case {
	id: string;
	label: string;
	vendor: 'b2copy' | 'crmcom';
	kind: 'http' | 'ours';
	concurrency: number;
	node: NodeSpec;
}

interface Row {
	latencyMs: number;
	label: string;
	vendor: string;
	concurrency: number;
	msPerItem: number;
	runsMs: number[];
	vsHttpNode?: number;
	vsLimit?: number;
	tokenAcquisitions: number;
	peakRssMb?: number;
}

const say = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

function nodeTime(result: ExecutionResult, node: string): number {
	const runData = (result.run as any)?.data?.resultData?.runData?.[node];
	const time = runData?.[0]?.executionTime;
	if (!result.ok || typeof time !== 'number') throw new Error(`${node} failed: ${JSON.stringify(result.error)}`);
	const count = result.nodes[node]?.items.length ?? 0;
	if (count !== ITEMS) throw new Error(`${node} returned ${count} items, expected ${ITEMS}`);
	return time;
}

/** Peak resident memory of n8n's processes while `fn` runs (VmHWM from /proc). */
async function withPeakMemory<T>(n8n: N8nInstance, fn: () => Promise<T>): Promise<{ value: T; peakKb: number }> {
	let peakKb = 0;
	const sample = () => {
		for (const pid of n8n.processGroups) {
			try {
				const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
				const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
				if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
			} catch {
				// the process just ended
			}
		}
	};
	const timer = setInterval(sample, 100);
	try {
		const value = await fn();
		return { value, peakKb };
	} finally {
		clearInterval(timer);
		sample();
	}
}

function machine(): string {
	const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
	return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, n8n 2.41.1 on Node 24 (test runner on Node ${process.versions.node})`;
}

async function main(): Promise<void> {
	say('starting the fake vendors');
	const b2: B2CopyFixture = await b2copyFixture({ accessTokenTtlSec: 24 * 3600 });
	const crm: FakeCrmCom = await startFakeCrmCom({ consumerKeys: [CRM_KEY], authenticationCodes: { [CRM_CODE]: {} }, contactCount: Math.max(ITEMS, 3000), tokenLifetimeSec: 24 * 3600 });
	// Tokens for n8n's HTTP Request node (it has no way to get them by itself).
	const b2token = (await exchangeB2CopyTokens(readB2CopyInputs(b2.credentials), testHttpRequest)).accessToken;
	const crmToken = (await loginCrmCom({ serverUrl: crm.url, consumerKey: CRM_KEY, loginMethod: 'authenticationCode', authenticationCode: CRM_CODE }, testHttpRequest)).sessionToken;

	say('packing the package and starting n8n');
	const n8n = await startN8nInstance({ tarball: await packPackage() });
	const cred = {
		b2: { id: id16('benchb2', 1), name: 'bench B2COPY' },
		crm: { id: id16('benchcrm', 1), name: 'bench CRM.COM' },
		header: { id: id16('benchhdr', 1), name: 'bench header auth' },
		query: { id: id16('benchqry', 1), name: 'bench query auth' },
	};
	await n8n.importCredentials([
		{ ...cred.b2, type: 'b2CopyExternalCrmApi', data: b2.credentials },
		{ ...cred.crm, type: 'crmComApi', data: { serverUrl: crm.url, consumerKey: CRM_KEY, loginMethod: 'authenticationCode', authenticationCode: CRM_CODE } },
		{ ...cred.header, type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${b2token}` } },
		{ ...cred.query, type: 'httpQueryAuth', data: { name: 'token', value: crmToken } },
	]);

	const contactNumber = "={{ 'CI' + String($json.i + 1).padStart(6, '0') }}";
	// The editor inserts new HTTP Request nodes with batching of 50 items per second.
	const editorBatching = { batching: { batch: { batchSize: 50, batchInterval: 1000 } } };
	const httpNode = (url: string, auth: 'httpHeaderAuth' | 'httpQueryAuth', options: object = {}): NodeSpec => ({
		name: 'Target',
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.5,
		parameters: { url, authentication: 'genericCredentialType', genericAuthType: auth, options },
		credentials: { [auth]: auth === 'httpHeaderAuth' ? cred.header : cred.query },
	});
	const cases: Case[] = [
		{ id: 'b2http', label: 'HTTP Request node (defaults, header auth) → B2COPY GET', vendor: 'b2copy', kind: 'http', concurrency: 0, node: httpNode(`={{ '${b2.fake.url}/api/admin/test/echo?i=' + $json.i }}`, 'httpHeaderAuth') },
		{ id: 'b2httpb', label: 'HTTP Request node (batching 50 per 1 s, as the editor inserts it) → B2COPY GET', vendor: 'b2copy', kind: 'http', concurrency: 0, node: httpNode(`={{ '${b2.fake.url}/api/admin/test/echo?i=' + $json.i }}`, 'httpHeaderAuth', editorBatching) },
		...[1, 10].map((c): Case => ({
			id: `b2api${c}`,
			label: `B2COPY → API Request, concurrency ${c}`,
			vendor: 'b2copy',
			kind: 'ours',
			concurrency: c,
			node: { name: 'Target', type: nodeType('b2Copy'), credentials: { b2CopyExternalCrmApi: cred.b2 }, parameters: { resource: 'apiRequest', operation: 'request', method: 'GET', path: '/api/admin/test/echo', query: { parameter: [{ name: 'i', value: '={{ $json.i }}' }] }, options: { concurrency: c } } },
		})),
		{ id: 'crmhttp', label: 'HTTP Request node (defaults, query auth) → CRM.COM contact', vendor: 'crmcom', kind: 'http', concurrency: 0, node: httpNode(`={{ '${crm.url}/crmapi/rest/v2/contact_information/show?contact_information_identifier=number=' + 'CI' + String($json.i + 1).padStart(6, '0') }}`, 'httpQueryAuth') },
		...[1, 10].map((c): Case => ({
			id: `crmget${c}`,
			label: `CRM.COM → Contact → Get, concurrency ${c}`,
			vendor: 'crmcom',
			kind: 'ours',
			concurrency: c,
			node: { name: 'Target', type: nodeType('crmCom'), credentials: { crmComApi: cred.crm }, parameters: { resource: 'contact', operation: 'get', identifyBy: 'number', identifierValue: contactNumber, options: { concurrency: c } } },
		})),
	];
	// One workflow per case; ids must differ (id16 pads, so 'b2api1' and 'b2api10' would collide).
	const workflowId = (c: Case) => id16(`bench${cases.indexOf(c)}x`, 1);
	await n8n.importWorkflow(cases.map((c) => workflow(workflowId(c), `bench ${c.label}`, [...generateItems(ITEMS), c.node])));

	const rows: Row[] = [];
	try {
		for (const latency of LATENCIES) {
			b2.fake.latencyMs = latency;
			crm.latencyMs = latency;
			// Warm-up: the first run of each credential acquires its token (counted separately).
			for (const c of cases) {
				const acquisitionsBefore = c.vendor === 'b2copy' ? b2.fake.counters.exchanges + b2.fake.counters.refreshes : crm.counters.loginAttempts;
				const times: number[] = [];
				let peakKb = 0;
				for (let run = 1; run <= RUNS; run++) {
					say(`latency ${latency} ms · ${c.label} · run ${run}/${RUNS}`);
					const { value, peakKb: peak } = await withPeakMemory(n8n, async () => await n8n.execute(workflowId(c), { timeoutMs: 900_000 }));
					times.push(nodeTime(value, 'Target'));
					if (process.env.BENCH_DEBUG) {
						const log = (c.vendor === 'b2copy' ? b2.fake : crm).requests.slice(-ITEMS);
						say(`  fake saw ${log.length} requests over ${log.length ? log[log.length - 1].at - log[0].at : 0} ms, latency ${(c.vendor === 'b2copy' ? b2.fake : crm).latencyMs}`);
					}
					peakKb = Math.max(peakKb, peak);
				}
				const acquisitions = (c.vendor === 'b2copy' ? b2.fake.counters.exchanges + b2.fake.counters.refreshes : crm.counters.loginAttempts) - acquisitionsBefore;
				rows.push({
					latencyMs: latency,
					label: c.label,
					vendor: c.vendor,
					concurrency: c.concurrency,
					msPerItem: median(times) / ITEMS,
					runsMs: times,
					tokenAcquisitions: c.kind === 'ours' ? acquisitions : 0,
					peakRssMb: Math.round(peakKb / 1024),
				});
			}
		}
	} finally {
		await n8n.dispose();
		await b2.fake.close();
		await crm.close();
	}

	for (const row of rows) {
		const http = rows.find((r) => r.latencyMs === row.latencyMs && r.vendor === row.vendor && r.label.startsWith('HTTP Request node (defaults'));
		if (http && !row.label.startsWith('HTTP Request node (defaults')) row.vsHttpNode = http.msPerItem / row.msPerItem;
		// Concurrency 0 = the HTTP Request node, which sends every item at once (no limit applies).
		if (row.latencyMs > 0 && row.concurrency > 0) row.vsLimit = (row.msPerItem * ITEMS) / ((ITEMS * row.latencyMs) / row.concurrency);
	}
	const table = [
		`| latency | path inside n8n | ms per item (median of ${RUNS}) | × faster than HTTP Request node | × the limit (items × latency ÷ concurrency) | token acquisitions at the fake (${RUNS} runs) | peak n8n RSS |`,
		'|---:|---|---:|---:|---:|---:|---:|',
		...rows.map(
			(r) =>
				`| ${r.latencyMs} ms | ${r.label} | ${r.msPerItem.toFixed(2)} | ${r.vsHttpNode ? r.vsHttpNode.toFixed(2) : '—'} | ${r.vsLimit ? r.vsLimit.toFixed(2) : '—'} | ${r.label.startsWith('HTTP') ? 'n/a (static token)' : r.tokenAcquisitions} | ${r.peakRssMb ?? '?'} MB |`,
		),
	].join('\n');
	const report = `# Benchmark: ${ITEMS} authenticated calls in n8n 2.41.1\n\nRun ${new Date().toISOString()} on ${machine()}.\n\n${table}\n`;
	const dir = path.join(REPO_ROOT, 'bench-results');
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'latest.md'), report);
	fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ machine: machine(), items: ITEMS, runs: RUNS, rows }, null, 2));
	process.stdout.write(`\n${report}\nwritten to bench-results/latest.md\n`);
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
		process.exit(1);
	},
);
