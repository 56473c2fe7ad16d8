/**
 * The CRM stand-in of the sync suites: an HTTP server on 127.0.0.1 that a workflow's HTTP Request
 * node writes to, each suite counting what it receives its own way (`receive`). `useSink(sink)`
 * listens before the tests of the file and closes after them.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll } from 'vitest';

export abstract class Sink {
	/** `http://127.0.0.1:PORT` once listening. */
	url = '';
	private readonly server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			const send = ([status, answer]: [number, unknown]) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
			const answer = this.receive(req.url ?? '/', body);
			if (answer instanceof Promise) void answer.then(send);
			else send(answer);
		});
	});

	/** One request (its path and raw body): the status and JSON body to answer with (later, for a slow CRM). */
	protected abstract receive(path: string, body: string): [number, unknown] | Promise<[number, unknown]>;

	async listen(): Promise<void> {
		await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	/** Stops listening; connections still open (an answer held back) are cut. */
	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise((r) => this.server.close(r));
	}
}

/** The answer a sink gives while the CRM it stands for is down. */
export const CRM_UNAVAILABLE: [number, unknown] = [500, { message: 'CRM unavailable' }];

/** Listens before the tests of the file (or describe block), closes after them. */
export function useSink<S extends Sink>(sink: S): S {
	beforeAll(async () => {
		await sink.listen();
	});
	afterAll(async () => {
		await sink.close();
	});
	return sink;
}
