/**
 * `npm run demo` as a user runs it: started as a child process (its own process group), used
 * through n8n's REST API with the login it prints, each example workflow run to success, then
 * Ctrl-C (SIGINT to the group, as a terminal sends it): the demo must exit and leave no process,
 * no listening port and no n8n user folder behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_DIR, EXAMPLES, type DemoReady } from '../../scripts/demo';
import { REPO_ROOT, executeInUserFolder, parseRun } from './harness';

const CREDENTIAL_TYPES = ['b2CopyExternalCrmApi', 'crmComApi', 'virtualPbxOAuth2Api', 'virtualPbxTrustedAppApi'];

let child: ChildProcess;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
/** Resolves when every process holding the demo's stdout/stderr (npm, tsx, the demo) is gone. */
let pipesClosed: Promise<void>;
let stdout = '';
let stderr = '';
let ready: DemoReady;

/** A browser-like session on the demo's n8n: the cookie from /rest/login, then an API key. */
const session = { cookie: '', apiKey: '' };

async function call<T = any>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
	const res = await fetch(`${ready.url}${urlPath}`, {
		method,
		headers: {
			accept: 'application/json',
			'browser-id': 'demo-test',
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
			...(session.cookie ? { cookie: session.cookie } : {}),
			...(urlPath.startsWith('/api/') && session.apiKey ? { 'X-N8N-API-KEY': session.apiKey } : {}),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(60_000),
	});
	const text = await res.text();
	const auth = res.headers.getSetCookie().map((c) => /^(n8n-auth=[^;]+)/.exec(c)?.[1]).find(Boolean);
	if (auth) session.cookie = auth;
	let parsed: any = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		/* keep text */
	}
	return { status: res.status, body: parsed as T, text };
}

function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

async function listening(url: string): Promise<boolean> {
	const { hostname, port } = new URL(url);
	return await new Promise((resolve) => {
		const socket = net.connect({ host: hostname, port: Number(port) });
		socket.setTimeout(2000);
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
		socket.once('timeout', () => {
			socket.destroy();
			resolve(false);
		});
	});
}

/** Every process (pid, pgid, command line) whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
	const out = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
	return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

beforeAll(async () => {
	const started = Date.now();
	child = spawn('npm', ['run', 'demo'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
	exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	pipesClosed = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))).then(() => undefined);
	child.stderr!.on('data', (c: Buffer) => {
		stderr += c.toString('utf8');
		process.stderr.write(c);
	});
	ready = await new Promise<DemoReady>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no DEMO READY line after 15 min\n${stderr.slice(-3000)}`)), 15 * 60_000);
		child.stdout!.on('data', (c: Buffer) => {
			stdout += c.toString('utf8');
			const m = /^DEMO READY (\{.*\})$/m.exec(stdout);
			if (m) {
				clearTimeout(timer);
				resolve(JSON.parse(m[1]!) as DemoReady);
			}
		});
		void exited.then(({ code, signal }) => reject(new Error(`the demo exited (${code ?? signal}) before it was ready\n${stdout}\n${stderr.slice(-3000)}`)));
	});
	process.stderr.write(`[demo test] ready in ${Date.now() - started} ms\n`);
});

afterAll(async () => {
	// Only when a test failed before the Ctrl-C test: never leave the demo running.
	if (child?.pid && groupAlive(child.pid)) {
		process.kill(-child.pid, 'SIGKILL');
		for (const g of ready?.n8nProcessGroups ?? []) {
			try {
				process.kill(-g, 'SIGKILL');
			} catch {
				/* gone */
			}
		}
		if (ready?.userFolder) fs.rmSync(ready.userFolder, { recursive: true, force: true });
	}
});

describe('npm run demo', () => {
	it('prints the editor URL, the login and what each example does', () => {
		expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(stdout).toContain(`Editor:    ${ready.url}/`);
		expect(stdout).toContain(ready.login.email);
		expect(stdout).toContain(ready.login.password);
		for (const w of ready.workflows) expect(stdout).toContain(w.name);
		for (const e of EXAMPLES) expect(stdout).toContain(e.what);
	});

	it('logs in through n8n\'s REST API and finds the four example workflows and the four credentials', async () => {
		const login = await call('POST', '/rest/login', { emailOrLdapLoginId: ready.login.email, password: ready.login.password });
		expect(login.status, login.text).toBe(200);
		expect(session.cookie).toMatch(/^n8n-auth=/);

		const workflows = await call<{ data: Array<{ id: string; name: string; active: boolean }> }>('GET', '/rest/workflows');
		expect(workflows.status, workflows.text).toBe(200);
		const byId = new Map(workflows.body.data.map((w) => [w.id, w]));
		for (const e of EXAMPLES) {
			expect(byId.get(e.id), e.file).toMatchObject({ active: !e.manual });
			expect(byId.get(e.id)?.name).toBe(ready.workflows.find((w) => w.id === e.id)?.name);
		}

		const credentials = await call<{ data: Array<{ id: string; name: string; type: string }> }>('GET', '/rest/credentials');
		expect(credentials.status, credentials.text).toBe(200);
		expect(credentials.body.data.map((c) => c.type).sort()).toEqual(CREDENTIAL_TYPES);

		// Each passes n8n's credential test, the OAuth2 one with the tokens of its OAuth flow.
		const scopes = await call<{ data: string[] }>('GET', '/rest/api-keys/scopes');
		const key = await call<{ data: { rawApiKey: string } }>('POST', '/rest/api-keys', { label: 'demo test', scopes: scopes.body.data, expiresAt: null });
		expect(key.status, key.text).toBe(200);
		session.apiKey = key.body.data.rawApiKey;
		for (const c of credentials.body.data) {
			const test = await call<{ status: string; message: string }>('POST', `/api/v1/credentials/${c.id}/test`);
			expect(test.body, `${c.type}: ${test.text}`).toMatchObject({ status: 'OK' });
		}
	});

	it('runs each example workflow to success (the manual ones with n8n execute, the trigger one on a missed call)', async () => {
		const [sync, , fee] = EXAMPLES;
		const synced = await executeInUserFolder(ready.userFolder, sync!.id, { port: ready.port });
		expect(synced.ok, JSON.stringify(synced.error)).toBe(true);
		expect(synced.nodes['Mark as Synced']?.items.length ?? 0).toBeGreaterThan(10);
		expect(synced.nodes['Write Call to Contact']?.items.length ?? 0).toBeGreaterThan(0);

		const charged = await executeInUserFolder(ready.userFolder, fee!.id, { port: ready.port });
		expect(charged.ok, JSON.stringify(charged.error)).toBe(true);
		expect(charged.nodes['Process Withdrawal Fee']?.items[0]?.json).toMatchObject({ statusText: 'SUCCESS' });

		// The missed-call example is active: a missed call at the fake PBX (its HTTP control) starts it.
		const missed = EXAMPLES.find((e) => !e.manual)!;
		const fired = await fetch(`${ready.fakes.pbx}/__fake/control`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ action: 'fireEvent', extensionId: 1001, eventType: 'hangup', fields: { CallStatus: 'NOANSWER', Bridged: 'no', Duration: '0', RecID: null } }),
		});
		const delivered = (await fired.json()) as { deliveries: Array<{ status: number }> };
		expect(delivered.deliveries.map((d) => d.status)).toEqual([200]);
		let runs: Array<{ status: string; data: Record<string, unknown> }> = [];
		for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 300))) {
			const res = await call<{ data: typeof runs }>('GET', `/api/v1/executions?workflowId=${missed.id}&includeData=true`);
			runs = res.body.data ?? [];
			if (runs.length > 0 && runs.every((r) => r.status !== 'running' && r.status !== 'new')) break;
		}
		expect(runs.map((r) => r.status)).toEqual(['success']);
		const task = parseRun({ data: runs[0]!.data, status: 'success' }).nodes['Call Back Task']?.items[0]?.json;
		expect(task).toMatchObject({ task: 'call back', phone: '+74951234567' });
		expect(task?.contact_name).not.toBe('unknown');
	});

	it('Ctrl-C stops it: the demo exits, no process, no listening port and no n8n folder is left', async () => {
		expect(groupAlive(child.pid!)).toBe(true);
		const stopping = Date.now();
		process.kill(-child.pid!, 'SIGINT'); // what a terminal does on Ctrl-C: the whole foreground group
		// npm itself ends on SIGINT at once; the demo (npm's grandchild) stops everything, then exits.
		const result = await Promise.race([pipesClosed.then(() => 'closed'), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
		expect(result).toBe('closed');
		process.stderr.write(`[demo test] stopped in ${Date.now() - stopping} ms\n`);
		expect(await exited).toBeDefined();
		await new Promise((r) => setTimeout(r, 500));

		expect(groupAlive(child.pid!), 'the demo\'s process group').toBe(false);
		for (const g of ready.n8nProcessGroups) expect(groupAlive(g), `n8n process group ${g}`).toBe(false);
		expect(processesMentioning(ready.userFolder)).toEqual([]); // e.g. the harness watchdog
		for (const url of [ready.url, ready.fakes.b2copy, ready.fakes.crmcom, ready.fakes.pbx]) expect(await listening(url), url).toBe(false);
		expect(fs.existsSync(ready.userFolder)).toBe(false);
		expect(fs.existsSync(DEMO_DIR)).toBe(false);
		expect(stderr).toMatch(/stopped; nothing left running/);
	});
});
