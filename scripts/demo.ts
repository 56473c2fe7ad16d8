/**
 * `npm run demo`: the whole package working on one machine, with no vendor account.
 *
 * Starts the three fake vendors on 127.0.0.1 and one n8n 2.41.1 with this package installed the
 * way the community nodes panel installs it (test/n8n/harness.ts: build, `npm pack`, npm install
 * into the user folder's nodes/, `n8n start`), then:
 * - an owner account ready to log in (printed);
 * - one credential of each of the package's four types, pointing at the fakes: B2COPY (a key pair
 *   the fake knows), CRM.COM (consumer key + authentication code), Virtual PBX trusted app (an
 *   app the fake PBX already has), Virtual PBX OAuth2 (connected through n8n's own OAuth2 flow:
 *   n8n's authorization URL → the fake PBX approves → n8n's callback stores the tokens);
 * - the workflows of examples/ imported with those credentials; the missed-call one is active.
 * It prints the editor URL, the login and what each example does, and runs until Ctrl-C
 * (SIGINT), SIGTERM, SIGHUP or the end of the process that started it (npm killed alone); then it
 * stops n8n (its whole process group) and the fakes, and removes the n8n user folder and
 * .tmp/demo. For tests it prints one line `DEMO READY {json}`.
 *
 * Ports (127.0.0.1): n8n 5678, fake B2COPY 5681, fake CRM.COM 5682, fake PBX 5683 — each one
 * that is taken is replaced by a free port (DEMO_RANDOM_PORTS=1: all random).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { startFakeCrmCom, type FakeCrmCom } from '../test/fakes/crmcom';
import { startFakePbx, type FakePbx, type PbxCall } from '../test/fakes/pbx';
import {
	OWNER,
	REPO_ROOT,
	packPackage,
	startN8nInstance,
	type CredentialInput,
	type N8nInstance,
	type WorkflowInput,
} from '../test/n8n/harness';
import { b2copyFixture, type B2CopyFixture } from '../test/support/b2copyFixture';

export const DEMO_PORTS = { n8n: 5678, b2copy: 5681, crmcom: 5682, pbx: 5683 } as const;
export const DEMO_DIR = path.join(REPO_ROOT, '.tmp', 'demo');
export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

/** Secrets of the fakes (nothing real: the fakes exist only on this machine). */
export const DEMO_SECRETS = {
	crmConsumerKey: 'DEMO0C0NSUMERKEY0000000000000001',
	crmAuthenticationCode: 'demo-authentication-code',
	pbxPublicApp: { clientId: 'demo0public0app0client0id0000001', clientSecret: 'demo0public0app0secret0000000001' },
	pbxTrustedApp: { clientId: 'demo0trusted0app0client0id000001', clientSecret: 'demo0trusted0app0secret000000001' },
};

export interface CredentialRef {
	id: string;
	name: string;
}

/** The credentials the examples refer to (same ids and names as in examples/*.json). */
export const DEMO_CREDENTIALS: Record<string, CredentialRef> = {
	b2CopyExternalCrmApi: { id: 'demoB2Copy000001', name: 'B2COPY external CRM (demo)' },
	crmComApi: { id: 'demoCrmCom000001', name: 'CRM.COM (demo)' },
	virtualPbxTrustedAppApi: { id: 'demoPbxTrusted01', name: 'Virtual PBX trusted app (demo)' },
	virtualPbxOAuth2Api: { id: 'demoPbxOAuth2001', name: 'Virtual PBX OAuth2 (demo)' },
};

export interface ExampleInfo {
	file: string;
	id: string;
	/** Left inactive by the demo, started by `n8n execute` / "Execute workflow" or once the user activates it (false: the demo activates it; the PBX trigger starts it). */
	manual: boolean;
	what: string;
}

export const EXAMPLES: ExampleInfo[] = [
	{
		file: 'pbx-call-sync-schedule.json',
		id: 'exPbxCallSync001',
		manual: true,
		what: 'Every 15 min (or "Execute workflow"): the PBX calls not yet synced, each customer looked up in CRM.COM by phone, the call written to the contact (Contact → Update: udf_date_1 start, udf_string_1 direction, udf_string_2 result, udf_float_1 duration), unknown callers created only if switched on, then marked as synced. Each call is written once, in editor runs too.',
	},
	{
		file: 'pbx-missed-call.json',
		id: 'exPbxMissedCall1',
		manual: false,
		what: 'ACTIVE. On a missed inbound call at extension 1001–1003 the Virtual PBX Trigger starts it: caller looked up in CRM.COM, a "call back" task item is output.',
	},
	{
		file: 'b2copy-withdrawal-fee.json',
		id: 'exB2copyFee00001',
		manual: true,
		what: '"Execute workflow": a CRM withdrawal (account login + request ID) → B2COPY Fee → Process, waiting for SUCCESS (the same request ID never charges twice).',
	},
	{
		file: 'pbx-call-sync.json',
		id: 'exPbxCallTrig001',
		manual: true,
		what: 'Activate it to start: the Virtual PBX Call Trigger polls every minute and starts the workflow with the calls that ended since (inbound and outbound), each customer looked up in CRM.COM by phone and the call written to the contact as in the schedule variant; a call counts as delivered once its execution succeeded. "Execute workflow" runs it on recent calls without moving the sync point.',
	},
];

/** An example workflow with its credential references bound to `credentials` (by type). */
export function loadExample(file: string, credentials: Record<string, CredentialRef> = DEMO_CREDENTIALS): WorkflowInput {
	const workflow = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as WorkflowInput;
	for (const node of workflow.nodes) {
		for (const type of Object.keys(node.credentials ?? {})) {
			const bound = credentials[type];
			if (!bound) throw new Error(`${file}: node "${node.name}" uses a ${type} credential and none was given`);
			node.credentials![type] = { id: bound.id, name: bound.name };
		}
	}
	return workflow;
}

// ---------------------------------------------------------------------------------------------
// fakes

export interface DemoFakes {
	b2copy: B2CopyFixture;
	crmcom: FakeCrmCom;
	pbx: FakePbx;
	urls: { b2copy: string; crmcom: string; pbx: string };
	close(): Promise<void>;
}

/** The number a CRM contact is looked up by: the caller of an inbound call, else the called one. */
export function customerNumber(call: Pick<PbxCall, 'flow' | 'from_username' | 'to_username'>): string {
	return call.flow === 'out' ? call.to_username : call.from_username;
}

/**
 * Gives the customers of `calls` (inbound or outbound ones) a CRM.COM contact, taking contacts
 * from the end of the fake's list: so the examples find some callers and not others.
 * Returns customer number → contact number.
 */
export function giveCallersContacts(crm: FakeCrmCom, calls: PbxCall[]): Map<string, string> {
	const linked = new Map<string, string>();
	let next = nextFreeContact.get(crm) ?? crm.contacts.length - 1;
	for (const call of calls) {
		if (call.flow === 'internal') continue;
		const number = customerNumber(call);
		if (linked.has(number) || next < 0) continue;
		const contact = crm.contacts[next--]!;
		contact.phone = number;
		linked.set(number, contact.number);
	}
	nextFreeContact.set(crm, next);
	return linked;
}

/** Per fake CRM: the last contact not yet given a caller's number (they are taken from the end). */
const nextFreeContact = new WeakMap<FakeCrmCom, number>();

async function listenOrFree<T>(start: (port: number) => Promise<T>, port: number): Promise<T> {
	if (port === 0) return await start(0);
	try {
		return await start(port);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
		return await start(0);
	}
}

/** The three fake vendors; the PBX accepts n8n's OAuth2 callback of `n8nBaseUrl`. */
export async function startDemoFakes(options: {
	n8nBaseUrl: string;
	ports?: { b2copy: number; crmcom: number; pbx: number };
	callCount?: number;
}): Promise<DemoFakes> {
	const ports = options.ports ?? { b2copy: 0, crmcom: 0, pbx: 0 };
	const started: Array<{ close(): Promise<void> }> = [];
	try {
		const b2copy = await listenOrFree((port) => b2copyFixture({ port, feePendingPolls: 2 }), ports.b2copy);
		started.push(b2copy.fake);
		const crmcom = await listenOrFree(
			(port) =>
				startFakeCrmCom({
					consumerKeys: [DEMO_SECRETS.crmConsumerKey],
					authenticationCodes: { [DEMO_SECRETS.crmAuthenticationCode]: {} },
					port,
				}),
			ports.crmcom,
		);
		started.push(crmcom);
		const pbx = await listenOrFree(
			(port) =>
				startFakePbx({
					publicApps: [{ ...DEMO_SECRETS.pbxPublicApp, name: 'n8n (demo)', redirectUris: [`${options.n8nBaseUrl.replace(/\/$/, '')}/rest/oauth2-credential/callback`] }],
					trustedApps: [{ ...DEMO_SECRETS.pbxTrustedApp, name: 'n8n sync (demo)' }],
					callCount: options.callCount ?? 2000,
					periodDays: 30,
					port,
				}),
			ports.pbx,
		);
		started.push(pbx);
		return {
			b2copy,
			crmcom,
			pbx,
			urls: { b2copy: b2copy.fake.url, crmcom: crmcom.url, pbx: pbx.url },
			close: async () => {
				await Promise.all(started.map((s) => s.close().catch(() => undefined)));
			},
		};
	} catch (error) {
		await Promise.all(started.map((s) => s.close().catch(() => undefined)));
		throw error;
	}
}

/** The four credentials, as `n8n import:credentials` takes them (the OAuth2 one not connected yet). */
export function demoCredentialInputs(fakes: DemoFakes, refs: Record<string, CredentialRef> = DEMO_CREDENTIALS): CredentialInput[] {
	const list: CredentialInput[] = [
		{ ...refs.b2CopyExternalCrmApi!, type: 'b2CopyExternalCrmApi', data: { ...fakes.b2copy.credentials } },
		{
			...refs.crmComApi!,
			type: 'crmComApi',
			data: {
				serverUrl: `${fakes.urls.crmcom}/crmapi/rest/v2/`,
				consumerKey: DEMO_SECRETS.crmConsumerKey,
				loginMethod: 'authenticationCode',
				authenticationCode: DEMO_SECRETS.crmAuthenticationCode,
			},
		},
		{
			...refs.virtualPbxTrustedAppApi!,
			type: 'virtualPbxTrustedAppApi',
			data: { host: fakes.urls.pbx, appId: DEMO_SECRETS.pbxTrustedApp.clientId, appSecret: DEMO_SECRETS.pbxTrustedApp.clientSecret },
		},
	];
	if (refs.virtualPbxOAuth2Api) {
		list.push({
			...refs.virtualPbxOAuth2Api,
			type: 'virtualPbxOAuth2Api',
			data: { host: fakes.urls.pbx, clientId: DEMO_SECRETS.pbxPublicApp.clientId, clientSecret: DEMO_SECRETS.pbxPublicApp.clientSecret },
		});
	}
	return list;
}

/**
 * Connects a saved OAuth2 credential through n8n's own flow, with the fake PBX in the role of the
 * user's browser: n8n's authorization URL → the PBX approves (302 to n8n's callback with a
 * code) → n8n's callback exchanges the code and stores the tokens.
 */
export async function connectPbxOAuth2(n8n: N8nInstance, credentialId: string): Promise<void> {
	const auth = await n8n.rest<{ data: string }>('GET', `/rest/oauth2-credential/auth?id=${encodeURIComponent(credentialId)}`);
	if (auth.status !== 200 || typeof auth.body?.data !== 'string') throw new Error(`OAuth2 connect: n8n gave no authorization URL: HTTP ${auth.status} ${auth.text}`);
	const approved = await fetch(auth.body.data, { redirect: 'manual' });
	const location = approved.headers.get('location');
	if (approved.status !== 302 || !location) throw new Error(`OAuth2 connect: the PBX did not redirect back (HTTP ${approved.status})`);
	const callback = new URL(location);
	const done = await n8n.rest('GET', `${callback.pathname}${callback.search}`);
	if (done.status !== 200 || /error/i.test(done.text)) throw new Error(`OAuth2 connect: n8n's callback failed: HTTP ${done.status} ${done.text.slice(0, 500)}`);
}

/**
 * Publishes (activates) or unpublishes a workflow through n8n's public API. n8n 2.41 registers
 * the triggers afterwards, in the background (a publication outbox): `done` tells when that
 * happened (e.g. the fake PBX has the subscriptions); it is polled for up to 30 s.
 */
export async function setWorkflowActive(
	n8n: N8nInstance,
	workflowId: string,
	active: boolean,
	done?: () => boolean | Promise<boolean>,
): Promise<void> {
	const action = active ? 'activate' : 'deactivate';
	const res = await n8n.apiRequest('POST', `/workflows/${encodeURIComponent(workflowId)}/${action}`, active ? {} : undefined);
	if (res.status !== 200) throw new Error(`${action} workflow ${workflowId} failed: HTTP ${res.status} ${res.text.slice(0, 1000)}`);
	const until = Date.now() + 30_000;
	while (done && !(await done())) {
		if (Date.now() > until) throw new Error(`${action} workflow ${workflowId}: n8n did not finish in 30 s (see its log)`);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

/**
 * True once the PBX has `count` event subscriptions and n8n serves their webhook: a POST without
 * the secret is refused by the trigger itself (401), not by n8n's router (404), and starts nothing.
 */
export async function pbxTriggerListening(pbx: FakePbx, count: number): Promise<boolean> {
	const subs = pbx.subscriptions();
	if (subs.length < count) return false;
	const url = new URL(subs[0]!.url);
	url.search = '';
	const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
	await res.arrayBuffer();
	return res.status === 401;
}

// ---------------------------------------------------------------------------------------------
// the demo

export interface DemoReady {
	url: string;
	login: { email: string; password: string };
	userFolder: string;
	port: number;
	pid: number;
	n8nProcessGroups: number[];
	fakes: { b2copy: string; crmcom: string; pbx: string };
	workflows: Array<{ id: string; name: string; active: boolean }>;
	credentials: Array<{ id: string; name: string; type: string }>;
}

function say(message: string): void {
	process.stderr.write(`[demo ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function portIsFree(port: number): Promise<boolean> {
	return await new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * The demo's parent and, on Linux, its ancestors up to the `npm run demo` / `npx` process that
 * started it (tsx, sh -c, npm): at most 4, never init. Elsewhere only the parent.
 */
export function launcherPids(): number[] {
	const pids = [process.ppid];
	const parentOf = (pid: number): number | undefined => {
		try {
			// /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses.
			const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
		} catch {
			return undefined;
		}
	};
	const isNpm = (pid: number): boolean => {
		try {
			return /(^|[/\0 ])(npm|npx|npm-cli\.js|npx-cli\.js)([\0 ]|$)/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
		} catch {
			return false;
		}
	};
	if (!fs.existsSync('/proc/self/stat')) return pids;
	const chain = [process.ppid];
	for (let pid = process.ppid; chain.length <= 4 && !isNpm(pid); ) {
		const parent = parentOf(pid);
		if (!parent || parent <= 1) return pids; // no npm above: the direct parent only
		chain.push(parent);
		pid = parent;
	}
	return isNpm(chain[chain.length - 1]!) ? chain : pids;
}

async function main(): Promise<void> {
	const started = Date.now();
	let n8n: N8nInstance | undefined;
	let fakes: DemoFakes | undefined;
	let stopping: Promise<void> | undefined;

	const stop = (reason: string): Promise<void> => {
		stopping ??= (async () => {
			say(`${reason}: stopping n8n and the fake vendors…`);
			const hard = setTimeout(() => {
				say('still not stopped after 40 s: exiting (n8n is killed by the exit hook)');
				process.exit(1);
			}, 40_000);
			try {
				await n8n?.dispose();
				await fakes?.close();
				fs.rmSync(DEMO_DIR, { recursive: true, force: true });
			} finally {
				clearTimeout(hard);
			}
			say('stopped; nothing left running');
		})();
		return stopping;
	};
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		// npm and tsx pass Ctrl-C on too: every repeat joins the same shutdown.
		process.on(signal, () => void stop(signal).then(() => process.exit(0), () => process.exit(1)));
	}
	// A service manager or a closed terminal may end `npm run demo` alone (SIGTERM or SIGKILL to
	// npm, which does not always reach this grandchild): watch the processes that launched the
	// demo and stop as soon as one of them is gone.
	const launchers = launcherPids();
	const watch = setInterval(() => {
		const gone = launchers.find((pid) => !isAlive(pid));
		if (gone === undefined && process.ppid === launchers[0]) return;
		clearInterval(watch);
		void stop(`the process that started the demo (pid ${gone ?? launchers[0]}) has exited`).then(() => process.exit(0), () => process.exit(1));
	}, 1000);
	watch.unref();

	try {
		const random = process.env.DEMO_RANDOM_PORTS === '1';
		const n8nPort = !random && (await portIsFree(DEMO_PORTS.n8n)) ? DEMO_PORTS.n8n : undefined;
		const fakePorts = random ? { b2copy: 0, crmcom: 0, pbx: 0 } : { b2copy: DEMO_PORTS.b2copy, crmcom: DEMO_PORTS.crmcom, pbx: DEMO_PORTS.pbx };

		say('step 1/6: building and packing the package (npm run build, npm pack)');
		fs.mkdirSync(DEMO_DIR, { recursive: true });
		const tarball = await packPackage({ destination: path.join(DEMO_DIR, 'pack') });

		say('step 2/6: preparing n8n 2.41.1 and installing the package the community-panel way (first time ever: ~10 min to download n8n)');
		n8n = await startN8nInstance({ tarball, port: n8nPort });
		if (stopping) return;

		say('step 3/6: starting the fake B2COPY, CRM.COM and PBX on 127.0.0.1');
		fakes = await startDemoFakes({ n8nBaseUrl: n8n.baseUrl, ports: fakePorts });
		// Some callers of the last days are CRM.COM contacts, as is the default caller of fired events.
		const recent = fakes.pbx.allCalls().slice(-120).filter((_, i) => i % 3 === 0);
		giveCallersContacts(fakes.crmcom, [...recent, { flow: 'in', from_username: '+74951234567', to_username: '' } as PbxCall]);

		say('step 4/6: importing the credentials and the example workflows');
		await n8n.importCredentials(demoCredentialInputs(fakes));
		await n8n.importWorkflow(EXAMPLES.map((e) => loadExample(e.file)));

		say('step 5/6: starting n8n and setting up the owner account');
		await n8n.startServer();

		say('step 6/6: connecting the PBX OAuth2 credential through n8n\'s OAuth flow, testing every credential, activating the trigger workflow');
		await connectPbxOAuth2(n8n, DEMO_CREDENTIALS.virtualPbxOAuth2Api!.id);
		for (const [type, ref] of Object.entries(DEMO_CREDENTIALS)) {
			const test = await n8n.testSavedCredential(ref.id);
			if (test.status !== 'OK') throw new Error(`the ${type} credential "${ref.name}" failed its test: ${test.message}`);
		}
		const pbx = fakes.pbx;
		for (const example of EXAMPLES.filter((e) => !e.manual)) await setWorkflowActive(n8n, example.id, true, () => pbxTriggerListening(pbx, 3));
		if (stopping) return;

		const ready: DemoReady = {
			url: n8n.baseUrl,
			login: { email: OWNER.email, password: OWNER.password },
			userFolder: n8n.userFolder,
			port: n8n.port,
			pid: process.pid,
			n8nProcessGroups: n8n.processGroups,
			fakes: fakes.urls,
			workflows: EXAMPLES.map((e) => ({ id: e.id, name: loadExample(e.file).name, active: !e.manual })),
			credentials: Object.entries(DEMO_CREDENTIALS).map(([type, ref]) => ({ ...ref, type })),
		};
		const missed = JSON.stringify({ action: 'fireEvent', extensionId: 1001, eventType: 'hangup', fields: { CallStatus: 'NOANSWER', Bridged: 'no', Duration: '0', RecID: null } });
		const lines = [
			'',
			`n8n-nodes-crm-pbx demo is ready (${Math.round((Date.now() - started) / 1000)} s)`,
			'',
			`  Editor:    ${n8n.baseUrl}/`,
			`  Email:     ${OWNER.email}`,
			`  Password:  ${OWNER.password}`,
			'',
			'  Credentials (all pointing at the fake vendors, all tested OK):',
			...Object.entries(DEMO_CREDENTIALS).map(([type, ref]) => `    - ${ref.name}  [${type}]${type === 'virtualPbxOAuth2Api' ? '  connected through n8n\'s OAuth2 flow' : ''}`),
			'',
			'  Example workflows (from examples/):',
			...EXAMPLES.flatMap((e) => [`    - ${ready.workflows.find((w) => w.id === e.id)!.name}`, `      ${e.what}`]),
			'',
			`  Fake vendors: B2COPY ${fakes.urls.b2copy}, CRM.COM ${fakes.urls.crmcom}, PBX ${fakes.urls.pbx}`,
			'  Try it:',
			'    - a missed call (starts the active trigger workflow; see Executions in the editor):',
			`      curl -s -X POST ${fakes.urls.pbx}/__fake/control -H 'content-type: application/json' -d '${missed}'`,
			'    - 7 new calls for the call sync (then "Execute workflow" on it: it handles just those 7, writing those with a CRM.COM contact):',
			`      curl -s -X POST ${fakes.urls.pbx}/__fake/control -H 'content-type: application/json' -d '{"action":"addCalls","n":7,"external":true}'`,
			'',
			'  Press Ctrl-C to stop everything.',
			'',
		];
		process.stdout.write(`${lines.join('\n')}\n`);
		process.stdout.write(`DEMO READY ${JSON.stringify(ready)}\n`);
		await new Promise<void>(() => {
			/* until a signal */
		});
	} catch (error) {
		say(`the demo could not start: ${(error as Error).stack ?? String(error)}`);
		if (n8n) say(`n8n's logs are in ${n8n.userFolder}/logs until the clean-up below`);
		await stop('error');
		process.exit(1);
	}
}

const invokedAs = process.argv[1] ? path.resolve(process.argv[1]) : '';
if (invokedAs === path.resolve(__filename) || invokedAs === path.resolve(__dirname, 'demo')) {
	void main();
}
