/**
 * `npm run bench`: what users run, inside one real n8n 2.41.1, each row side by side with n8n's
 * HTTP Request node in the same run, against the fake vendors on 127.0.0.1:
 *
 *   basic    1,000 authenticated calls at 0 and 50 ms: HTTP Request node at defaults (and as the
 *            editor inserts it, batching 50/s) vs B2COPY API Request and CRM.COM Contact → Get
 *            at concurrency 1, 10 and 20.
 *   limited  a CRM.COM that refuses more than 10 requests in flight with 429, 50 ms: the HTTP
 *            Request node at defaults (on error: continue) vs ours at default, 10 and 20 —
 *            failed items, time, most requests seen in flight.
 *   sync     5,000 call rows from 200 distinct numbers → CRM.COM contact lookups at 50 ms:
 *            requests sent and time, ours (identical lookups once per run) vs the HTTP Request
 *            node doing the same lookups.
 *   history  Virtual PBX Call History → Get Many, Return All, 50,000 calls at 50 ms: time vs
 *            pages × latency (one statistics request at a time makes that the limit).
 *
 * Each case runs BENCH_RUNS times (default 3); the figure is the median of the node's own
 * execution time (n8n's executionTime). CPU and peak RSS come from the n8n process itself
 * (scripts/bench-usage.cjs, loaded with NODE_OPTIONS): CPU per request = (the execution's CPU −
 * the CPU of the same workflow without the target node) ÷ requests sent.
 *
 * Writes bench-results/latest.md and .json. Figures, not a test: nothing here fails a build.
 *   BENCH_RUNS (3), BENCH_ITEMS (1000), BENCH_LATENCIES ("0,50"), BENCH_GROUPS
 *   ("basic,limited,sync,history"), BENCH_CASES (ids, e.g. "crmhttp,crmget1"), BENCH_SYNC_ITEMS
 *   (5000), BENCH_SYNC_NUMBERS (200), BENCH_HISTORY_CALLS (50000), BENCH_SLOW_MS (50),
 *   BENCH_LIMIT (10), BENCH_CPU_PROF=<dir> (V8 CPU profiles of every n8n process),
 *   BENCH_LOG_LEVEL (n8n's default 'info').
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { exchangeB2CopyTokens, readB2CopyInputs } from '../nodes/B2Copy/auth';
import { loginCrmCom } from '../nodes/CrmCom/auth';
import { PER_PAGE } from '../nodes/VirtualPbx/actions/common';
import { CRMCOM_PATHS, startFakeCrmCom, type FakeCrmCom } from '../test/fakes/crmcom';
import type { FakeServer } from '../test/fakes/common';
import { PBX_MAX_PER_PAGE, type FakePbx } from '../test/fakes/pbx';
import { REPO_ROOT, packPackage, parseRun, startN8nInstance, type ExecutionResult, type N8nInstance } from '../test/n8n/harness';
import { generateItems, id16, nodeType, workflow, type NodeSpec } from '../test/n8n/workflows';
import { b2copyFixture, type B2CopyFixture } from '../test/support/b2copy';
import { testHttpRequest } from '../test/support/http';
import { pbxFixture, type PbxFixture } from '../test/support/pbx';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const RUNS = Number(env('BENCH_RUNS', '3'));
const ITEMS = Number(env('BENCH_ITEMS', '1000'));
const LATENCIES = env('BENCH_LATENCIES', '0,50').split(',').map(Number);
const GROUPS = env('BENCH_GROUPS', 'basic,limited,sync,history').split(',');
const ONLY = process.env.BENCH_CASES?.split(',').filter(Boolean);
const SYNC_ITEMS = Number(env('BENCH_SYNC_ITEMS', '5000'));
const SYNC_NUMBERS = Number(env('BENCH_SYNC_NUMBERS', '200'));
const HISTORY_CALLS = Number(env('BENCH_HISTORY_CALLS', '50000'));
const SLOW = Number(env('BENCH_SLOW_MS', '50'));
const LIMIT = Number(env('BENCH_LIMIT', '10'));
const CRM_KEY = 'BENCHKEY0000000000000000000000';
const CRM_CODE = 'bench-code';

type Vendor = 'b2copy' | 'crmcom' | 'pbx';

/** Contacts the fake CRM.COM holds (CI000001 …). */
const CONTACTS = Math.max(ITEMS, SYNC_NUMBERS, 3000);
/** `count` items shaped like call rows: `i`, `number` (one contact per item), `from` (SYNC_NUMBERS distinct callers). */
function callItems(count: number): NodeSpec[] {
	const [make, split] = generateItems(count);
	const number = (of: string) => `'CI' + String(${of} + 1).padStart(6, '0')`;
	const row = `({ i, number: ${number(`i % ${CONTACTS}`)}, from: ${number(`i % ${SYNC_NUMBERS}`)} })`;
	return [{ ...make, parameters: { ...make.parameters, jsonOutput: `={{ JSON.stringify({ rows: Array.from({ length: ${count} }, (_, i) => ${row}) }) }}` } }, split];
}

interface Case {
	id: string;
	group: string;
	label: string;
	vendor: Vendor;
	kind: 'http' | 'ours';
	/** 0 = the HTTP Request node (no cap). */
	concurrency: number;
	latencyMs: number;
	items: number;
	/** Items the target node must output (default `items`). */
	outputs?: number;
	/** The fake refuses more than this many requests in flight (0 = no limit). */
	maxInFlight?: number;
	/** The node continues on error: failed items are counted, not fatal. */
	continueOnError?: boolean;
	/** The lower bound of the time, for "× the limit". */
	limitMs?: number;
	limitLabel?: string;
	/** Run through the editor's Execute button on a running n8n (outputs too large for `n8n execute`). */
	viaEditor?: boolean;
	node: NodeSpec;
}

interface Row {
	group: string;
	id: string;
	label: string;
	latencyMs: number;
	msTotal: number;
	msPerItem: number;
	runsMs: number[];
	requests: number;
	failedItems: number;
	peakInFlight?: number;
	vsHttpNode?: number;
	vsLimit?: number;
	limitLabel?: string;
	cpuMsPerRequest?: number;
	tokenAcquisitions: number | 'n/a';
	peakRssMb?: number;
}

const say = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const LOAD_BEFORE = loadAverage();

function machine(): string {
	const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
	return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, n8n 2.41.1 on Node 24 (bench driver on Node ${process.versions.node}); load average (1/5/15 min) at the start ${LOAD_BEFORE}, at the end ${loadAverage()}`;
}

/** CPU and peak RSS of every n8n process that exited since the directory was emptied. */
function readUsage(dir: string): { cpuMs: number; maxRssKb: number } | undefined {
	let cpuMs = 0;
	let maxRssKb = 0;
	let seen = 0;
	for (const file of fs.readdirSync(dir)) {
		try {
			const usage = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cpuMs: number; maxRssKb: number };
			cpuMs += usage.cpuMs;
			maxRssKb = Math.max(maxRssKb, usage.maxRssKb);
			seen++;
		} catch {
			// written as we read it: skipped
		}
		fs.rmSync(path.join(dir, file), { force: true });
	}
	return seen ? { cpuMs, maxRssKb } : undefined;
}

function targetItems(result: ExecutionResult): { time: number; items: Array<{ json: Record<string, unknown> }> } {
	const runData = (result.run as any)?.data?.resultData?.runData?.Target;
	const time = runData?.[0]?.executionTime;
	if (!result.ok || typeof time !== 'number') throw new Error(`Target failed: ${JSON.stringify(result.error)}`);
	return { time, items: (result.nodes.Target?.items ?? []) as Array<{ json: Record<string, unknown> }> };
}

/**
 * `n8n execute`, tried again (up to twice) when the CLI exited without printing its run: seen
 * with large outputs on a loaded machine; the workflow itself is unaffected.
 */
async function execute(n8n: N8nInstance, id: string): Promise<ExecutionResult> {
	for (let attempt = 1; ; attempt++) {
		const result = await n8n.execute(id, { timeoutMs: 1_800_000 });
		if (result.ok || attempt === 3 || !/without printing a run/.test(result.error?.message ?? '')) return result;
		say(`  n8n execute printed no run; again (${attempt + 1}/3)`);
	}
}

/**
 * The editor's Execute button (POST /rest/workflows/:id/run on a running n8n), for outputs too
 * large for `n8n execute`, which prints the whole run to a pipe and exits before it is read.
 * CPU and peak RSS are not measured this way (the process does not exit per run).
 */
async function executeViaEditor(n8n: N8nInstance, id: string): Promise<ExecutionResult> {
	const res = await n8n.rest('POST', `/rest/workflows/${id}/run`, { triggerToStartFrom: { name: 'Manual' } });
	if (res.status !== 200) throw new Error(`run refused: HTTP ${res.status} ${res.text.slice(0, 300)}`);
	const executionId = String(res.body.data.executionId);
	for (;;) {
		const got = await n8n.apiRequest('GET', `/executions/${executionId}?includeData=true`);
		if (got.status === 200 && !['new', 'running', 'waiting'].includes(got.body.status)) {
			const parsed = parseRun({ data: got.body.data, status: got.body.status });
			return { ...parsed, ok: parsed.status === 'success' && !parsed.error, run: { data: got.body.data } } as unknown as ExecutionResult;
		}
		await new Promise((r) => setTimeout(r, 500));
	}
}

/** Writes bench-results/latest.md and .json (after every case, so a cut-short run keeps what it measured). */
function writeReport(rows: Row[], baseCpu: Map<number, number>): string {
	for (const row of rows) {
		const http = rows.find((r) => r.group === row.group && r.latencyMs === row.latencyMs && r.id !== row.id && r.label.startsWith('HTTP Request node (defaults') && r.label.includes(row.label.includes('B2COPY') ? 'B2COPY' : 'CRM.COM'));
		if (http && !row.label.startsWith('HTTP Request node')) row.vsHttpNode = http.msTotal / row.msTotal;
	}
	const fmt = (value: number | undefined, digits = 2) => (value === undefined ? '—' : value.toFixed(digits));
	const table = [
		`| group | latency | path inside n8n | ms per item (median of ${RUNS}) | total s | × faster than HTTP Request node | × the limit | requests sent | failed items | most in flight at the fake | CPU ms per request in n8n | token acquisitions (${RUNS} runs) | peak n8n RSS |`,
		'|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
		...rows.map(
			(r) =>
				`| ${r.group} | ${r.latencyMs} ms | ${r.label} | ${r.msPerItem.toFixed(2)} | ${(r.msTotal / 1000).toFixed(2)} | ${fmt(r.vsHttpNode)} | ${fmt(r.vsLimit)}${r.limitLabel ? ` (${r.limitLabel})` : ''} | ${r.requests} | ${r.failedItems} | ${r.peakInFlight ?? '—'} | ${fmt(r.cpuMsPerRequest)} | ${r.tokenAcquisitions === 'n/a' ? 'n/a (static token)' : r.tokenAcquisitions} | ${r.peakRssMb ?? '?'} MB |`,
		),
	].join('\n');
	const report = `# Benchmark: n8n 2.41.1, HTTP Request node vs this package\n\nRun ${new Date().toISOString()} on ${machine()}.\n\n${table}\n`;
	const dir = path.join(REPO_ROOT, 'bench-results');
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'latest.md'), report);
	fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ machine: machine(), runs: RUNS, rows, baselineCpuMs: Object.fromEntries(baseCpu) }, null, 2));
	return report;
}

async function main(): Promise<void> {
	say(`starting the fake vendors (load average ${LOAD_BEFORE})`);
	const b2: B2CopyFixture = await b2copyFixture({ accessTokenTtlSec: 24 * 3600 });
	const crm: FakeCrmCom = await startFakeCrmCom({
		consumerKeys: [CRM_KEY],
		authenticationCodes: { [CRM_CODE]: {} },
		contactCount: CONTACTS,
		tokenLifetimeSec: 24 * 3600,
	});
	const pbx: PbxFixture | undefined = GROUPS.includes('history') ? await pbxFixture({ callCount: HISTORY_CALLS, periodDays: 30 }) : undefined;
	// Tokens for n8n's HTTP Request node (it has no way to get them by itself).
	const b2token = (await exchangeB2CopyTokens(readB2CopyInputs(b2.credentials), testHttpRequest)).accessToken;
	const crmToken = (await loginCrmCom({ serverUrl: crm.url, consumerKey: CRM_KEY, loginMethod: 'authenticationCode', authenticationCode: CRM_CODE }, testHttpRequest)).sessionToken;

	say('packing the package and starting n8n');
	const usageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-usage-'));
	const profDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
	if (profDir) fs.mkdirSync(profDir, { recursive: true });
	const nodeOptions = [`--require ${path.join(REPO_ROOT, 'scripts', 'bench-usage.cjs')}`, ...(profDir ? [`--cpu-prof --cpu-prof-dir=${profDir}`] : [])];
	const n8n: N8nInstance = await startN8nInstance({
		tarball: await packPackage(),
		env: {
			// n8n's default log level. The harness's 'debug' makes n8n write log lines per
			// evaluated expression, synchronously, into the per-item CPU of every node.
			N8N_LOG_LEVEL: env('BENCH_LOG_LEVEL', 'info'),
			NODE_OPTIONS: nodeOptions.join(' '),
			BENCH_USAGE_DIR: usageDir,
		},
	});
	const cred = {
		b2: { id: id16('benchb2', 1), name: 'bench B2COPY' },
		crm: { id: id16('benchcrm', 1), name: 'bench CRM.COM' },
		pbx: { id: id16('benchpbx', 1), name: 'bench PBX' },
		header: { id: id16('benchhdr', 1), name: 'bench header auth' },
		query: { id: id16('benchqry', 1), name: 'bench query auth' },
	};
	await n8n.importCredentials([
		{ ...cred.b2, type: 'b2CopyExternalCrmApi', data: b2.credentials },
		{ ...cred.crm, type: 'crmComApi', data: { serverUrl: crm.url, consumerKey: CRM_KEY, loginMethod: 'authenticationCode', authenticationCode: CRM_CODE } },
		...(pbx ? [{ ...cred.pbx, type: 'virtualPbxTrustedAppApi', data: pbx.credentials }] : []),
		{ ...cred.header, type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${b2token}` } },
		{ ...cred.query, type: 'httpQueryAuth', data: { name: 'token', value: crmToken } },
	]);

	// The editor inserts new HTTP Request nodes with batching of 50 items per second.
	const editorBatching = { batching: { batch: { batchSize: 50, batchInterval: 1000 } } };
	const httpNode = (url: string, auth: 'httpHeaderAuth' | 'httpQueryAuth', options: object = {}, continueOnError = false): NodeSpec => ({
		name: 'Target',
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.5,
		parameters: { url, authentication: 'genericCredentialType', genericAuthType: auth, options },
		credentials: { [auth]: auth === 'httpHeaderAuth' ? cred.header : cred.query },
		...(continueOnError ? { onError: 'continueRegularOutput' as const } : {}),
	});
	// Items carry the number to look up as a field, as call-history rows do (`number`: one per
	// item; `from`: SYNC_NUMBERS distinct callers), and both nodes map it the way the editor writes
	// a dragged field: `{{ $json.number }}` in our Value, inside the HTTP Request node's URL.
	const crmHttp = (field: string, continueOnError = false) =>
		httpNode(`=${crm.url}/crmapi/rest/v2/contact_information/show?contact_information_identifier=number={{ $json.${field} }}`, 'httpQueryAuth', {}, continueOnError);
	const crmOurs = (field: string, options: Record<string, unknown>, continueOnError = false): NodeSpec => ({
		name: 'Target',
		type: nodeType('crmCom'),
		credentials: { crmComApi: cred.crm },
		parameters: { resource: 'contact', operation: 'get', identifyBy: 'number', identifierValue: `={{ $json.${field} }}`, options },
		...(continueOnError ? { onError: 'continueRegularOutput' as const } : {}),
	});

	const cases: Case[] = [];
	if (GROUPS.includes('basic')) {
		for (const latencyMs of LATENCIES) {
			const basic = { group: 'basic', latencyMs, items: ITEMS, limitMs: undefined };
			cases.push(
				{ ...basic, id: `b2http@${latencyMs}`, label: 'HTTP Request node (defaults, header auth) → B2COPY GET', vendor: 'b2copy', kind: 'http', concurrency: 0, node: httpNode(`=${b2.fake.url}/api/admin/test/echo?i={{ $json.i }}`, 'httpHeaderAuth') },
				{ ...basic, id: `b2httpx@${latencyMs}`, label: 'HTTP Request node (defaults, header auth, URL written as one expression) → B2COPY GET', vendor: 'b2copy', kind: 'http', concurrency: 0, node: httpNode(`={{ '${b2.fake.url}/api/admin/test/echo?i=' + $json.i }}`, 'httpHeaderAuth') },
				{ ...basic, id: `b2httpb@${latencyMs}`, label: 'HTTP Request node (batching 50 per 1 s, as the editor inserts it) → B2COPY GET', vendor: 'b2copy', kind: 'http', concurrency: 0, node: httpNode(`=${b2.fake.url}/api/admin/test/echo?i={{ $json.i }}`, 'httpHeaderAuth', editorBatching) },
				...[1, 10, 20].map((c): Case => ({
					...basic,
					id: `b2api${c}@${latencyMs}`,
					label: `B2COPY → API Request, concurrency ${c}`,
					vendor: 'b2copy',
					kind: 'ours',
					concurrency: c,
					node: { name: 'Target', type: nodeType('b2Copy'), credentials: { b2CopyExternalCrmApi: cred.b2 }, parameters: { resource: 'apiRequest', operation: 'request', method: 'GET', path: '/api/admin/test/echo', query: { parameter: [{ name: 'i', value: '={{ $json.i }}' }] }, options: { concurrency: c } } },
				})),
				{ ...basic, id: `crmhttp@${latencyMs}`, label: 'HTTP Request node (defaults, query auth) → CRM.COM contact', vendor: 'crmcom', kind: 'http', concurrency: 0, node: crmHttp('number') },
				...[1, 10, 20].map((c): Case => ({ ...basic, id: `crmget${c}@${latencyMs}`, label: `CRM.COM → Contact → Get, concurrency ${c}`, vendor: 'crmcom', kind: 'ours', concurrency: c, node: crmOurs('number', { concurrency: c }) })),
			);
		}
	}
	if (GROUPS.includes('limited')) {
		const limited = { group: 'limited', latencyMs: SLOW, items: ITEMS, maxInFlight: LIMIT, continueOnError: true, vendor: 'crmcom' as const };
		cases.push(
			{ ...limited, id: 'limhttp', label: `HTTP Request node (defaults, on error: continue) → CRM.COM refusing > ${LIMIT} in flight`, kind: 'http', concurrency: 0, node: crmHttp('number', true) },
			{ ...limited, id: 'limours', label: `CRM.COM → Contact → Get, default concurrency (5) → same CRM.COM`, kind: 'ours', concurrency: 5, node: crmOurs('number', {}, true) },
			...[10, 20].map((c): Case => ({ ...limited, id: `limours${c}`, label: `CRM.COM → Contact → Get, concurrency ${c} → same CRM.COM`, kind: 'ours', concurrency: c, node: crmOurs('number', { concurrency: c }, true) })),
		);
	}
	if (GROUPS.includes('sync')) {
		const sync = { group: 'sync', latencyMs: SLOW, items: SYNC_ITEMS, vendor: 'crmcom' as const };
		cases.push(
			{ ...sync, id: 'synchttp', label: `HTTP Request node (defaults): ${SYNC_ITEMS} calls from ${SYNC_NUMBERS} numbers → CRM.COM contact lookups`, kind: 'http', concurrency: 0, node: crmHttp('from') },
			{ ...sync, id: 'syncours', label: `CRM.COM → Contact → Get (defaults: concurrency 5, identical lookups once): same ${SYNC_ITEMS} calls`, kind: 'ours', concurrency: 5, node: crmOurs('from', {}) },
		);
	}
	if (GROUPS.includes('history') && pbx) {
		const pages = Math.ceil(HISTORY_CALLS / PER_PAGE) + (HISTORY_CALLS % PER_PAGE === 0 ? 1 : 0);
		const bestPages = Math.ceil(HISTORY_CALLS / PBX_MAX_PER_PAGE) + (HISTORY_CALLS % PBX_MAX_PER_PAGE === 0 ? 1 : 0);
		cases.push({
			id: 'history',
			group: 'history',
			label: `Virtual PBX → Call History → Get Many, Return All, ${HISTORY_CALLS} calls (asks per_page 500, steps down on refusal; at per_page ${PER_PAGE} it would take ${pages} requests)`,
			vendor: 'pbx',
			kind: 'ours',
			concurrency: 1,
			latencyMs: SLOW,
			items: 1,
			outputs: HISTORY_CALLS,
			limitMs: bestPages * SLOW,
			limitLabel: `${bestPages} pages × ${SLOW} ms at the fake's largest page (${PBX_MAX_PER_PAGE})`,
			viaEditor: true,
			node: {
				name: 'Target',
				type: nodeType('virtualPbx'),
				credentials: { virtualPbxTrustedAppApi: cred.pbx },
				parameters: { authentication: 'trustedApp', resource: 'callHistory', operation: 'getMany', start: '2000-01-01T00:00:00Z', returnAll: true, order: 'asc' },
			},
		});
	}
	const selected = ONLY ? cases.filter((c) => ONLY.some((id) => c.id === id || c.id.startsWith(`${id}@`))) : cases;
	// Baselines: the same item generator without the target node (its CPU is subtracted).
	const baseSizes = [...new Set(selected.map((c) => c.items))];
	const ids = new Map<string, string>();
	selected.forEach((c, i) => ids.set(c.id, id16(`bench${i}x`, 1)));
	baseSizes.forEach((n, i) => ids.set(`base${n}`, id16(`benchbase${i}x`, 1)));
	await n8n.importWorkflow([
		...selected.map((c) => workflow(ids.get(c.id) as string, `bench ${c.label}`, [...(c.items > 1 ? callItems(c.items) : []), c.node])),
		...baseSizes.map((n) => workflow(ids.get(`base${n}`) as string, `bench baseline ${n} items`, n > 1 ? callItems(n) : [{ name: 'Target', type: 'n8n-nodes-base.noOp', typeVersion: 1, parameters: {} }])),
	]);

	const fakes: Record<Vendor, FakeServer> = { b2copy: b2.fake, crmcom: crm, pbx: (pbx?.fake ?? crm) as FakeServer };
	const acquisitions = (vendor: Vendor): number => {
		if (vendor === 'b2copy') return b2.fake.counters.exchanges + b2.fake.counters.refreshes;
		if (vendor === 'crmcom') return crm.counters.loginAttempts;
		const grants = (pbx?.fake as FakePbx).counters.grants;
		return Object.values(grants).reduce((sum, g) => sum + g.attempted, 0);
	};
	const sent = (c: Case): number =>
		c.vendor === 'crmcom'
			? crm.requests.filter((r) => r.path === CRMCOM_PATHS.contactShow).length
			: c.vendor === 'pbx'
				? fakes.pbx.requests.filter((r) => /call_history/.test(r.path)).length
				: fakes[c.vendor].requests.length;

	const rows: Row[] = [];
	const baseCpu = new Map<number, number>();
	let serverUp = false;
	try {
		readUsage(usageDir);
		for (const n of baseSizes) {
			const cpu: number[] = [];
			for (let run = 1; run <= RUNS; run++) {
				say(`baseline ${n} items · run ${run}/${RUNS}`);
				const result = await execute(n8n, ids.get(`base${n}`) as string);
				if (!result.ok) throw new Error(`baseline failed: ${JSON.stringify(result.error)}`);
				const usage = readUsage(usageDir);
				if (usage) cpu.push(usage.cpuMs);
			}
			if (cpu.length) baseCpu.set(n, median(cpu));
		}
		for (const c of selected) {
			for (const fake of Object.values(fakes)) {
				fake.latencyMs = c.latencyMs;
				fake.maxInFlight = 0;
			}
			fakes[c.vendor].maxInFlight = c.maxInFlight ?? 0;
			const before = acquisitions(c.vendor);
			const times: number[] = [];
			const cpu: number[] = [];
			const requests: number[] = [];
			const failed: number[] = [];
			let peakInFlight = 0;
			let peakKb = 0;
			for (let run = 1; run <= RUNS; run++) {
				say(`${c.id} · ${c.label} · ${c.latencyMs} ms · run ${run}/${RUNS}`);
				fakes[c.vendor].clearLog();
				fakes[c.vendor].inFlight.peak = 0;
				if (c.viaEditor && !serverUp) {
					await n8n.startServer();
					serverUp = true;
				}
				const result = c.viaEditor ? await executeViaEditor(n8n, ids.get(c.id) as string) : await execute(n8n, ids.get(c.id) as string);
				const { time, items } = targetItems(result);
				const expected = c.outputs ?? c.items;
				if (items.length !== expected) throw new Error(`${c.id} returned ${items.length} items, expected ${expected}`);
				times.push(time);
				requests.push(sent(c));
				failed.push(items.filter((item) => item.json.error !== undefined).length);
				peakInFlight = Math.max(peakInFlight, fakes[c.vendor].inFlight.peak);
				const usage = readUsage(usageDir);
				if (usage) {
					cpu.push(usage.cpuMs);
					peakKb = Math.max(peakKb, usage.maxRssKb);
				}
			}
			const msTotal = median(times);
			const medianRequests = median(requests);
			const base = baseCpu.get(c.items);
			rows.push({
				group: c.group,
				id: c.id,
				label: c.label,
				latencyMs: c.latencyMs,
				msTotal,
				msPerItem: msTotal / c.items,
				runsMs: times,
				requests: medianRequests,
				failedItems: median(failed),
				peakInFlight,
				limitLabel: c.limitLabel,
				vsLimit: c.limitMs ? msTotal / c.limitMs : c.kind === 'ours' && c.latencyMs > 0 && c.group !== 'sync' ? msTotal / ((c.items * c.latencyMs) / c.concurrency) : undefined,
				cpuMsPerRequest: cpu.length && base !== undefined && medianRequests > 0 ? (median(cpu) - base) / medianRequests : undefined,
				tokenAcquisitions: c.kind === 'ours' ? acquisitions(c.vendor) - before : 'n/a',
				peakRssMb: peakKb ? Math.round(peakKb / 1024) : undefined,
			});
			writeReport(rows, baseCpu);
		}
	} finally {
		if (serverUp) await n8n.stopServer();
		await n8n.dispose();
		await b2.fake.close();
		await crm.close();
		await pbx?.fake.close();
		fs.rmSync(usageDir, { recursive: true, force: true });
	}

	const report = writeReport(rows, baseCpu);
	process.stdout.write(`\n${report}\nwritten to bench-results/latest.md\n`);
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
		process.exit(1);
	},
);
