/** Reading a vendor's answer: its headers, its status, the answer inside a thrown error. */
import type { VendorResponse } from './clientTypes';

/** A header's value, whatever the case of its name (the first one when repeated). */
export function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const [key, value] of Object.entries(headers ?? {})) {
		if (key.toLowerCase() === wanted) return Array.isArray(value) ? String(value[0]) : String(value);
	}
	return undefined;
}

export function isOk(response: VendorResponse): boolean {
	return response.statusCode >= 200 && response.statusCode < 300;
}

/** The HTTP answer inside an error thrown by n8n's request helpers, if there was one. */
export function responseOf(error: unknown): VendorResponse | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
		const candidate = (current as { response?: unknown }).response;
		if (typeof candidate === 'object' && candidate !== null) {
			const r = candidate as { status?: unknown; headers?: unknown; data?: unknown; body?: unknown };
			if (typeof r.status === 'number') {
				return {
					statusCode: r.status,
					headers: (r.headers as Record<string, unknown>) ?? {},
					body: r.data ?? r.body,
				};
			}
		}
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}
