/**
 * `npm run demo` stopped the ways a service manager or a closed terminal stop it: only the `npm`
 * process gets the signal (not the whole process group, as Ctrl-C in a terminal does, which
 * demo.n8n.test.ts covers). SIGTERM to npm, SIGHUP to npm, and npm killed outright (SIGKILL: the
 * demo's parent dies without a word). Each time the demo must stop n8n and the fake vendors and
 * leave no process, no listening port and no n8n user folder behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { DEMO_DIR, type DemoReady } from '../../scripts/demo';
import { REPO_ROOT } from './harness';

interface Demo {
	child: ChildProcess;
	ready: DemoReady;
	pipesClosed: Promise<void>;
	exited: Promise<unknown>;
	stderr: () => string;
}

let current: Demo | undefined;

function alive(pid: number, group = false): boolean {
	try {
		process.kill(group ? -pid : pid, 0);
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

async function startDemo(): Promise<Demo> {
	// Its own process group, as under a service manager; random ports so nothing else collides.
	const child = spawn('npm', ['run', 'demo'], {
		cwd: REPO_ROOT,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, DEMO_RANDOM_PORTS: '1' },
	});
	let stdout = '';
	let stderr = '';
	const exited = new Promise((resolve) => child.once('exit', resolve));
	const pipesClosed = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))).then(() => undefined);
	child.stderr!.on('data', (c: Buffer) => {
		stderr += c.toString('utf8');
	});
	const ready = await new Promise<DemoReady>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no DEMO READY line after 15 min\n${stderr.slice(-3000)}`)), 15 * 60_000);
		child.stdout!.on('data', (c: Buffer) => {
			stdout += c.toString('utf8');
			const m = /^DEMO READY (\{.*\})$/m.exec(stdout);
			if (m) {
				clearTimeout(timer);
				resolve(JSON.parse(m[1]!) as DemoReady);
			}
		});
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			reject(new Error(`the demo exited (${code ?? signal}) before it was ready\n${stderr.slice(-3000)}`));
		});
	});
	current = { child, ready, pipesClosed, exited, stderr: () => stderr };
	return current;
}

afterEach(() => {
	// Only after a failure: never leave a demo running.
	if (!current) return;
	const { child, ready } = current;
	for (const [pid, group] of [[child.pid!, true], [ready.pid, false], ...ready.n8nProcessGroups.map((g) => [g, true] as const)] as const) {
		try {
			process.kill(group ? -pid : pid, 'SIGKILL');
		} catch {
			/* gone */
		}
	}
	fs.rmSync(ready.userFolder, { recursive: true, force: true });
	current = undefined;
});

async function expectAllGone(demo: Demo): Promise<void> {
	const { ready } = demo;
	const result = await Promise.race([demo.pipesClosed.then(() => 'closed'), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
	expect(result, `the demo did not exit\n${demo.stderr().slice(-2000)}`).toBe('closed');
	await demo.exited; // npm itself, reaped
	await new Promise((r) => setTimeout(r, 1000));
	const left = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
		.split('\n')
		.map((line) => line.trim().split(/\s+/))
		// Zombies (exited, waiting for a parent that is gone to reap them) hold no port and no CPU.
		.filter(([, pgid, stat]) => pgid === String(demo.child.pid) && !stat!.startsWith('Z'))
		.map((fields) => fields.join(' '));
	expect(left, 'processes left in the npm process group').toEqual([]);
	expect(alive(ready.pid), 'the demo process').toBe(false);
	for (const g of ready.n8nProcessGroups) expect(alive(g, true), `n8n process group ${g}`).toBe(false);
	for (const url of [ready.url, ready.fakes.b2copy, ready.fakes.crmcom, ready.fakes.pbx]) expect(await listening(url), url).toBe(false);
	expect(fs.existsSync(ready.userFolder)).toBe(false);
	expect(fs.existsSync(DEMO_DIR)).toBe(false);
	expect(demo.stderr()).toMatch(/stopped; nothing left running/);
	current = undefined;
}

describe('npm run demo stopped through npm alone', () => {
	it.each(['SIGTERM', 'SIGHUP', 'SIGKILL'] as const)('%s to the npm process: n8n and the fakes stop, nothing is left', async (signal) => {
		const demo = await startDemo();
		expect(alive(demo.ready.pid)).toBe(true);
		for (const url of [demo.ready.url, demo.ready.fakes.pbx]) expect(await listening(url), url).toBe(true);
		process.kill(demo.child.pid!, signal); // npm only, not its group
		await expectAllGone(demo);
	});
});
