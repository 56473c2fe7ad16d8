/**
 * A newcomer's set-up: clone the repository (its committed HEAD), run `npm install` as README
 * says, and find the working tree unchanged — in particular package-lock.json, which npm rewrites
 * when it lacks entries (e.g. other platforms' optional packages) for this npm version.
 * npm uses its cache first (--prefer-offline); the first run on a machine downloads ~700 packages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from './harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-pbx-clone-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a fresh clone', () => {
	it('npm install leaves git status clean (package-lock.json unchanged)', () => {
		execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, dir]);
		const lockBefore = fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
		const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 20 * 60_000 });
		expect(install.status, `npm install failed:\n${install.stdout}\n${install.stderr}`).toBe(0);
		expect(fs.existsSync(path.join(dir, 'node_modules', 'n8n-workflow', 'package.json'))).toBe(true);
		const status = execFileSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' });
		const diff = status ? execFileSync('git', ['diff', '--stat'], { cwd: dir, encoding: 'utf8' }) : '';
		expect(status, `npm install changed the clone:\n${diff}`).toBe('');
		expect(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).toBe(lockBefore);
	});
});
