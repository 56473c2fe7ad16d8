/**
 * An IExecuteFunctions for unit and integration tests. Its `httpRequestWithAuthentication`
 * follows n8n-core 2.41's logic step by step (credentialsDecrypted or a fresh credential read,
 * preAuthentication when the expirable property is empty or after a retry status, persistence
 * of what preAuthentication returns, authenticate, one resend), so the credential + client
 * pipeline can be tested fast over real sockets. The real-n8n suite proves the real thing.
 */
import type {
	IAdditionalCredentialOptions,
	ICredentialDataDecryptedObject,
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestOptions,
	INode,
	INodeExecutionData,
} from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { testHttpRequest } from './http';

export interface CredentialStore {
	id: string;
	name: string;
	type: ICredentialType;
	data: ICredentialDataDecryptedObject;
	/** How many times the credential was read (decrypted) from the "database". */
	reads: number;
	/** How many times preAuthentication output was persisted. */
	writes: number;
	/** How many times preAuthentication ran. */
	preAuthentications: number;
}

export function credentialStore(type: ICredentialType, data: ICredentialDataDecryptedObject): CredentialStore {
	const defaults: ICredentialDataDecryptedObject = {};
	for (const property of type.properties) {
		if (property.default !== undefined) defaults[property.name] = property.default as never;
	}
	return { id: 'cred-1', name: 'Test credential', type, data: { ...defaults, ...data }, reads: 0, writes: 0, preAuthentications: 0 };
}

function getPath(source: Record<string, unknown>, path: string): unknown {
	if (path in source) return source[path];
	let current: unknown = source;
	for (const part of path.split('.')) {
		if (typeof current !== 'object' || current === null) return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

function resolveTemplate(value: string, credentials: ICredentialDataDecryptedObject): string {
	const text = value.startsWith('=') ? value.slice(1) : value;
	return text.replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_, key: string) => String(credentials[key] ?? ''));
}

export interface ContextOptions {
	store: CredentialStore;
	/** Input items' json. */
	items?: IDataObject[];
	/** Node parameters, the same for every item, or per item. */
	params: Record<string, unknown> | ((itemIndex: number) => Record<string, unknown>);
	continueOnFail?: boolean;
	/** Overrides the HTTP function (to count or fail requests). */
	http?: (options: IHttpRequestOptions) => Promise<unknown>;
	staticData?: IDataObject;
	/** The workflow's timezone (`getTimezone()`); n8n's default is America/New_York. */
	timezone?: string;
}

/** Node parameters, the same for every item or per item. */
export type NodeParams = ContextOptions['params'];

/** `n` input items `{ i: 0 }`, `{ i: 1 }`, … */
export const many = (n: number): IDataObject[] => Array.from({ length: n }, (_, i) => ({ i }));

export interface TestContext extends IExecuteFunctions {
	/** Every request that reached the wire, after authenticate(). */
	sent: IHttpRequestOptions[];
}

export function createExecuteContext(options: ContextOptions): TestContext {
	const { store } = options;
	const http = options.http ?? testHttpRequest;
	const items: INodeExecutionData[] = (options.items ?? [{}]).map((json) => ({ json }));
	const typeName = store.type.name;
	const node: INode = {
		id: 'node-1',
		name: 'Node Under Test',
		type: 'n8n-nodes-crm-pbx.test',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
		credentials: { [typeName]: { id: store.id, name: store.name } },
	};
	const sent: IHttpRequestOptions[] = [];
	const staticData = options.staticData ?? {};

	const send = async (requestOptions: IHttpRequestOptions) => {
		sent.push(requestOptions);
		return await http(requestOptions);
	};

	const getCredentials = async () => {
		store.reads++;
		return JSON.parse(JSON.stringify(store.data)) as ICredentialDataDecryptedObject;
	};

	const preAuthentication = async (credentials: ICredentialDataDecryptedObject, expired: boolean) => {
		const expirable = store.type.properties.find((p) => p.type === 'hidden' && p.typeOptions?.expirable === true);
		if (!expirable || typeof store.type.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !expired) return undefined;
		store.preAuthentications++;
		const output = (await store.type.preAuthentication.call(
			{ helpers: { httpRequest: async (o: IHttpRequestOptions) => await send(o) } } as never,
			credentials,
		)) as IDataObject;
		if (output[expirable.name] === undefined) return undefined;
		store.data = { ...store.data, ...(output as ICredentialDataDecryptedObject) };
		store.writes++;
		return Object.assign(credentials, output);
	};

	const authenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions) => {
		const auth = store.type.authenticate;
		if (typeof auth === 'function') return await auth(credentials, requestOptions);
		if (auth && auth.type === 'generic') {
			const result: IHttpRequestOptions = { ...requestOptions };
			for (const [outer, values] of Object.entries(auth.properties)) {
				const target = { ...((result as unknown as Record<string, IDataObject>)[outer] ?? {}) };
				for (const [key, value] of Object.entries(values as IDataObject)) {
					target[resolveTemplate(key, credentials)] = typeof value === 'string' ? resolveTemplate(value, credentials) : value;
				}
				(result as unknown as Record<string, IDataObject>)[outer] = target;
			}
			return result;
		}
		return requestOptions;
	};

	const httpRequestWithAuthentication = async (
		_type: string,
		requestOptions: IHttpRequestOptions,
		additional?: IAdditionalCredentialOptions,
	) => {
		let credentials: ICredentialDataDecryptedObject | undefined;
		try {
			credentials = additional?.credentialsDecrypted?.data ?? (await getCredentials());
			const data = await preAuthentication(credentials, false);
			if (data) Object.assign(credentials, data);
			const authenticated = await authenticate(credentials, requestOptions);
			return await send(authenticated);
		} catch (error) {
			const retryOn = additional?.preAuthenticationRetryStatusCode ?? 401;
			const codes = Array.isArray(retryOn) ? retryOn : [retryOn];
			const status = (error as { response?: { status?: number } }).response?.status;
			if (status !== undefined && codes.includes(status) && credentials) {
				try {
					const data = await preAuthentication(credentials, true);
					if (data) Object.assign(credentials, data);
					return await send(await authenticate(credentials, requestOptions));
				} catch (inner) {
					throw new NodeApiError(node, inner as never);
				}
			}
			throw new NodeApiError(node, error as never);
		}
	};

	const params = (itemIndex: number) =>
		typeof options.params === 'function' ? options.params(itemIndex) : options.params;

	const context = {
		sent,
		getNode: () => node,
		getInputData: () => items,
		continueOnFail: () => options.continueOnFail ?? false,
		getCredentials,
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown, opts?: { rawExpressions?: boolean }) => {
			// Per-item parameters stand for expressions in a real workflow: their raw form is one.
			if (opts?.rawExpressions && typeof options.params === 'function') return '={{ per item }}';
			const value = getPath(params(itemIndex), name);
			if (value === undefined) {
				if (fallback !== undefined) return fallback;
				throw new Error(`Could not get parameter "${name}"`);
			}
			return value;
		},
		getWorkflowStaticData: () => staticData,
		getExecutionId: () => 'test-execution',
		getTimezone: () => options.timezone ?? 'America/New_York',
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		helpers: {
			httpRequest: async (o: IHttpRequestOptions) => await send(o),
			httpRequestWithAuthentication,
			prepareBinaryData: async (buffer: Buffer, fileName?: string, mimeType?: string) => ({
				data: buffer.toString('base64'),
				mimeType: mimeType ?? 'application/octet-stream',
				fileName,
				fileSize: String(buffer.length),
			}),
			returnJsonArray: (data: IDataObject | IDataObject[]) => (Array.isArray(data) ? data : [data]).map((json) => ({ json })),
		},
	};
	return context as unknown as TestContext;
}

/** A node that runs as an action (B2Copy, CrmCom, VirtualPbx). */
export interface ActionNode {
	execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]>;
}

/** Runs `node` once over a fresh test context, as a workflow step would, and gives its (first) output. */
export async function runNode(node: ActionNode, options: ContextOptions): Promise<INodeExecutionData[]> {
	const [output] = await node.execute.call(createExecuteContext(options));
	return output;
}
