/**
 * The Virtual PBX Trigger's event subscriptions at the PBX: listing them, recognising this
 * trigger's own (by the webhook URL carrying its secret), deleting them, rolling back a failed
 * activation, and the subscription-cap refusal (its message, and when a remembered one would
 * come again).
 */
import type { IDataObject, IHookFunctions } from 'n8n-workflow';

import type { VendorResponse } from '../../shared/client';
import { vendorMessage } from '../../shared/errors';
import { API_PREFIX } from '../auth';
import type { PbxClient } from '../transport';

export interface Subscription {
	extensionId: string;
	id: string;
	eventType: string;
}

/**
 * A subscription-cap refusal, remembered in the node's static data: what the PBX answered, and
 * each extension's subscription count and this trigger's needs when it did.
 */
export interface CapRefusal extends IDataObject {
	/** Epoch milliseconds. */
	at: number;
	message: string;
	description: string;
	httpCode: string;
	counts: Record<string, number>;
	needed: Record<string, number>;
}

/** One extension of an activation: its subscriptions at the PBX, and the event types it lacks. */
export interface PlanEntry {
	extensionId: string;
	existing: IDataObject[];
	missing: string[];
}

/**
 * How long a remembered cap refusal answers for the PBX: n8n 2.41 retries a failed trigger
 * activation 4 times within about 15 s (and, for workflows activated at start-up, again after
 * 1, 2, 4 … s). Longer would keep refusing a user who freed subscriptions on an extension this
 * trigger does not watch (if the cap counts the whole PBX account).
 */
export const CAP_MEMORY_MS = 5 * 60_000;

/** The URL registered at the PBX: n8n's production webhook URL carrying this workflow's secret. */
export function registeredUrl(ctx: IHookFunctions, secret: string): string {
	const base = ctx.getNodeWebhookUrl('default') as string;
	return `${base}${base.includes('?') ? '&' : '?'}secret=${secret}`;
}

export async function listSubscriptions(pbx: PbxClient, extensionId: string): Promise<IDataObject[]> {
	const body = await pbx.json<unknown>({ path: `/extension/${encodeURIComponent(extensionId)}/event/` }, { itemIndex: 0, what: `listing event subscriptions of extension ${extensionId}` });
	if (Array.isArray(body)) return body as IDataObject[];
	const rows = typeof body === 'object' && body !== null ? Object.values(body).find(Array.isArray) : undefined;
	return (rows as IDataObject[] | undefined) ?? [];
}

/** True when `url` is this node's webhook URL carrying a secret (of any activation). */
export function isOurUrl(url: string, base: string): boolean {
	const prefix = `${base}${base.includes('?') ? '&' : '?'}secret=`;
	return url.startsWith(prefix) && url.length > prefix.length && !url.slice(prefix.length).includes('&');
}

export async function deleteSubscription(pbx: PbxClient, s: Subscription, what: string): Promise<VendorResponse> {
	return await pbx.send(
		{ method: 'DELETE', url: `${await pbx.host()}${API_PREFIX}/extension/${encodeURIComponent(s.extensionId)}/event/${encodeURIComponent(s.id)}` },
		{ itemIndex: 0, what },
	);
}

/**
 * Best effort after a failed activation: deletes what this activation added, including
 * subscriptions whose answer was lost on the way (found by URL), and never one that existed before.
 */
export async function rollBack(pbx: PbxClient, url: string, added: Subscription[], touched: string[], preexisting: Set<string>): Promise<void> {
	const targets = new Map<string, Subscription>(added.map((s) => [`${s.extensionId}/${s.id}`, s]));
	for (const extensionId of touched) {
		try {
			for (const s of await listSubscriptions(pbx, extensionId)) {
				const key = `${extensionId}/${String(s.id)}`;
				if (s.url === url && !preexisting.has(key)) targets.set(key, { extensionId, id: String(s.id), eventType: String(s.event_type) });
			}
		} catch {
			// Keep what we know we added.
		}
	}
	for (const s of targets.values()) {
		try {
			await deleteSubscription(pbx, s, 'removing a subscription after a failed activation');
		} catch {
			// The original failure is what the user must see.
		}
	}
}

/** Words of a refusal for a subscription cap, in the answer shapes the PBX may use. */
const LIMIT_WORDS = /limit|maximum|\bmax\b|too many|too_many|exceed|quota/i;

/**
 * The error for a refused subscription. A cap refusal says how many subscriptions the extension
 * already has and how many this trigger still needed, so the user knows how many to free.
 */
export function refusal(
	statusCode: number,
	body: unknown,
	at: { extensionId: string; eventType: string; existing: number; needed: number },
): { limit: boolean; message: string; description: string; httpCode: string } {
	const said = vendorMessage(body) ?? `HTTP ${statusCode}`;
	const limit = LIMIT_WORDS.test(said);
	const message = limit
		? `The PBX refused a new event subscription for extension ${at.extensionId}: "${said}". The extension (or the PBX account) has reached its subscription limit: extension ${at.extensionId} had ${at.existing} subscription(s) and this trigger needs ${at.needed} more.`
		: `The PBX refused the ${at.eventType} event subscription for extension ${at.extensionId}: "${said}"`;
	const description = limit
		? 'Delete subscriptions no longer used (Virtual PBX → Event Subscription → Get Many / Delete), or choose fewer extensions or event types.'
		: 'Check that the credential\'s user may manage this extension.';
	return { limit, message, description, httpCode: String(statusCode) };
}

/**
 * True when a remembered cap refusal is recent and would come again: every extension it saw is
 * still in the plan, as full as then or fuller, and needs as many new subscriptions or more.
 */
export function refusalWouldRepeat(known: CapRefusal | undefined, plan: PlanEntry[], now: number): known is CapRefusal {
	if (!known || typeof known.at !== 'number' || now - known.at >= CAP_MEMORY_MS || now < known.at) return false;
	const seen = Object.keys(known.counts ?? {});
	if (seen.length === 0) return false;
	return seen.every((extensionId) => {
		const entry = plan.find((p) => p.extensionId === extensionId);
		return entry !== undefined && entry.existing.length >= known.counts[extensionId] && entry.missing.length >= (known.needed?.[extensionId] ?? Number.POSITIVE_INFINITY);
	});
}
