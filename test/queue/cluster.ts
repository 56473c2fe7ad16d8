/**
 * An n8n queue-mode cluster for tests: Redis, a fresh PostgreSQL cluster and database, n8n main
 * (`n8n start`, EXECUTIONS_MODE=queue) and N `n8n worker` processes, all on 127.0.0.1, with the
 * package installed the way the community panel installs it (test/n8n/harness.ts).
 *
 * API (reusable by other suites):
 *   const cluster = await startQueueCluster({ tarball, workers: 2 });
 *   await cluster.n8n.importCredentials([...]); await cluster.n8n.importWorkflow([...]);
 *   await cluster.activate(workflowId);             // after the main process is up
 *   const answers = await cluster.fireWebhooks('path', 20, (i) => body);
 *   cluster.workerOf(executionId), cluster.logText(), await cluster.stop();
 *
 * Everything started here is stopped by stop(), by the process exit hook, on SIGINT/SIGTERM, and
 * by a detached watchdog when the test process dies without cleaning up (even SIGKILL).
 * Debian packages redis-server and postgresql are installed when missing (CI runs as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ensureN8n,
	freePort,
	isAlive,
	killGroup,
	note,
	startN8nInstance,
	startWatchdog,
	type N8nInstance,
	type N8nProcess,
} from '../n8n/harness';

export interface QueueClusterOptions {
	tarball: string;
	/** Number of `n8n worker` processes (default 2). */
	workers?: number;
	/** Jobs each worker runs at once (default 10). */
	concurrency?: number;
	/** Extra environment for every n8n process. */
	env?: Record<string, string>;
}

export interface WebhookAnswer {
	index: number;
	status: number;
	body: unknown;
	text: string;
	ms: number;
}

export interface QueueCluster {
	readonly n8n: N8nInstance;
	readonly workers: N8nProcess[];
	readonly redisPort: number;
	readonly postgresPort: number;
	/** Activates a workflow through the public API (registers its webhooks on main). */
	activate(workflowId: string): Promise<void>;
	/** POSTs `count` webhook calls at once to /webhook/<path>; resolves when all answered. */
	fireWebhooks(webhookPath: string, count: number, body?: (i: number) => unknown): Promise<WebhookAnswer[]>;
	/** Which worker (index into `workers`) started each execution, from the workers' logs. */
	executionsByWorker(): Map<string, number>;
	/** Every log of every process started here (n8n main, workers, CLI, Redis, PostgreSQL). */
	logText(): string;
	stop(): Promise<void>;
}

const PG_BIN_CANDIDATES = () => {
	const root = '/usr/lib/postgresql';
	if (!fs.existsSync(root)) return [];
	return fs
		.readdirSync(root)
		.sort((a, b) => Number(b) - Number(a))
		.map((v) => path.join(root, v, 'bin'))
		.filter((d) => fs.existsSync(path.join(d, 'initdb')));
};

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): { code: number; out: string } {
	const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', timeout: 900_000 });
	return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Installs redis-server and postgresql with apt-get when they are missing. */
export function ensureQueuePackages(): { redisServer: string; pgBin: string } {
	const redisMissing = sh('sh', ['-c', 'command -v redis-server']).code !== 0;
	const pgMissing = PG_BIN_CANDIDATES().length === 0;
	if (redisMissing || pgMissing) {
		const wanted = [...(redisMissing ? ['redis-server'] : []), ...(pgMissing ? ['postgresql'] : [])];
		if (process.getuid?.() !== 0) throw new Error(`missing ${wanted.join(', ')}: install them (apt-get install -y ${wanted.join(' ')}) or run as root`);
		note(`installing ${wanted.join(', ')} with apt-get`);
		const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
		let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...wanted], { env, encoding: 'utf8', timeout: 900_000 });
		if (r.status !== 0) {
			note('apt-get install failed; running apt-get update first');
			spawnSync('apt-get', ['update'], { env, stdio: 'ignore', timeout: 900_000 });
			r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...wanted], { env, encoding: 'utf8', timeout: 900_000 });
			if (r.status !== 0) throw new Error(`apt-get install ${wanted.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
		}
	}
	const redisServer = sh('sh', ['-c', 'command -v redis-server']).out.trim();
	const pgBin = PG_BIN_CANDIDATES()[0];
	if (!redisServer || !pgBin) throw new Error('redis-server or PostgreSQL still missing after apt-get install');
	return { redisServer, pgBin };
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Daemon {
	name: string;
	child: ChildProcess;
	exited: Promise<void>;
}

function startDaemon(name: string, cmd: string, args: string[], logFile: string, pidFile: string): Daemon {
	const fd = fs.openSync(logFile, 'a');
	const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
	fs.closeSync(fd);
	fs.appendFileSync(pidFile, `${child.pid}\n`);
	const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
	return { name, child, exited };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, dead?: () => boolean): Promise<void> {
	const started = Date.now();
	for (;;) {
		if (await check()) return;
		if (dead?.()) throw new Error(`${what}: the process exited`);
		if (Date.now() - started > timeoutMs) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
		await sleep(250);
	}
}

const liveClusters = new Set<() => void>();
let signalsInstalled = false;
function installSignalHandlers(): void {
	if (signalsInstalled) return;
	signalsInstalled = true;
	const stopAll = () => {
		for (const stop of liveClusters) stop();
	};
	process.on('exit', stopAll);
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => {
			stopAll();
			process.kill(process.pid, signal);
		});
	}
}

export async function startQueueCluster(options: QueueClusterOptions): Promise<QueueCluster> {
	const { redisServer, pgBin } = ensureQueuePackages();
	const runtime = await ensureN8n();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-queue-'));
	fs.chmodSync(dir, 0o755);
	const pidFile = path.join(dir, 'pids');
	fs.writeFileSync(pidFile, '');
	const watchdog = startWatchdog(runtime, dir, pidFile);
	const daemons: Daemon[] = [];
	let n8n: N8nInstance | undefined;
	let stopped = false;
	const pgData = path.join(dir, 'pgdata');
	const asRoot = process.getuid?.() === 0;
	const asPostgres = (cmd: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const);

	const stopSync = () => {
		if (stopped) return;
		stopped = true;
		liveClusters.delete(stopSync);
		for (const d of daemons) killGroup(d.child.pid, 'SIGKILL');
		if (watchdog.pid && isAlive(watchdog.pid)) killGroup(watchdog.pid, 'SIGKILL');
		if (!process.env.N8N_HARNESS_KEEP) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
	};
	liveClusters.add(stopSync);
	installSignalHandlers();

	const stop = async () => {
		if (stopped) return;
		if (n8n) await n8n.dispose().catch(() => undefined);
		for (const d of [...daemons].reverse()) {
			killGroup(d.child.pid, d.name === 'postgres' ? 'SIGINT' : 'SIGTERM');
			await Promise.race([d.exited, sleep(10_000)]);
		}
		stopSync();
		note('queue cluster stopped');
	};

	try {
		// ---- Redis
		const redisPort = await freePort();
		note(`starting Redis on 127.0.0.1:${redisPort}`);
		const redis = startDaemon(
			'redis',
			redisServer,
			['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
			path.join(dir, 'redis.log'),
			pidFile,
		);
		daemons.push(redis);

		// ---- PostgreSQL: a fresh cluster owned by the postgres user (it refuses to run as root)
		const postgresPort = await freePort();
		note(`initialising a fresh PostgreSQL cluster (${path.basename(path.dirname(pgBin))}) on 127.0.0.1:${postgresPort}`);
		fs.mkdirSync(pgData, { mode: 0o700 });
		if (asRoot) sh('chown', ['-R', 'postgres:postgres', pgData]);
		const [initCmd, initArgs] = asPostgres(path.join(pgBin, 'initdb'), ['-D', pgData, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
		const init = sh(initCmd, [...initArgs], { cwd: '/' });
		if (init.code !== 0) throw new Error(`initdb failed:\n${init.out}`);
		const [pgCmd, pgArgs] = asPostgres(path.join(pgBin, 'postgres'), [
			'-D', pgData, '-p', String(postgresPort), '-k', pgData, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100',
		]);
		const pgLog = path.join(dir, 'postgres.log');
		fs.writeFileSync(pgLog, '');
		fs.chmodSync(pgLog, 0o666);
		const postgres = startDaemon('postgres', pgCmd, [...pgArgs], pgLog, pidFile);
		daemons.push(postgres);
		let pgDead = false;
		void postgres.exited.then(() => (pgDead = true));
		const psql = (sql: string) => sh(path.join(pgBin, 'psql'), ['-h', '127.0.0.1', '-p', String(postgresPort), '-U', 'postgres', '-d', 'postgres', '-tAc', sql], { cwd: '/' });
		await waitFor('PostgreSQL', () => psql('select 1').code === 0, 60_000, () => pgDead);
		const created = psql('create database n8n');
		if (created.code !== 0) throw new Error(`create database failed: ${created.out}`);
		let redisDead = false;
		void redis.exited.then(() => (redisDead = true));
		await waitFor('Redis', () => /PONG/.test(sh('redis-cli', ['-p', String(redisPort), 'ping']).out), 30_000, () => redisDead);

		// ---- n8n: one user folder (the package is installed once), main + workers
		const env: Record<string, string> = {
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(redisPort),
			QUEUE_HEALTH_CHECK_ACTIVE: 'false',
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: '127.0.0.1',
			DB_POSTGRESDB_PORT: String(postgresPort),
			DB_POSTGRESDB_DATABASE: 'n8n',
			DB_POSTGRESDB_USER: 'postgres',
			DB_POSTGRESDB_PASSWORD: '',
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
			N8N_LOG_LEVEL: 'debug',
			...(options.env ?? {}),
		};
		n8n = await startN8nInstance({ tarball: options.tarball, env });
		const instance = n8n;
		const workers: N8nProcess[] = [];
		const cluster: QueueCluster = {
			n8n: instance,
			workers,
			redisPort,
			postgresPort,
			activate: async (workflowId) => {
				const res = await instance.apiRequest('POST', `/workflows/${encodeURIComponent(workflowId)}/activate`);
				if (res.status !== 200) throw new Error(`activating ${workflowId}: HTTP ${res.status} ${res.text}`);
			},
			fireWebhooks: async (webhookPath, count, body) =>
				await Promise.all(
					Array.from({ length: count }, async (_, index) => {
						const started = Date.now();
						const res = await fetch(`${instance.baseUrl}/webhook/${webhookPath}`, {
							method: 'POST',
							headers: { 'content-type': 'application/json' },
							body: JSON.stringify(body ? body(index) : { index }),
							signal: AbortSignal.timeout(300_000),
						});
						const text = await res.text();
						let parsed: unknown = text;
						try {
							parsed = JSON.parse(text);
						} catch {
							/* keep text */
						}
						return { index, status: res.status, body: parsed, text, ms: Date.now() - started };
					}),
				),
			executionsByWorker: () => {
				const map = new Map<string, number>();
				workers.forEach((w, i) => {
					for (const file of [`${w.logPrefix}.log`, `${w.logPrefix}.stdout`]) {
						if (!fs.existsSync(file)) continue;
						for (const m of fs.readFileSync(file, 'utf8').matchAll(/Worker started execution (\w+)/g)) map.set(m[1], i);
					}
				});
				return map;
			},
			logText: () => {
				const own = ['redis.log', 'postgres.log']
					.map((f) => path.join(dir, f))
					.filter((f) => fs.existsSync(f))
					.map((f) => `===== ${path.basename(f)} =====\n${fs.readFileSync(f, 'utf8')}`);
				return [instance.logText(), ...own].join('\n');
			},
			stop,
		};
		return await bootN8n(cluster, workers, options);
	} catch (error) {
		await stop();
		throw error;
	}
}

async function bootN8n(cluster: QueueCluster, workers: N8nProcess[], options: QueueClusterOptions): Promise<QueueCluster> {
	const { n8n } = cluster;
	// The first CLI command runs n8n's migrations on the fresh database.
	note('running n8n migrations on PostgreSQL (first CLI command)');
	const r = await n8n.cli(['export:credentials', '--all', '--output=/dev/null']);
	if (!/No credentials found|Successfully exported/.test(r.stdout)) {
		throw new Error(`n8n could not use PostgreSQL (exit ${r.code}); log ${r.logFile}\n${r.stdout.slice(-3000)}`);
	}
	await n8n.startServer();
	const count = options.workers ?? 2;
	for (let i = 0; i < count; i++) {
		workers.push(await n8n.spawnProcess(['worker', `--concurrency=${options.concurrency ?? 10}`]));
	}
	note(`waiting for ${count} workers to be ready`);
	await waitFor(
		'n8n workers',
		() =>
			workers.every((w) => {
				const text = fs.existsSync(`${w.logPrefix}.stdout`) ? fs.readFileSync(`${w.logPrefix}.stdout`, 'utf8') : '';
				return /worker is now ready|Worker started|ready to receive/i.test(text);
			}),
		180_000,
		() => workers.some((w) => !w.running),
	);
	note('queue cluster ready');
	return cluster;
}
