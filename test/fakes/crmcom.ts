/**
 * A strict fake of the CRM.COM Web API v4 (releases R15–R18; docs/vendors.md §3, seed 002):
 * the consumer-application-key login, session tokens carried in the query (GET) or the JSON
 * body (POST), a few read methods with offset paging (group members, jobs, and
 * contact_information/list with optional exact-match `phone` / `email` / `name` filters), and
 * the documented writes contact_information/create and contact_information/update (strict:
 * token only in the JSON body, unknown fields refused, `null` clears, user-defined fields
 * udf_string_N / udf_float_N (JSON numbers) / udf_date_N (ISO dates); every write counted, in
 * total and per contact; writes can be made to fail, or to be carried out and then lose their
 * connection).
 *
 * No public CRM.COM page lists contact_information/list: `contactListMethod` removes it (a bare
 * HTTP 404, or a 200 UNKNOWN_METHOD envelope). How a lookup that finds nothing is answered is
 * UNKNOWN too: `notFoundShape` (200 NOT_FOUND envelope, 404 NOT_FOUND envelope, OK without data).
 *
 * Every answer uses the envelope `{data, status: {code, description, message}}`. Where the
 * vendor's behaviour is UNKNOWN the fake is configurable: the HTTP status of login failures
 * (default 200, as CRM.COM often answers), how a bad session token is answered (HTTP 200
 * envelope or HTTP 401), the codes of token failures, whether lists carry a total.
 *
 * Login checks, in this order (the first failure answers; HTTP `loginErrorHttpStatus` unless
 * marked 400):
 *   400 INVALID_CONTENT_TYPE | INVALID_JSON         (request body)
 *   UNKNOWN_PARAMETER                     a body field other than the four documented ones
 *   MALFORMED_AUTHORIZATION               Authorization header present but not HTTP Basic
 *   NON_EMPTY_PASSWORD                    Basic password not empty
 *   INVALID_CONSUMER_APPLICATION_KEY      a key was given and is not registered
 *   JWT_NOT_SUPPORTED                     jwt before R16.2
 *   MIXED_AUTHENTICATION_MODES            jwt with access_token_identifier, or
 *                                         authentication_code with identifier
 *   MISSING_AUTHENTICATION_PARAMETERS     neither access_token_identifier nor jwt
 *   INVALID_ACCESS_TOKEN_IDENTIFIER       not an object, empty, non-string values, stray keys
 *   ORGANISATION_NOT_APPLICABLE           organisation without jwt
 *   MISSING_CONSUMER_APPLICATION_KEY      no key where the release requires one
 *   UNKNOWN_AUTHENTICATION_CODE
 *   MISSING_PASS_CODE | UNKNOWN_IDENTIFIER | INVALID_PASS_CODE
 *   ORGANISATION_MANDATORY | INVALID_JWT | JWT_EXPIRED | UNKNOWN_ORGANISATION
 *   UNKNOWN_UNIT                          unit given and not one of `units`
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
	CONTROL_PREFIX,
	FakeServer,
	isPlainObject,
	json,
	parseBasic,
	readJsonObject,
	send,
} from './common';
import type { FakeRequest, Query } from './common';

export const CRMCOM_BASE = '/crmapi/rest/v2/';

export const CRMCOM_PATHS = {
	login: '/crmapi/rest/v2/authentication/consumer_application_key/token',
	contactShow: '/crmapi/rest/v2/contact_information/show',
	contactList: '/crmapi/rest/v2/contact_information/list',
	contactUpdate: '/crmapi/rest/v2/contact_information/update',
	contactCreate: '/crmapi/rest/v2/contact_information/create',
	accountShow: '/crmapi/rest/v2/accounts_receivable/show',
	groupMembers: '/crmapi/rest/v2/accounts_receivable/group_members/list',
	jobsList: '/crmapi/rest/v2/jobs/list',
	jobShow: '/crmapi/rest/v2/jobs/show',
	state: '/__fake/state',
	control: '/__fake/control',
} as const;

/** Numbers of the two group (parent) accounts. */
export const CRMCOM_GROUPS = { big: 'ARG000001', small: 'ARG000002' } as const;
export const CRMCOM_SMALL_GROUP_SIZE = 7;
export const CRMCOM_DEFAULT_PAGE_SIZE = 50;
export const CRMCOM_MAX_PAGE_SIZE = 500;

export type CrmComRelease = 'R15' | 'R16.2';
/** How writes answer: normally, refused with an envelope (HTTP 200), or HTTP 500. */
export type CrmComWriteFailureMode = 'off' | 'envelope' | 'http500';
/** contact_information/list: present, absent as a bare HTTP 404, absent as a 200 UNKNOWN_METHOD envelope. */
export type CrmComListMethodMode = 'present' | 'http404' | 'envelope200';
/** How contact_information/show answers when nothing matches. */
export type CrmComNotFoundShape = 'envelope200' | 'http404' | 'okEmpty';
/** Highest N of udf_string_N, udf_float_N, udf_date_N. */
export const CRMCOM_UDF_COUNT = 20;
export type CrmComAuthFailureMode = 'envelope200' | 'http401' | 'http403';

export interface CrmComTokenFailureCodes {
	missing: string;
	invalid: string;
	expired: string;
}

export interface FakeCrmComOptions {
	/** Registered consumer application keys (HTTP Basic username). */
	consumerKeys: string[];
	/** Access tokens identified by authentication code; `unit` is the default unit. */
	authenticationCodes?: Record<string, { unit?: string }>;
	/** Access tokens identified by identifier + pass code. */
	identifiers?: Record<string, { passCode: string }>;
	/** HS256 secret of the identity system's JWTs (jwt mode). Without it every jwt is invalid. */
	identityJwtSecret?: string;
	/** Organisations a jwt login may name. Default ['fake_org']. */
	organisations?: string[];
	/** Valid units. Default ['1']. */
	units?: string[];
	/** Default 'R16.2'. */
	release?: CrmComRelease;
	/** HTTP status of login refusals (not of 400 body errors). Default 200. */
	loginErrorHttpStatus?: number;
	/** Session token lifetime. Default 7200. */
	tokenLifetimeSec?: number;
	/** Default 'envelope200'. */
	authFailureMode?: CrmComAuthFailureMode;
	/** Envelope codes of token failures. Default MISSING_TOKEN / INVALID_TOKEN / TOKEN_EXPIRED. */
	tokenFailureCodes?: Partial<CrmComTokenFailureCodes>;
	/** Default 3000. */
	contactCount?: number;
	/** Members of group ARG000001. Default 2500; at most contactCount. */
	groupMemberCount?: number;
	/** Default 1234. */
	jobCount?: number;
	/** Add `total_records` next to `data` in list answers. Default false. */
	includeTotal?: boolean;
	/** HTTP status for an unknown resource/action (envelope UNKNOWN_METHOD). Default 404. */
	unknownMethodHttpStatus?: number;
	/** Default 'present'. */
	contactListMethod?: CrmComListMethodMode;
	/** Default 'envelope200'. */
	notFoundShape?: CrmComNotFoundShape;
	/** Default 'off'. */
	writeFailure?: CrmComWriteFailureMode;
	/**
	 * A server cap on list pages below what number_of_results asks (e.g. 50): served silently,
	 * as a server with a lower limit would. Default: none (up to 500 as asked).
	 */
	pageCap?: number;
	port?: number;
	/** Clock in epoch milliseconds (default Date.now); lets tests move time. */
	now?: () => number;
}

export interface CrmComSettings {
	consumerKeys: string[];
	authenticationCodes: Record<string, { unit?: string }>;
	identifiers: Record<string, { passCode: string }>;
	identityJwtSecret: string | undefined;
	organisations: string[];
	units: string[];
	release: CrmComRelease;
	loginErrorHttpStatus: number;
	tokenLifetimeSec: number;
	authFailureMode: CrmComAuthFailureMode;
	tokenFailureCodes: CrmComTokenFailureCodes;
	includeTotal: boolean;
	unknownMethodHttpStatus: number;
	contactListMethod: CrmComListMethodMode;
	notFoundShape: CrmComNotFoundShape;
	writeFailure: CrmComWriteFailureMode;
	pageCap: number | undefined;
}

export type PlacementWhere = 'header' | 'query' | 'body';

export interface PlacementViolation {
	method: string;
	path: string;
	where: PlacementWhere;
	/** What was found, e.g. `authorization header`, `query parameter token`. */
	detail: string;
	at: number;
}

export interface CrmComCounters {
	loginAttempts: number;
	loginOk: number;
	/** Login refusals by envelope code. */
	loginFailures: Record<string, number>;
	/** Requests to protected methods that reached the token check. */
	protectedRequests: number;
	protectedOk: number;
	protectedRefused: number;
	/** Token refusals by envelope code. */
	protectedRefusals: Record<string, number>;
	placementViolations: number;
	placementViolationsBy: Record<PlacementWhere, number>;
	/** Writes carried out (create + update). */
	contactWrites: number;
	contactCreates: number;
	contactUpdates: number;
	/** Writes carried out, by contact number. */
	writesByContact: Record<string, number>;
	/** Writes refused because `writeFailure` was on. */
	writeFailures: number;
	/** Writes refused for their own data by `refuseWrite` (an envelope error on that record only). */
	writeRefusals: number;
	/** Creates of a contact with a phone number another contact already has (not refused). */
	duplicatePhoneCreates: number;
}

/** A phone of a contact, as CRM.COM's phone objects describe it. */
export interface CrmComPhone {
	phone_identifier: string;
	type: CrmComPhoneType;
	number: string;
	area_code?: string;
	country_identifier?: string;
	notes?: string;
}

/** An e-mail address of a contact. */
export interface CrmComEmail {
	email_identifier: string;
	type: CrmComEmailType;
	email_address: string;
}

export const CRMCOM_PHONE_TYPES = ['LANDLINE', 'MOBILE', 'FAX', 'CUSTOM1', 'CUSTOM2', 'CUSTOM3', 'CUSTOM4', 'CUSTOM5'] as const;
export type CrmComPhoneType = (typeof CRMCOM_PHONE_TYPES)[number];
export const CRMCOM_EMAIL_TYPES = ['PERSONAL', 'BUSINESS'] as const;
export type CrmComEmailType = (typeof CRMCOM_EMAIL_TYPES)[number];

/** One write carried out (create or update), as the fake applied it, in the order applied. */
export interface CrmComWrite {
	/** 1-based, in the order the writes were applied. */
	seq: number;
	kind: 'create' | 'update';
	/** The contact's number (CI…). */
	contact: string;
	/** The request body without the token. */
	body: Record<string, unknown>;
	at: number;
}

/** What `refuseWrite` answers for a write it refuses: an HTTP 200 envelope error with this code. */
export interface CrmComWriteRefusal {
	code: string;
	message: string;
	description?: string;
}

export interface CrmComContact {
	id: string;
	number: string;
	type: 'PERSON' | 'COMPANY';
	first_name: string | null;
	last_name: string | null;
	/** Only on contacts that were given one (create or update). */
	company_name?: string | null;
	name: string;
	life_cycle_state: 'FINANCIAL';
	/** The primary e-mail (the first of `emails`); show/list by email match any of `emails`. */
	email: string | null;
	/** The primary phone (the first of `phones`); show/list by phone match any of `phones`. */
	phone: string | null;
	phones: CrmComPhone[];
	emails: CrmComEmail[];
	notes: string | null;
	/** User-defined fields, present once set. */
	[udf: `udf_${string}`]: string | number | null | undefined;
}

export interface CrmComRef {
	id: string;
	number: string;
	name: string;
}

export interface CrmComAccount {
	id: string;
	number: string;
	name: string;
	type: 'CUSTOMER';
	life_cycle_state: 'ACTIVE';
	balance: number;
	currency: 'EUR';
	contact_information: CrmComRef | null;
	/** Set on group members: the parent's funding scope. */
	funding_scope?: 'FULLY_FUNDED' | 'PARTIALLY_FUNDED';
}

export interface CrmComJob {
	id: string;
	number: string;
	type: { name: string };
	life_cycle_state: string;
	accounts_receivable: CrmComRef;
	created_date: string;
}

interface TokenRecord {
	expSec: number;
	forcedExpired: boolean;
	user: string;
	organisation: string;
	unit: string;
}

type Envelope = { data: unknown; status: { code: string; description: string; message: string } };

class Refusal {
	constructor(
		readonly httpStatus: number,
		readonly code: string,
		readonly message: string,
		readonly description = message,
	) {}
}

export function crmEnvelope(data: unknown, code = 'OK', message = '', description = ''): Envelope {
	return { data, status: { code, description, message } };
}

/** True for `{data, status: {code: string, ...}}`. */
export function isCrmEnvelope(value: unknown): value is Envelope {
	return (
		isPlainObject(value) && isPlainObject(value.status) && typeof value.status.code === 'string'
	);
}

const base64url = (input: Buffer | string): string => Buffer.from(input).toString('base64url');

/** 32 uppercase hex characters derived from `seed` (CRM.COM's id format, deterministic). */
export function crmId(seed: string): string {
	return createHash('sha256').update(seed).digest('hex').slice(0, 32).toUpperCase();
}

const pad = (n: number, width = 6): string => String(n).padStart(width, '0');

const FIRST_NAMES = [
	'Andreas',
	'Maria',
	'Nikos',
	'Elena',
	'Giorgos',
	'Eleni',
	'Christos',
	'Sofia',
	'Costas',
	'Anna',
	'Michalis',
	'Katerina',
	'Petros',
	'Ioanna',
	'Stelios',
	'Despina',
	'Marios',
	'Christina',
	'Panayiotis',
	'Georgia',
	'Savvas',
	'Polina',
	'Loizos',
	'Antonia',
	'Demetris',
	'Irene',
	'Kyriakos',
	'Stella',
	'Yiannis',
	'Myria',
	'Charalambos',
	'Rena',
	'Lefteris',
	'Androulla',
	'Pavlos',
	'Chloe',
	'Theodoros',
	'Natalia',
	'Vasilis',
	'Evi',
];
const LAST_NAMES = [
	'Georgiou',
	'Ioannou',
	'Constantinou',
	'Christodoulou',
	'Nicolaou',
	'Papadopoulos',
	'Charalambous',
	'Kyriakou',
	'Demetriou',
	'Savva',
	'Panayiotou',
	'Michael',
	'Antoniou',
	'Andreou',
	'Hadjipetrou',
	'Kountouri',
	'Loizou',
	'Economou',
	'Petrou',
	'Stylianou',
	'Vasiliou',
	'Theodorou',
	'Kestora',
	'Pavlou',
	'Neophytou',
	'Iacovou',
	'Christofi',
	'Efstathiou',
	'Sotiriou',
	'Philippou',
	'Markou',
	'Zacharia',
	'Kleanthous',
	'Yiasoumi',
	'Onoufriou',
	'Solomou',
	'Pieri',
	'Hadjigeorgiou',
	'Shiacolas',
	'Tryfonos',
	'Evangelou',
	'Agathocleous',
	'Anastasiou',
	'Frangou',
	'Gregoriou',
	'Kallis',
	'Lambrou',
	'Matsas',
	'Orphanides',
	'Photiou',
	'Rossides',
	'Stavrou',
	'Tsangarides',
	'Vrahimis',
	'Xenophontos',
	'Yerolemou',
	'Zenonos',
	'Athanasiou',
	'Chrysostomou',
	'Damianou',
	'Eleftheriou',
	'Filippou',
	'Hadjikyriacou',
	'Ierides',
	'Kyprianou',
	'Leonidou',
	'Mavrides',
	'Nearchou',
	'Odysseos',
	'Prodromou',
	'Rousos',
	'Sergides',
	'Tofarides',
	'Vassiliades',
	'Xydas',
	'Yiannakou',
	'Zavrou',
	'Avraamides',
	'Charalambides',
	'Demosthenous',
];
const JOB_TYPES = ['Installation', 'Repair', 'Disconnection', 'Survey'];
const JOB_STATES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED'];
const CONTACT_FIELDS = ['id', 'number', 'name', 'email', 'phone'] as const;
const ACCOUNT_FIELDS = ['id', 'number', 'name'] as const;
const CONTACT_LIST_FILTERS = ['phone', 'email', 'name'] as const;
const UPDATABLE_CONTACT_FIELDS = ['first_name', 'last_name', 'notes'] as const;
/** Fields contact_information/create and /update take besides the identifier (and udf_*). */
const WRITABLE_CONTACT_FIELDS = [...UPDATABLE_CONTACT_FIELDS, 'company_name'] as const;
const UDF_FIELD = /^udf_(string|float|date)_([1-9]\d*)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const LOGIN_FIELDS = ['access_token_identifier', 'jwt', 'organisation', 'unit'];
const TOKEN_HEADER_NAMES = [
	'token',
	'x-token',
	'x-auth-token',
	'x-access-token',
	'api_key',
	'api-key',
];

/** Deterministic contacts CI000001…: unique names, emails and E.164-style Cypriot numbers. */
export function generateContacts(count: number): CrmComContact[] {
	const contacts: CrmComContact[] = [];
	const combos = FIRST_NAMES.length * LAST_NAMES.length;
	for (let i = 0; i < count; i++) {
		const n = i + 1;
		const first = FIRST_NAMES[i % FIRST_NAMES.length];
		const cycle = Math.floor(i / combos);
		const last =
			LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length] +
			(cycle > 0 ? ` ${cycle + 1}` : '');
		contacts.push({
			id: crmId(`contact:${n}`),
			number: `CI${pad(n)}`,
			type: 'PERSON',
			first_name: first,
			last_name: last,
			name: `${first} ${last}`,
			life_cycle_state: 'FINANCIAL',
			email: `${first}.${last.replace(/ /g, '')}.${n}@example.com`.toLowerCase(),
			phone: `+357${22000000 + n}`,
			phones: [],
			emails: [],
			notes: null,
		});
		const contact = contacts[contacts.length - 1];
		contact.phones.push({ phone_identifier: crmId(`phone:${n}:1`), type: 'MOBILE', number: contact.phone! });
		contact.emails.push({ email_identifier: crmId(`email:${n}:1`), type: 'PERSONAL', email_address: contact.email! });
	}
	return contacts;
}

/** Sign an identity-system JWT (jwt login mode) with HS256. `exp` default now + 300 s. */
export function signIdentityJwt(
	secret: string,
	claims: Record<string, unknown> = {},
	options: { now?: number; expiresInSec?: number; alg?: string } = {},
): string {
	const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
	const payload: Record<string, unknown> = {
		sub: 'identity-user',
		iat: nowSec,
		exp: nowSec + (options.expiresInSec ?? 300),
		...claims,
	};
	for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
	const header = base64url(JSON.stringify({ alg: options.alg ?? 'HS256', typ: 'JWT' }));
	const body = base64url(JSON.stringify(payload));
	const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
	return `${header}.${body}.${signature}`;
}

/** The payload of a compact JWT, unverified (for tests). */
export function decodeJwtPayload(token: string): Record<string, unknown> {
	const part = token.split('.')[1] ?? '';
	return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function emptyCounters(): CrmComCounters {
	return {
		loginAttempts: 0,
		loginOk: 0,
		loginFailures: {},
		protectedRequests: 0,
		protectedOk: 0,
		protectedRefused: 0,
		protectedRefusals: {},
		placementViolations: 0,
		placementViolationsBy: { header: 0, query: 0, body: 0 },
		contactWrites: 0,
		contactCreates: 0,
		contactUpdates: 0,
		writesByContact: {},
		writeFailures: 0,
		writeRefusals: 0,
		duplicatePhoneCreates: 0,
	};
}

const bump = (map: Record<string, number>, key: string): void => {
	map[key] = (map[key] ?? 0) + 1;
};

export class FakeCrmCom extends FakeServer {
	/** Live settings; tests may change them between requests. */
	readonly settings: CrmComSettings;
	/** Contacts CI000001…, live (updates change them). */
	readonly contacts: CrmComContact[];
	/** One account per contact (AR000001…), then the two group accounts. */
	readonly accounts: CrmComAccount[];
	readonly jobs: CrmComJob[];
	/** Group account number → its members, in the stable list order. */
	readonly groups: Map<string, CrmComAccount[]>;
	/** Every placement violation since the last `reset()`, oldest first. */
	readonly placementLog: PlacementViolation[] = [];

	private readonly now: () => number;
	private readonly secret = randomBytes(32);
	private readonly tokens = new Map<string, TokenRecord>();
	private counts: CrmComCounters = emptyCounters();
	private expireAfter: number | undefined;
	private dropAfterWrite = 0;
	private writeDelays: number[] = [];
	private writesArrived = 0;
	/** Every write applied since the last `reset()` / `clearLog()`, in the order applied. */
	readonly writeLog: CrmComWrite[] = [];
	/**
	 * Refuses a checked write for its own data (an HTTP 200 envelope error on that record only),
	 * e.g. a field CRM.COM does not accept for one contact; `undefined` lets it through.
	 */
	refuseWrite?: (body: Record<string, unknown>, kind: 'create' | 'update') => CrmComWriteRefusal | undefined;

	/**
	 * The k-th write to arrive from now on (0-based) waits `ms[k]` before it is applied and answered,
	 * as a server under load does: writes sent at once are then applied in any order.
	 */
	set writeDelaysMs(ms: number[]) {
		if (!ms.every((n) => Number.isFinite(n) && n >= 0)) throw new Error('writeDelaysMs: each delay must be a number >= 0');
		this.writeDelays = [...ms];
		this.writesArrived = 0;
	}

	get writeDelaysMs(): number[] {
		return this.writeDelays.slice(this.writesArrived);
	}

	constructor(options: FakeCrmComOptions) {
		super(undefined, { name: 'CRM.COM' });
		this.now = options.now ?? Date.now;
		this.settings = {
			consumerKeys: [...options.consumerKeys],
			authenticationCodes: { ...options.authenticationCodes },
			identifiers: { ...options.identifiers },
			identityJwtSecret: options.identityJwtSecret,
			organisations: [...(options.organisations ?? ['fake_org'])],
			units: [...(options.units ?? ['1'])],
			release: options.release ?? 'R16.2',
			loginErrorHttpStatus: options.loginErrorHttpStatus ?? 200,
			tokenLifetimeSec: options.tokenLifetimeSec ?? 7200,
			authFailureMode: options.authFailureMode ?? 'envelope200',
			tokenFailureCodes: {
				missing: 'MISSING_TOKEN',
				invalid: 'INVALID_TOKEN',
				expired: 'TOKEN_EXPIRED',
				...options.tokenFailureCodes,
			},
			includeTotal: options.includeTotal ?? false,
			unknownMethodHttpStatus: options.unknownMethodHttpStatus ?? 404,
			contactListMethod: options.contactListMethod ?? 'present',
			notFoundShape: options.notFoundShape ?? 'envelope200',
			writeFailure: options.writeFailure ?? 'off',
			pageCap: options.pageCap,
		};
		const contactCount = options.contactCount ?? 3000;
		const memberCount = options.groupMemberCount ?? 2500;
		const jobCount = options.jobCount ?? 1234;
		for (const [name, value] of [
			['contactCount', contactCount],
			['groupMemberCount', memberCount],
			['jobCount', jobCount],
		] as const) {
			if (!Number.isInteger(value) || value < 0)
				throw new Error(`Fake CRM.COM: ${name} must be an integer >= 0`);
		}
		if (memberCount > contactCount) {
			throw new Error('Fake CRM.COM: groupMemberCount cannot exceed contactCount');
		}
		this.contacts = generateContacts(contactCount);
		this.accounts = this.contacts.map((contact, i) => ({
			id: crmId(`account:${i + 1}`),
			number: `AR${pad(i + 1)}`,
			name: `AR${pad(i + 1)} ${contact.name}`,
			type: 'CUSTOMER',
			life_cycle_state: 'ACTIVE',
			balance: Math.round((((i * 7919) % 100_000) / 100 - 200) * 100) / 100,
			currency: 'EUR',
			contact_information: { id: contact.id, number: contact.number, name: contact.name },
		}));
		const parent = (n: number, name: string): CrmComAccount => ({
			id: crmId(`group:${n}`),
			number: n === 1 ? CRMCOM_GROUPS.big : CRMCOM_GROUPS.small,
			name,
			type: 'CUSTOMER',
			life_cycle_state: 'ACTIVE',
			balance: 0,
			currency: 'EUR',
			contact_information: null,
		});
		const big = parent(1, 'Group account (large)');
		const small = parent(2, 'Group account (small)');
		this.accounts.push(big, small);
		const member = (account: CrmComAccount, k: number): CrmComAccount => ({
			...account,
			funding_scope: k % 10 === 9 ? 'PARTIALLY_FUNDED' : 'FULLY_FUNDED',
		});
		this.groups = new Map([
			[big.number, this.accounts.slice(0, memberCount).map(member)],
			[
				small.number,
				this.accounts
					.slice(Math.max(0, contactCount - CRMCOM_SMALL_GROUP_SIZE), contactCount)
					.map(member),
			],
		]);
		const epoch = Date.UTC(2024, 0, 1);
		this.jobs = Array.from({ length: jobCount }, (_, i) => {
			const account = this.accounts[i % Math.max(1, contactCount)] ?? big;
			return {
				id: crmId(`job:${i + 1}`),
				number: `J${pad(i + 1)}`,
				type: { name: JOB_TYPES[i % JOB_TYPES.length] },
				life_cycle_state: JOB_STATES[i % JOB_STATES.length],
				accounts_receivable: { id: account.id, number: account.number, name: account.name },
				created_date: new Date(epoch + i * 3_600_000).toISOString().slice(0, 19),
			};
		});
	}

	/** A snapshot of the counters. */
	get counters(): CrmComCounters {
		return {
			...this.counts,
			loginFailures: { ...this.counts.loginFailures },
			protectedRefusals: { ...this.counts.protectedRefusals },
			placementViolationsBy: { ...this.counts.placementViolationsBy },
			writesByContact: { ...this.counts.writesByContact },
		};
	}

	/** Writes carried out on one contact (by number) since the last `reset()`. */
	writesTo(number: string): number {
		return this.counts.writesByContact[number] ?? 0;
	}

	/**
	 * The next `n` writes are carried out, then their connection is destroyed without an
	 * answer (a write that reached the vendor but whose answer was lost).
	 */
	dropAfterWrites(n: number): void {
		if (!Number.isInteger(n) || n < 0) throw new Error('dropAfterWrites: n must be an integer >= 0');
		this.dropAfterWrite = n;
	}

	/** Zero the counters and the placement log (tokens and data are kept). */
	reset(): void {
		this.counts = emptyCounters();
		this.placementLog.length = 0;
		this.writeLog.length = 0;
	}

	override clearLog(): void {
		super.clearLog();
		this.writeLog.length = 0;
	}

	/** Every session token issued so far becomes expired. */
	expireTokens(): void {
		for (const record of this.tokens.values()) record.forcedExpired = true;
		this.expireAfter = undefined;
	}

	/** After `n` more accepted protected requests, every token issued so far expires (0: now). */
	expireTokensAfter(n: number): void {
		if (!Number.isInteger(n) || n < 0)
			throw new Error('expireTokensAfter: n must be an integer >= 0');
		if (n === 0) this.expireTokens();
		else this.expireAfter = n;
	}

	/** Every session token issued so far, oldest first (for leak tests). */
	issuedTokens(): string[] {
		return [...this.tokens.keys()];
	}

	protected async handle(request: FakeRequest): Promise<void> {
		const { res, path, method } = request;
		if (path.startsWith(CONTROL_PREFIX)) {
			this.handleControl(request);
			return;
		}
		try {
			if (path === CRMCOM_PATHS.login) {
				if (method !== 'POST') throw this.methodNotAllowed('POST');
				this.handleLogin(request);
				return;
			}
			const route = this.route(path);
			if (!route && path === CRMCOM_PATHS.contactList && this.settings.contactListMethod === 'http404') {
				send(res, 404, 'Not Found', { 'content-type': 'text/plain; charset=utf-8' });
				return;
			}
			if (!route && path === CRMCOM_PATHS.contactList && this.settings.contactListMethod === 'envelope200') {
				throw new Refusal(200, 'UNKNOWN_METHOD', 'Unknown Web API method', `No Web API method is available at ${path}`);
			}
			if (!route) {
				throw new Refusal(
					this.settings.unknownMethodHttpStatus,
					'UNKNOWN_METHOD',
					'Unknown Web API method',
					`No Web API method is available at ${path}`,
				);
			}
			if (method !== route.method) throw this.methodNotAllowed(route.method);
			const params = this.authorise(request);
			if (!params) return;
			await route.run(params, request);
		} catch (error) {
			if (!(error instanceof Refusal)) throw error;
			json(res, error.httpStatus, crmEnvelope(null, error.code, error.message, error.description));
		}
	}

	private methodNotAllowed(allowed: string): Refusal {
		return new Refusal(
			405,
			'METHOD_NOT_ALLOWED',
			'HTTP method not allowed',
			`Use HTTP ${allowed} for this Web API method`,
		);
	}

	private nowSec(): number {
		return Math.floor(this.now() / 1000);
	}

	// ---- login ----------------------------------------------------------------------------------

	private loginRefusal(code: string, message: string, description = message): Refusal {
		return new Refusal(this.settings.loginErrorHttpStatus, code, message, description);
	}

	private handleLogin(request: FakeRequest): void {
		this.counts.loginAttempts++;
		try {
			const token = this.login(request);
			this.counts.loginOk++;
			json(request.res, 200, crmEnvelope({ token }));
		} catch (error) {
			if (error instanceof Refusal) bump(this.counts.loginFailures, error.code);
			throw error;
		}
	}

	private login(request: FakeRequest): string {
		const s = this.settings;
		const r16 = s.release === 'R16.2';
		const body = readJsonBody(request);
		for (const key of Object.keys(body)) {
			if (!LOGIN_FIELDS.includes(key)) {
				throw this.loginRefusal(
					'UNKNOWN_PARAMETER',
					`Unknown parameter: ${key}`,
					`Allowed parameters: ${LOGIN_FIELDS.join(', ')}`,
				);
			}
		}

		// The consumer application key: HTTP Basic username, empty password.
		let key: string | undefined;
		if (request.headers.authorization !== undefined) {
			const basic = parseBasic(request.headers);
			if (!basic) {
				throw this.loginRefusal(
					'MALFORMED_AUTHORIZATION',
					'Invalid Authorization header',
					'The consumer application key must be sent with HTTP Basic authentication, as the username',
				);
			}
			if (basic.password !== '') {
				throw this.loginRefusal(
					'NON_EMPTY_PASSWORD',
					'The basic auth password must be left empty',
					'The consumer application key is the basic auth username; the password must be empty',
				);
			}
			if (basic.user !== '') key = basic.user;
		}
		if (key !== undefined && !s.consumerKeys.includes(key)) {
			throw this.loginRefusal(
				'INVALID_CONSUMER_APPLICATION_KEY',
				'Invalid consumer application key',
				'The consumer application key is not registered or is not active',
			);
		}

		// The mode.
		const hasJwt = body.jwt !== undefined;
		const hasAti = body.access_token_identifier !== undefined;
		if (hasJwt && !r16) {
			throw this.loginRefusal(
				'JWT_NOT_SUPPORTED',
				'jwt is not supported',
				'jwt is available from CRM.COM R16.2.0',
			);
		}
		if (hasJwt && hasAti) {
			throw this.loginRefusal(
				'MIXED_AUTHENTICATION_MODES',
				'Only one of access_token_identifier or jwt can be specified',
				'If jwt is specified, only the organisation should be provided',
			);
		}
		if (!hasJwt && !hasAti) {
			throw this.loginRefusal(
				'MISSING_AUTHENTICATION_PARAMETERS',
				r16
					? 'access_token_identifier or jwt is mandatory'
					: 'access_token_identifier is mandatory',
			);
		}
		if (!hasJwt && body.organisation !== undefined) {
			throw this.loginRefusal(
				'ORGANISATION_NOT_APPLICABLE',
				'organisation is applicable only when jwt is specified',
			);
		}

		let user: string;
		let unit: string | undefined;
		let organisation = s.organisations[0] ?? 'fake_org';
		if (hasAti) {
			const ati = this.readAccessTokenIdentifier(body.access_token_identifier);
			const keyRequired = !r16 || ati.identifier !== undefined;
			if (keyRequired && key === undefined) {
				throw this.loginRefusal(
					'MISSING_CONSUMER_APPLICATION_KEY',
					'The consumer application key is mandatory',
					r16
						? 'The consumer application key is mandatory when identifier and pass_code are provided'
						: 'The consumer application key is mandatory (as the HTTP Basic username)',
				);
			}
			if (ati.authenticationCode !== undefined) {
				const code = Object.prototype.hasOwnProperty.call(
					s.authenticationCodes,
					ati.authenticationCode,
				)
					? s.authenticationCodes[ati.authenticationCode]
					: undefined;
				if (!code) {
					throw this.loginRefusal(
						'UNKNOWN_AUTHENTICATION_CODE',
						'Access token not found',
						'No effective access token has the specified authentication code',
					);
				}
				user = `code:${ati.authenticationCode}`;
				unit = code.unit;
			} else {
				const identifier = ati.identifier as string;
				if (ati.passCode === undefined) {
					throw this.loginRefusal(
						'MISSING_PASS_CODE',
						'pass_code is mandatory when identifier is specified',
					);
				}
				const entry = Object.prototype.hasOwnProperty.call(s.identifiers, identifier)
					? s.identifiers[identifier]
					: undefined;
				if (!entry) {
					throw this.loginRefusal(
						'UNKNOWN_IDENTIFIER',
						'Access token not found',
						'No effective access token has the specified identifier',
					);
				}
				if (!safeEqual(entry.passCode, ati.passCode)) {
					throw this.loginRefusal(
						'INVALID_PASS_CODE',
						'Invalid pass code',
						'The pass code does not match the access token identifier',
					);
				}
				user = identifier;
			}
		} else {
			if (typeof body.jwt !== 'string' || body.jwt === '') {
				throw this.loginRefusal(
					'INVALID_JWT',
					'The jwt is invalid',
					'jwt must be a non-empty string',
				);
			}
			if (
				body.organisation === undefined ||
				body.organisation === null ||
				body.organisation === ''
			) {
				throw this.loginRefusal(
					'ORGANISATION_MANDATORY',
					'organisation is mandatory when jwt is specified',
				);
			}
			const claims = this.verifyIdentityJwt(body.jwt);
			if (typeof body.organisation !== 'string' || !s.organisations.includes(body.organisation)) {
				throw this.loginRefusal(
					'UNKNOWN_ORGANISATION',
					'Organisation not found',
					'The specified organisation does not exist',
				);
			}
			organisation = body.organisation;
			user = typeof claims.sub === 'string' ? claims.sub : 'identity-user';
		}

		if (body.unit !== undefined) {
			if (typeof body.unit !== 'string' || !s.units.includes(body.unit)) {
				throw this.loginRefusal(
					'UNKNOWN_UNIT',
					'Unit not found',
					'The specified unit does not exist or the user cannot log in to it',
				);
			}
			unit = body.unit;
		}
		unit ??= s.units[0] ?? '1';
		if (!s.units.includes(unit)) {
			throw this.loginRefusal(
				'UNKNOWN_UNIT',
				'Unit not found',
				'The default unit of the access token does not exist',
			);
		}
		return this.issueToken({ user, organisation, unit, key });
	}

	private readAccessTokenIdentifier(value: unknown): {
		authenticationCode?: string;
		identifier?: string;
		passCode?: string;
	} {
		const invalid = (message: string): Refusal =>
			this.loginRefusal('INVALID_ACCESS_TOKEN_IDENTIFIER', message);
		if (!isPlainObject(value)) throw invalid('access_token_identifier must be an object');
		for (const [name, field] of Object.entries(value)) {
			if (!['authentication_code', 'identifier', 'pass_code'].includes(name)) {
				throw invalid(`Unknown access token identifier field: ${name}`);
			}
			if (typeof field !== 'string' || field === '')
				throw invalid(`${name} must be a non-empty string`);
		}
		const authenticationCode = value.authentication_code as string | undefined;
		const identifier = value.identifier as string | undefined;
		const passCode = value.pass_code as string | undefined;
		if (authenticationCode !== undefined && identifier !== undefined) {
			throw this.loginRefusal(
				'MIXED_AUTHENTICATION_MODES',
				'Only one of authentication_code or identifier can be specified',
			);
		}
		if (authenticationCode === undefined && identifier === undefined) {
			throw invalid('authentication_code or identifier is mandatory');
		}
		if (authenticationCode !== undefined && passCode !== undefined) {
			throw invalid('pass_code is applicable only when identifier is specified');
		}
		return { authenticationCode, identifier, passCode };
	}

	private verifyIdentityJwt(token: string): Record<string, unknown> {
		const invalid = (why: string): Refusal =>
			this.loginRefusal('INVALID_JWT', 'The jwt is invalid', why);
		const secret = this.settings.identityJwtSecret;
		const parts = token.split('.');
		if (parts.length !== 3) throw invalid('Malformed jwt');
		let header: unknown;
		let payload: unknown;
		try {
			header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
			payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
		} catch {
			throw invalid('Malformed jwt');
		}
		if (!isPlainObject(header) || !isPlainObject(payload)) throw invalid('Malformed jwt');
		if (header.alg !== 'HS256') throw invalid('Unsupported jwt algorithm');
		if (secret === undefined) throw invalid('No identity system is configured');
		const expected = createHmac('sha256', secret)
			.update(`${parts[0]}.${parts[1]}`)
			.digest('base64url');
		if (!safeEqual(expected, parts[2])) throw invalid('Invalid jwt signature');
		if (payload.exp !== undefined) {
			const exp =
				typeof payload.exp === 'string' && /^\d+$/.test(payload.exp)
					? Number(payload.exp)
					: payload.exp;
			if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('Invalid exp claim');
			if (exp <= this.nowSec()) throw this.loginRefusal('JWT_EXPIRED', 'The jwt has expired');
		}
		return payload;
	}

	private issueToken(who: {
		user: string;
		organisation: string;
		unit: string;
		key?: string;
	}): string {
		const iat = this.nowSec();
		const exp = iat + this.settings.tokenLifetimeSec;
		// Claim order and string exp/iat as in the vendor's example.
		const claims = {
			cii: crmId(`consumer:${who.key ?? 'none'}`),
			usr: who.user,
			org: who.organisation,
			ari: crmId(`access-token:${who.user}`),
			oun: who.unit,
			exp: String(exp),
			iat: String(iat),
			jti: randomBytes(16).toString('hex').toUpperCase(),
		};
		const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
		const payload = base64url(JSON.stringify(claims));
		const signature = createHmac('sha256', this.secret)
			.update(`${header}.${payload}`)
			.digest('base64url');
		const token = `${header}.${payload}.${signature}`;
		this.tokens.set(token, {
			expSec: exp,
			forcedExpired: false,
			user: who.user,
			organisation: who.organisation,
			unit: who.unit,
		});
		return token;
	}

	// ---- protected methods ----------------------------------------------------------------------

	private route(
		path: string,
	): { method: 'GET' | 'POST'; run: (params: Params, request: FakeRequest) => void | Promise<void> } | undefined {
		switch (path) {
			case CRMCOM_PATHS.contactShow:
				return { method: 'GET', run: (p, r) => this.contactShow(p, r) };
			case CRMCOM_PATHS.contactList:
				if (this.settings.contactListMethod !== 'present') return undefined;
				return { method: 'GET', run: (p, r) => this.contactList(p, r) };
			case CRMCOM_PATHS.contactUpdate:
				return { method: 'POST', run: (p, r) => this.contactUpdate(p, r) };
			case CRMCOM_PATHS.contactCreate:
				return { method: 'POST', run: (p, r) => this.contactCreate(p, r) };
			case CRMCOM_PATHS.accountShow:
				return { method: 'GET', run: (p, r) => this.accountShow(p, r) };
			case CRMCOM_PATHS.groupMembers:
				return { method: 'GET', run: (p, r) => this.groupMembers(p, r) };
			case CRMCOM_PATHS.jobsList:
				return { method: 'GET', run: (p, r) => this.jobsList(p, r) };
			case CRMCOM_PATHS.jobShow:
				return { method: 'GET', run: (p, r) => this.jobShow(p, r) };
			default:
				return undefined;
		}
	}

	private recordViolation(request: FakeRequest, where: PlacementWhere, detail: string): void {
		this.counts.placementViolations++;
		this.counts.placementViolationsBy[where]++;
		this.placementLog.push({
			method: request.method,
			path: request.path,
			where,
			detail,
			at: this.now(),
		});
	}

	/** Misplaced token carriers: any Authorization header, token-ish headers, issued tokens. */
	private findViolations(
		request: FakeRequest,
		body: Record<string, unknown> | undefined,
	): Array<[PlacementWhere, string]> {
		const found: Array<[PlacementWhere, string]> = [];
		for (const [name, raw] of Object.entries(request.headers)) {
			const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
			if (name === 'authorization' || TOKEN_HEADER_NAMES.includes(name)) {
				found.push(['header', `${name} header`]);
				continue;
			}
			if (values.some((v) => this.looksLikeIssued(v))) found.push(['header', `${name} header`]);
		}
		for (const [name, raw] of Object.entries(request.query)) {
			if (request.method === 'GET' && name === 'token') continue;
			const values = Array.isArray(raw) ? raw : [raw];
			if (name === 'token' || values.some((v) => this.looksLikeIssued(v))) {
				found.push(['query', `query parameter ${name}`]);
			}
		}
		if (request.method === 'GET' && request.rawBody.trim() !== '') {
			let tokenInBody = false;
			try {
				const parsed: unknown = JSON.parse(request.rawBody);
				tokenInBody = isPlainObject(parsed) && 'token' in parsed;
			} catch {
				tokenInBody = new URLSearchParams(request.rawBody).has('token');
			}
			if (tokenInBody || [...this.tokens.keys()].some((t) => request.rawBody.includes(t))) {
				found.push(['body', 'token in the body of a GET']);
			}
		}
		if (body) {
			for (const [name, value] of Object.entries(body)) {
				if (name !== 'token' && typeof value === 'string' && this.looksLikeIssued(value)) {
					found.push(['body', `body field ${name}`]);
				}
			}
		}
		return found;
	}

	private looksLikeIssued(value: string): boolean {
		const trimmed = value.trim();
		return this.tokens.has(trimmed) || this.tokens.has(trimmed.replace(/^\S+\s+/, ''));
	}

	/** The token check of every protected method; undefined when the request was refused. */
	private authorise(request: FakeRequest): Params | undefined {
		let body: Record<string, unknown> | undefined;
		if (request.method === 'POST') body = readJsonBody(request);
		this.counts.protectedRequests++;
		const s = this.settings;
		const violations = this.findViolations(request, body);
		for (const [where, detail] of violations) this.recordViolation(request, where, detail);

		let token: unknown;
		if (violations.length === 0)
			token = request.method === 'GET' ? request.query.token : body?.token;
		const refuse = (
			kind: keyof CrmComTokenFailureCodes,
			message: string,
			description: string,
		): undefined => {
			const code = s.tokenFailureCodes[kind];
			this.counts.protectedRefused++;
			bump(this.counts.protectedRefusals, code);
			json(
				request.res,
				s.authFailureMode === 'http401' ? 401 : s.authFailureMode === 'http403' ? 403 : 200,
				crmEnvelope(null, code, message, description),
			);
			return undefined;
		};
		if (token === undefined || token === '') {
			return refuse(
				'missing',
				'token is mandatory',
				request.method === 'GET'
					? 'Send the token as the token query parameter'
					: 'Send the token as the token field of the JSON body',
			);
		}
		const record = typeof token === 'string' ? this.tokens.get(token) : undefined;
		if (!record) return refuse('invalid', 'Invalid token', 'The authentication token is not valid');
		if (record.forcedExpired || this.nowSec() >= record.expSec) {
			return refuse(
				'expired',
				'Token expired',
				'The authentication token has expired; log in again',
			);
		}
		this.counts.protectedOk++;
		if (this.expireAfter !== undefined) {
			this.expireAfter--;
			if (this.expireAfter <= 0) this.expireTokens();
		}
		return new Params(request.query, body);
	}

	private ok(request: FakeRequest, data: unknown, extra: Record<string, unknown> = {}): void {
		json(request.res, 200, { ...crmEnvelope(data), ...extra });
	}

	private findContact(field: string, value: string): CrmComContact | undefined {
		return this.contacts.find((c) => contactMatches(c, field, value));
	}

	private contactShow(params: Params, request: FakeRequest): void {
		const [field, value] = params.identifier('contact_information_identifier', CONTACT_FIELDS);
		const contact = this.findContact(field, value);
		if (!contact) {
			if (this.settings.notFoundShape === 'okEmpty') return this.ok(request, null);
			const refusal = notFound('Contact information');
			if (this.settings.notFoundShape === 'http404') throw new Refusal(404, refusal.code, refusal.message, refusal.description);
			throw refusal;
		}
		this.ok(request, params.trim(contact));
	}

	/**
	 * contact_information/list: offset paging, optional exact-match filters `phone`, `email`,
	 * `name` (all given filters must match). A raw `+` in a query decodes as a space, so an
	 * unencoded phone number finds nothing, as with show.
	 */
	private contactList(params: Params, request: FakeRequest): void {
		const filters: Array<[(typeof CONTACT_LIST_FILTERS)[number], string]> = [];
		for (const name of CONTACT_LIST_FILTERS) {
			const value = params.single(name);
			if (value !== undefined) filters.push([name, value]);
		}
		const { limit, offset } = params.paging(this.settings.pageCap);
		const matches = filters.length
			? this.contacts.filter((c) => filters.every(([name, value]) => contactMatches(c, name, value)))
			: this.contacts;
		this.list(request, params, matches, limit, offset);
	}

	/**
	 * The fields of a create or update body, checked: only writable fields and udf_* (up to
	 * CRMCOM_UDF_COUNT), strings (udf_float: JSON numbers; udf_date: ISO dates), `null` clears
	 * (refused for first and last names of an update, which CRM.COM keeps mandatory).
	 */
	private writeChanges(body: Record<string, unknown>, update: boolean): Record<string, string | number | null> {
		const changes: Record<string, string | number | null> = {};
		for (const [name, raw] of Object.entries(body)) {
			if (name === 'token' || name === 'contact_information_identifier') continue;
			if (!update && name === 'type') continue;
			if (name === 'phones_set' || name === 'emails_set') continue; // checked by setChanges
			const udf = UDF_FIELD.exec(name);
			if (udf) {
				if (Number(udf[2]) > CRMCOM_UDF_COUNT) throw invalidParameter(`Unknown user-defined field: ${name}`);
				if (raw !== null) {
					if (udf[1] === 'float' && (typeof raw !== 'number' || !Number.isFinite(raw))) throw invalidParameter(`${name} must be a number`);
					if (udf[1] === 'string' && typeof raw !== 'string') throw invalidParameter(`${name} must be a string`);
					if (udf[1] === 'date' && (typeof raw !== 'string' || !isIsoDate(raw))) throw invalidParameter(`${name} must be a date (ISO 8601)`);
				}
				changes[name] = raw as string | number | null;
				continue;
			}
			if (!(WRITABLE_CONTACT_FIELDS as readonly string[]).includes(name)) throw unknownParameter(name);
			if (raw !== null && typeof raw !== 'string') throw invalidParameter(`${name} must be a string`);
			if (raw === null && update && (name === 'first_name' || name === 'last_name')) throw invalidParameter(`${name} cannot be null`);
			changes[name] = raw as string | null;
		}
		return changes;
	}

	/**
	 * `phones_set` / `emails_set` of a create or update, checked as CRM.COM's phone_update_parameters
	 * describe them (action ADD / UPDATE / REMOVE; type and number mandatory on ADD; an identifier
	 * for UPDATE / REMOVE naming an entry of this contact; no other keys) and applied to a copy of
	 * the contact's lists, which the caller stores once the whole write is accepted.
	 */
	private setChanges(body: Record<string, unknown>, contact: CrmComContact | undefined, ref: string): { phones: CrmComPhone[]; emails: CrmComEmail[] } {
		const phones = structuredClone(contact?.phones ?? []);
		const emails = structuredClone(contact?.emails ?? []);
		const listOf = (name: string): Array<Record<string, unknown>> => {
			const raw = body[name];
			if (raw === undefined) return [];
			if (!Array.isArray(raw)) throw invalidParameter(`${name} must be a list of objects`);
			return raw.map((entry, i) => {
				if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalidParameter(`${name}[${i}] must be an object`);
				return entry as Record<string, unknown>;
			});
		};
		const action = (name: string, i: number, entry: Record<string, unknown>): 'ADD' | 'UPDATE' | 'REMOVE' => {
			if (entry.action === undefined) throw missingParameter(`${name}[${i}].action`);
			if (entry.action !== 'ADD' && entry.action !== 'UPDATE' && entry.action !== 'REMOVE') throw invalidParameter(`${name}[${i}].action must be ADD, UPDATE or REMOVE`);
			return entry.action;
		};
		listOf('phones_set').forEach((entry, i) => {
			const at = `phones_set[${i}]`;
			for (const key of Object.keys(entry)) if (!PHONE_KEYS.includes(key)) throw unknownParameter(`${at}.${key}`);
			const act = action('phones_set', i, entry);
			if (entry.type !== undefined && !(CRMCOM_PHONE_TYPES as readonly unknown[]).includes(entry.type)) throw invalidParameter(`${at}.type must be one of ${CRMCOM_PHONE_TYPES.join(', ')}`);
			if (entry.number !== undefined && (typeof entry.number !== 'string' || !/^\+?\d{6,15}$/.test(entry.number))) throw invalidParameter(`${at}.number is not a valid phone number`);
			for (const key of ['area_code', 'country_identifier', 'notes']) if (entry[key] !== undefined && typeof entry[key] !== 'string') throw invalidParameter(`${at}.${key} must be a string`);
			if (act === 'ADD') {
				if (entry.phone_identifier !== undefined) throw invalidParameter(`${at}.phone_identifier is not applicable to ADD`);
				if (entry.type === undefined) throw missingParameter(`${at}.type`);
				if (entry.number === undefined) throw missingParameter(`${at}.number`);
				if (phones.some((p) => p.number === entry.number)) throw invalidParameter(`${at}: the phone number ${String(entry.number)} is already on the contact`);
				const { action: _a, ...phone } = entry;
				phones.push({ ...(phone as Omit<CrmComPhone, 'phone_identifier'>), phone_identifier: crmId(`phone:${ref}:${phones.length + 1}:${String(entry.number)}`) });
				return;
			}
			if (typeof entry.phone_identifier !== 'string') throw missingParameter(`${at}.phone_identifier`);
			const k = phones.findIndex((p) => p.phone_identifier === entry.phone_identifier);
			if (k < 0) throw invalidParameter(`${at}.phone_identifier names no phone of this contact`);
			if (act === 'REMOVE') phones.splice(k, 1);
			else Object.assign(phones[k], Object.fromEntries(Object.entries(entry).filter(([key]) => key !== 'action')));
		});
		listOf('emails_set').forEach((entry, i) => {
			const at = `emails_set[${i}]`;
			for (const key of Object.keys(entry)) if (!EMAIL_KEYS.includes(key)) throw unknownParameter(`${at}.${key}`);
			const act = action('emails_set', i, entry);
			if (entry.type !== undefined && !(CRMCOM_EMAIL_TYPES as readonly unknown[]).includes(entry.type)) throw invalidParameter(`${at}.type must be one of ${CRMCOM_EMAIL_TYPES.join(', ')}`);
			if (entry.email_address !== undefined && (typeof entry.email_address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(entry.email_address))) throw invalidParameter(`${at}.email_address is not a valid email address`);
			if (act === 'ADD') {
				if (entry.email_identifier !== undefined) throw invalidParameter(`${at}.email_identifier is not applicable to ADD`);
				if (entry.type === undefined) throw missingParameter(`${at}.type`);
				if (entry.email_address === undefined) throw missingParameter(`${at}.email_address`);
				const address = String(entry.email_address).toLowerCase();
				if (emails.some((e) => e.email_address.toLowerCase() === address)) throw invalidParameter(`${at}: the e-mail address ${String(entry.email_address)} is already on the contact`);
				emails.push({ email_identifier: crmId(`email:${ref}:${emails.length + 1}:${address}`), type: entry.type as CrmComEmailType, email_address: String(entry.email_address) });
				return;
			}
			if (typeof entry.email_identifier !== 'string') throw missingParameter(`${at}.email_identifier`);
			const k = emails.findIndex((e) => e.email_identifier === entry.email_identifier);
			if (k < 0) throw invalidParameter(`${at}.email_identifier names no e-mail of this contact`);
			if (act === 'REMOVE') emails.splice(k, 1);
			else Object.assign(emails[k], Object.fromEntries(Object.entries(entry).filter(([key]) => key !== 'action')));
		});
		return { phones, emails };
	}

	/**
	 * Before a checked write is applied: wait the delay given for the k-th write (`writeDelaysMs`),
	 * then let `refuseWrite` refuse it for its own data.
	 */
	private async writeArrives(body: Record<string, unknown>, kind: 'create' | 'update'): Promise<void> {
		const delay = this.writeDelays[this.writesArrived++] ?? 0;
		if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
		const refusal = this.refuseWrite?.(body, kind);
		if (refusal) {
			this.counts.writeRefusals++;
			throw new Refusal(200, refusal.code, refusal.message, refusal.description ?? refusal.message);
		}
	}

	/** After a checked write: refuse it (writeFailure), or count it and answer (or drop). */
	private writeGate(): void {
		const mode = this.settings.writeFailure;
		if (mode === 'off') return;
		this.counts.writeFailures++;
		if (mode === 'http500') throw new Refusal(500, 'INTERNAL_ERROR', 'Internal server error');
		throw new Refusal(200, 'SAVE_FAILED', 'The contact information could not be saved', 'Try again later');
	}

	private wrote(request: FakeRequest, contact: CrmComContact, kind: 'create' | 'update', body: Record<string, unknown>): void {
		const { token: _token, ...logged } = body;
		this.writeLog.push({ seq: this.writeLog.length + 1, kind, contact: contact.number, body: structuredClone(logged), at: this.now() });
		this.counts.contactWrites++;
		if (kind === 'create') this.counts.contactCreates++;
		else this.counts.contactUpdates++;
		bump(this.counts.writesByContact, contact.number);
		if (this.dropAfterWrite > 0) {
			this.dropAfterWrite--;
			request.res.socket?.destroy();
			return;
		}
		this.ok(request, { ...contact });
	}

	private async contactUpdate(params: Params, request: FakeRequest): Promise<void> {
		const body = params.body ?? {};
		const [field, value] = params.bodyIdentifier('contact_information_identifier', CONTACT_FIELDS);
		const changes = this.writeChanges(body, true);
		if (!this.findContact(field, value)) throw notFound('Contact information');
		await this.writeArrives(body, 'update');
		// Looked up again after the wait: what the write applies to is the contact as it is now.
		const contact = this.findContact(field, value);
		if (!contact) throw notFound('Contact information');
		const sets = this.setChanges(body, contact, contact.number);
		this.writeGate();
		for (const [name, change] of Object.entries(changes)) (contact as unknown as Record<string, unknown>)[name] = change;
		applySets(contact, sets, body);
		contact.name = contactName(contact);
		for (const account of this.accounts) {
			if (account.contact_information?.id === contact.id) {
				account.contact_information = {
					id: contact.id,
					number: contact.number,
					name: contact.name,
				};
			}
		}
		this.wrote(request, contact, 'update', body);
	}

	private async contactCreate(params: Params, request: FakeRequest): Promise<void> {
		const body = params.body ?? {};
		if (body.contact_information_identifier !== undefined) {
			throw invalidParameter('contact_information_identifier is not applicable to create');
		}
		const type = body.type ?? 'PERSON';
		if (type !== 'PERSON' && type !== 'COMPANY') throw invalidParameter('type must be PERSON or COMPANY');
		const changes = this.writeChanges(body, false);
		if (type === 'PERSON' && (typeof changes.last_name !== 'string' || changes.last_name === '')) {
			throw missingParameter('last_name');
		}
		if (type === 'COMPANY' && (typeof changes.company_name !== 'string' || changes.company_name === '')) {
			throw missingParameter('company_name');
		}
		const checked = this.setChanges(body, undefined, 'new');
		if (checked.phones.some((p) => this.findContact('phone', p.number))) {
			// Not refused: CRM.COM does not document phone numbers as unique. Counted, so tests can see a duplicate.
			this.counts.duplicatePhoneCreates++;
		}
		await this.writeArrives(body, 'create');
		this.writeGate();
		const n = this.contacts.length + 1;
		const contact: CrmComContact = {
			id: crmId(`contact:${n}`),
			number: `CI${pad(n)}`,
			type,
			first_name: null,
			last_name: null,
			name: '',
			life_cycle_state: 'FINANCIAL',
			email: null,
			phone: null,
			phones: [],
			emails: [],
			notes: null,
		};
		for (const [name, change] of Object.entries(changes)) (contact as unknown as Record<string, unknown>)[name] = change;
		applySets(contact, this.setChanges(body, undefined, `CI${pad(n)}`), body);
		contact.name = contactName(contact);
		this.contacts.push(contact);
		this.wrote(request, contact, 'create', body);
	}

	private findAccount(field: string, value: string): CrmComAccount | undefined {
		return this.accounts.find((a) => a[field as (typeof ACCOUNT_FIELDS)[number]] === value);
	}

	private accountShow(params: Params, request: FakeRequest): void {
		const [field, value] = params.identifier('accounts_receivable_identifier', ACCOUNT_FIELDS);
		const account = this.findAccount(field, value);
		if (!account) throw notFound('Accounts receivable');
		const { funding_scope: _ignored, ...plain } = account;
		this.ok(request, params.trim(plain));
	}

	private groupMembers(params: Params, request: FakeRequest): void {
		const [field, value] = params.identifier('accounts_receivable_identifier', ACCOUNT_FIELDS);
		const scope = params.single('funding_scope');
		if (scope !== undefined && scope !== 'FULLY_FUNDED' && scope !== 'PARTIALLY_FUNDED') {
			throw invalidParameter('funding_scope must be FULLY_FUNDED or PARTIALLY_FUNDED');
		}
		const { limit, offset } = params.paging(this.settings.pageCap);
		const account = this.findAccount(field, value);
		if (!account) throw notFound('Accounts receivable');
		let members = this.groups.get(account.number) ?? [];
		if (scope !== undefined) members = members.filter((m) => m.funding_scope === scope);
		this.list(request, params, members, limit, offset);
	}

	private jobsList(params: Params, request: FakeRequest): void {
		const { limit, offset } = params.paging(this.settings.pageCap);
		this.list(request, params, this.jobs, limit, offset);
	}

	private jobShow(params: Params, request: FakeRequest): void {
		const [field, value] = params.identifier('job_identifier', ['id', 'number'] as const);
		const job = this.jobs.find((j) => j[field as 'id' | 'number'] === value);
		if (!job) throw notFound('Job');
		this.ok(request, params.trim(job));
	}

	private list(
		request: FakeRequest,
		params: Params,
		all: readonly object[],
		limit: number,
		offset: number,
	): void {
		const page = all.slice(offset, offset + limit).map((item) => params.trim(item));
		this.ok(request, page, this.settings.includeTotal ? { total_records: all.length } : {});
	}

	// ---- control plane --------------------------------------------------------------------------

	private state(): Record<string, unknown> {
		const s = this.settings;
		return {
			counters: this.counters,
			latencyMs: this.latencyMs,
			pendingFaults: this.pendingFaults,
			issuedTokens: this.tokens.size,
			requestsLogged: this.requests.length,
			placementLog: this.placementLog,
			settings: {
				release: s.release,
				authFailureMode: s.authFailureMode,
				loginErrorHttpStatus: s.loginErrorHttpStatus,
				tokenLifetimeSec: s.tokenLifetimeSec,
				includeTotal: s.includeTotal,
				contactListMethod: s.contactListMethod,
				notFoundShape: s.notFoundShape,
				writeFailure: s.writeFailure,
			},
		};
	}

	private handleControl(request: FakeRequest): void {
		const { res, method, path } = request;
		if (path === CRMCOM_PATHS.state && method === 'GET') {
			json(res, 200, this.state());
			return;
		}
		if (path !== CRMCOM_PATHS.control || method !== 'POST') {
			json(res, 404, { message: 'Unknown control route' });
			return;
		}
		const parsed = readJsonObject(request);
		if (!parsed.ok) {
			json(res, 400, { message: 'Control body must be a JSON object' });
			return;
		}
		const b = parsed.value;
		const bad = (message: string): void => json(res, 400, { message });
		switch (b.action) {
			case 'expireTokens':
				this.expireTokens();
				break;
			case 'expireTokensAfter':
				if (typeof b.n !== 'number' || !Number.isInteger(b.n) || b.n < 0)
					return bad('n must be an integer >= 0');
				this.expireTokensAfter(b.n);
				break;
			case 'reset':
				this.reset();
				break;
			case 'pageCap':
				if (b.n !== null && (typeof b.n !== 'number' || !Number.isInteger(b.n) || b.n < 1))
					return bad('n must be an integer >= 1, or null');
				this.settings.pageCap = b.n ?? undefined;
				break;
			case 'authFailureMode':
				if (b.mode !== 'envelope200' && b.mode !== 'http401' && b.mode !== 'http403')
					return bad('mode must be envelope200, http401 or http403');
				this.settings.authFailureMode = b.mode;
				break;
			case 'writeFailure':
				if (b.mode !== 'off' && b.mode !== 'envelope' && b.mode !== 'http500')
					return bad('mode must be off, envelope or http500');
				this.settings.writeFailure = b.mode;
				break;
			case 'dropAfterWrites':
				if (typeof b.n !== 'number' || !Number.isInteger(b.n) || b.n < 0)
					return bad('n must be an integer >= 0');
				this.dropAfterWrites(b.n);
				break;
			case 'contactListMethod':
				if (b.mode !== 'present' && b.mode !== 'http404' && b.mode !== 'envelope200')
					return bad('mode must be present, http404 or envelope200');
				this.settings.contactListMethod = b.mode;
				break;
			case 'notFoundShape':
				if (b.shape !== 'envelope200' && b.shape !== 'http404' && b.shape !== 'okEmpty')
					return bad('shape must be envelope200, http404 or okEmpty');
				this.settings.notFoundShape = b.shape;
				break;
			default: {
				const handled = this.commonControl(b);
				if (handled !== true) return bad(handled === false ? 'Unknown action' : handled);
			}
		}
		json(res, 200, { ok: true, ...this.state() });
	}
}

/** A calendar-exact ISO 8601 date or date-time (2024-02-31 is not one). */
function isIsoDate(text: string): boolean {
	const match = ISO_DATE.exec(text);
	if (!match) return false;
	const [, y, m, d, hh, mm, ss] = match;
	const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
	if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() + 1 !== Number(m) || date.getUTCDate() !== Number(d)) return false;
	return hh === undefined || (Number(hh) < 24 && Number(mm) < 60 && (ss === undefined || Number(ss) < 60));
}

function contactName(contact: CrmComContact): string {
	if (contact.type === 'COMPANY') return contact.company_name ?? '';
	return [contact.first_name, contact.last_name].filter((part) => typeof part === 'string' && part !== '').join(' ');
}

function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

/** A JSON object body, or a 400 envelope (INVALID_CONTENT_TYPE / INVALID_JSON). */
function readJsonBody(request: FakeRequest): Record<string, unknown> {
	const body = readJsonObject(request);
	if (body.ok) return body.value;
	if (body.reason === 'content-type') {
		throw new Refusal(400, 'INVALID_CONTENT_TYPE', 'Content-Type must be application/json');
	}
	throw new Refusal(400, 'INVALID_JSON', 'The request body must be a JSON object');
}

const notFound = (entity: string): Refusal =>
	new Refusal(
		200,
		'NOT_FOUND',
		`${entity} not found`,
		`No ${entity.toLowerCase()} matches the specified identifier`,
	);
const invalidParameter = (message: string): Refusal =>
	new Refusal(200, 'INVALID_PARAMETER', message);
/** A parameter the Web API does not know (e.g. a top-level `phone`): CRM.COM's E_INVALID_PARAMETER. */
const unknownParameter = (name: string): Refusal =>
	new Refusal(200, 'E_INVALID_PARAMETER', `Unknown parameter: ${name}`, `${name} is not a parameter of this Web API method`);

const PHONE_KEYS = ['action', 'phone_identifier', 'type', 'number', 'area_code', 'country_identifier', 'notes'];
const EMAIL_KEYS = ['action', 'email_identifier', 'type', 'email_address'];

/** Show / list by `phone` or `email` match any of the contact's phones or e-mails. */
function contactMatches(contact: CrmComContact, field: string, value: string): boolean {
	if (field === 'phone') return contact.phone === value || contact.phones.some((p) => p.number === value);
	if (field === 'email') return contact.email === value || contact.emails.some((e) => e.email_address === value);
	return (contact as unknown as Record<string, unknown>)[field] === value;
}

/** Stores checked phone / e-mail lists on a contact; `phone` / `email` follow the first entries. */
function applySets(contact: CrmComContact, sets: { phones: CrmComPhone[]; emails: CrmComEmail[] }, body: Record<string, unknown>): void {
	if (body.phones_set !== undefined) {
		contact.phones = sets.phones;
		contact.phone = sets.phones[0]?.number ?? null;
	}
	if (body.emails_set !== undefined) {
		contact.emails = sets.emails;
		contact.email = sets.emails[0]?.email_address ?? null;
	}
}
const missingParameter = (name: string): Refusal =>
	new Refusal(200, 'MANDATORY_PARAMETER_MISSING', `${name} is mandatory`);

/** Parameters of an authorised request (query for GET, JSON body for POST). */
class Params {
	constructor(
		readonly query: Query,
		readonly body: Record<string, unknown> | undefined,
	) {}

	single(name: string): string | undefined {
		const value = this.query[name];
		if (Array.isArray(value)) throw invalidParameter(`${name} can be specified only once`);
		return value;
	}

	/** `field=value` from the query (e.g. `number=CI000111`). */
	identifier<F extends string>(name: string, fields: readonly F[]): [F, string] {
		const raw = this.single(name);
		if (raw === undefined || raw === '') throw missingParameter(name);
		const eq = raw.indexOf('=');
		const field = eq < 0 ? '' : raw.slice(0, eq);
		const value = eq < 0 ? '' : raw.slice(eq + 1);
		if (!(fields as readonly string[]).includes(field) || value === '') {
			throw invalidParameter(
				`${name} must be one of ${fields.map((f) => `${f}=<value>`).join(', ')}`,
			);
		}
		return [field as F, value];
	}

	/** `{field: value}` with exactly one field, from the JSON body. */
	bodyIdentifier<F extends string>(name: string, fields: readonly F[]): [F, string] {
		const raw = this.body?.[name];
		if (raw === undefined || raw === null) throw missingParameter(name);
		const entries = isPlainObject(raw) ? Object.entries(raw) : [];
		const [field, value] = entries[0] ?? [];
		if (
			entries.length !== 1 ||
			!(fields as readonly string[]).includes(field as string) ||
			typeof value !== 'string' ||
			value === ''
		) {
			throw invalidParameter(`${name} must be an object with exactly one of ${fields.join(', ')}`);
		}
		return [field as F, value];
	}

	paging(cap?: number): { limit: number; offset: number } {
		const count = this.single('number_of_results');
		const offsetRaw = this.single('offset');
		let limit = CRMCOM_DEFAULT_PAGE_SIZE;
		if (count !== undefined) {
			if (!/^\d+$/.test(count) || Number(count) < 1) {
				throw invalidParameter('number_of_results must be a positive integer');
			}
			limit = Number(count);
			if (limit > CRMCOM_MAX_PAGE_SIZE) {
				throw new Refusal(
					200,
					'NUMBER_OF_RESULTS_EXCEEDED',
					`number_of_results cannot exceed ${CRMCOM_MAX_PAGE_SIZE}`,
				);
			}
		}
		let offset = 0;
		if (offsetRaw !== undefined) {
			if (!/^\d+$/.test(offsetRaw)) throw invalidParameter('offset must be an integer >= 0');
			offset = Number(offsetRaw);
		}
		return { limit: cap === undefined ? limit : Math.min(limit, cap), offset };
	}

	/** Keep only the `fields_set` fields (all when absent). */
	trim<T extends object>(item: T): Partial<T> {
		const raw = this.single('fields_set');
		if (raw === undefined || raw.trim() === '') return { ...item };
		const keep = new Set(raw.split(',').map((f) => f.trim()));
		return Object.fromEntries(Object.entries(item).filter(([k]) => keep.has(k))) as Partial<T>;
	}
}

/** Start a fake CRM.COM on 127.0.0.1 (port 0 unless `options.port`). */
export async function startFakeCrmCom(options: FakeCrmComOptions): Promise<FakeCrmCom> {
	return new FakeCrmCom(options).listen(options.port ?? 0);
}
