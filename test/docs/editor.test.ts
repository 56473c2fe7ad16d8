/**
 * What a user sees in n8n's editor, checked against n8n's conventions and the README:
 * every Docs link (node, credential, codex) lands on a README heading; action names carry no
 * articles ("Get contact", not "Get a contact"); each node has its own plain-language description;
 * the host field comes first on every credential form.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { ICredentialType, INodeProperties, INodeType } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { B2CopyExternalCrmApi } from '../../credentials/B2CopyExternalCrmApi.credentials';
import { CrmComApi } from '../../credentials/CrmComApi.credentials';
import { VirtualPbxOAuth2Api } from '../../credentials/VirtualPbxOAuth2Api.credentials';
import { VirtualPbxTrustedAppApi } from '../../credentials/VirtualPbxTrustedAppApi.credentials';
import { B2Copy } from '../../nodes/B2Copy/B2Copy.node';
import { CrmCom } from '../../nodes/CrmCom/CrmCom.node';
import { VirtualPbx } from '../../nodes/VirtualPbx/VirtualPbx.node';
import { VirtualPbxTrigger } from '../../nodes/VirtualPbx/VirtualPbxTrigger.node';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { homepage: string };
const repoUrl = pkg.homepage.replace(/#readme$/, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function githubAnchors(markdown: string): Set<string> {
	const seen = new Map<string, number>();
	const anchors = new Set<string>();
	let inFence = false;
	for (const line of markdown.split('\n')) {
		if (line.startsWith('```')) inFence = !inFence;
		const m = !inFence && /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
		if (!m) continue;
		const base = m[1]!.replace(/[`*_]/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-');
		const n = seen.get(base) ?? 0;
		seen.set(base, n + 1);
		anchors.add(n === 0 ? base : `${base}-${n}`);
	}
	return anchors;
}

const nodes: INodeType[] = [new B2Copy(), new CrmCom(), new VirtualPbx(), new VirtualPbxTrigger()];
const credentials: ICredentialType[] = [new B2CopyExternalCrmApi(), new CrmComApi(), new VirtualPbxOAuth2Api(), new VirtualPbxTrustedAppApi()];

function codexUrls(): string[] {
	const files = fs.readdirSync(path.join(ROOT, 'nodes'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.node.json'));
	return files.flatMap((f) => {
		const codex = JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', f), 'utf8')) as { resources?: Record<string, Array<{ url: string }>> };
		return Object.values(codex.resources ?? {}).flatMap((list) => list.map((r) => r.url));
	});
}

function actions(properties: INodeProperties[]): string[] {
	return properties.flatMap((p) => (p.name === 'operation' && Array.isArray(p.options) ? p.options : []).map((o) => String((o as { action?: string }).action ?? '')));
}

describe('Docs links', () => {
	const anchors = githubAnchors(readme);
	const urls = [
		...nodes.map((n) => n.description.documentationUrl ?? ''),
		...credentials.map((c) => c.documentationUrl ?? ''),
		...codexUrls(),
	];

	it('finds the links and the README headings', () => {
		expect(urls.length).toBeGreaterThanOrEqual(16);
		expect(anchors.has('troubleshooting')).toBe(true);
	});

	it.each(urls.map((u) => [u]))('%s points at a README heading', (url) => {
		expect(url.startsWith(`${repoUrl}#`), `not this repository's README: ${url}`).toBe(true);
		const anchor = url.slice(url.indexOf('#') + 1);
		expect(anchors.has(anchor), `no README heading with the anchor #${anchor}`).toBe(true);
	});
});

describe('node panel texts', () => {
	const descriptions = nodes.map((n) => n.description.description);

	it('every node has its own description', () => {
		expect(new Set(descriptions).size).toBe(nodes.length);
	});

	it.each(nodes.map((n) => [n.description.displayName, n.description.description]))('%s: plain language, no protocol jargon', (_, text) => {
		expect(text.length).toBeGreaterThan(30);
		expect(text).not.toMatch(/\b(ES256|JWT|OAuth2?|consumer application key|Web API v\d|REST|assertion)\b/i);
	});

	const all = nodes.flatMap((n) => actions(n.description.properties).map((a) => [n.description.displayName, a]));

	it('finds the action names', () => {
		expect(all.length).toBeGreaterThanOrEqual(20);
	});

	it.each(all)('%s action "%s": sentence case, no article, no full stop', (_, action) => {
		expect(action).toMatch(/^[A-Z][a-z]+ /);
		expect(action).not.toMatch(/\b(a|an|the)\b/i);
		expect(action).not.toMatch(/\.$/);
	});
});

describe('credential forms', () => {
	it.each(credentials.filter((c) => !c.extends?.length).map((c) => [c.displayName, c]))('%s: the host field comes first', (_, credential) => {
		const visible = credential.properties.filter((p) => p.type !== 'hidden' && p.type !== 'notice');
		expect(visible[0]?.displayName).toMatch(/^(Host|Server) URL$/);
	});
});
