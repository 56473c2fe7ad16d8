/**
 * Collecting list results across pages, for "Return All" and "Limit": offset paging
 * (CRM.COM: number_of_results + offset) and page-number paging (virtual PBX: page + per_page).
 *
 * A server may serve fewer rows per page than asked (a cap below the asked size, e.g. 50 when
 * 100 are asked) without saying so, so a short page is not taken for the end of the list:
 * - an empty page ends a list;
 * - a short page ends it only when it is shorter than what the server has shown it will return
 *   (the largest page seen so far). The first short page therefore costs one more request (which
 *   comes back empty when the list really ended), never a list cut short.
 * Both stop at the limit, and never loop forever on a vendor that ignores the paging parameters
 * (`maxPages`).
 */
import type { NodeApiError } from 'n8n-workflow';

export interface PagingOptions {
	returnAll: boolean;
	/** Used when returnAll is false. */
	limit: number;
	/** Largest page asked of the vendor. */
	pageSize: number;
	/** Safety stop. */
	maxPages?: number;
}

function wanted(options: PagingOptions, have: number): number {
	return options.returnAll ? options.pageSize : Math.min(options.pageSize, options.limit - have);
}

/**
 * True when a page of `got` rows, asked as `asked`, ends the list: empty, or shorter than both
 * what was asked and the largest page the server has served (`shown`).
 */
export function isLastPage(got: number, asked: number, shown: number): boolean {
	if (got === 0) return true;
	return got < asked && got < shown;
}

export async function collectByOffset<T>(
	fetchPage: (offset: number, size: number) => Promise<T[]>,
	options: PagingOptions,
): Promise<T[]> {
	const out: T[] = [];
	const maxPages = options.maxPages ?? 10_000;
	let shown = 0;
	for (let pages = 0, offset = 0; pages < maxPages; pages++) {
		const size = wanted(options, out.length);
		if (size <= 0) break;
		const page = await fetchPage(offset, size);
		out.push(...page.slice(0, size));
		const last = isLastPage(page.length, size, shown);
		shown = Math.max(shown, page.length);
		if (last) break;
		offset += page.length;
	}
	return out;
}

/** Page sizes tried from the largest down when the vendor's own maximum is unknown. */
export const DISCOVERY_SIZES = [500, 200, 100, 50, 20];

export interface PageSizeDiscovery {
	/** Sizes to try, largest first (DISCOVERY_SIZES). */
	sizes: number[];
	/** True when the error is the vendor refusing the page size (e.g. a 400): the next smaller size is tried. */
	refused: (error: unknown) => boolean;
}

/**
 * Page-number paging. When the server serves fewer rows than `per_page` asks (its cap), the next
 * requests ask for pages of the size it served, so that `page` counts rows the same way whether
 * the server numbers its pages by the size asked or by the size it served.
 *
 * With `discover`, the first request asks for the largest size (or, under a Limit, no more than
 * the limit) and steps down while the vendor refuses the size; the size that worked is kept for
 * the rest of the list, so a long list costs as few requests as the vendor allows. Other errors,
 * and a refusal of the smallest size, pass through unchanged.
 */
export async function collectByPageNumber<T>(
	fetchPage: (page: number, perPage: number) => Promise<T[]>,
	options: PagingOptions,
	discover?: PageSizeDiscovery,
): Promise<T[]> {
	const out: T[] = [];
	let perPage = options.pageSize;
	let candidates: number[] = [perPage];
	if (discover) {
		const ceiling = options.returnAll ? Infinity : Math.max(1, options.limit);
		const sizes = discover.sizes.filter((size) => size <= ceiling);
		candidates = ceiling < Math.max(...discover.sizes) && !sizes.includes(ceiling) ? [ceiling, ...sizes] : sizes;
	}
	let shown = 0;
	let fetched = 0;
	const maxPages = options.maxPages ?? 10_000;
	for (let pages = 0; pages < maxPages; pages++) {
		if (!options.returnAll && out.length >= options.limit) break;
		let rows: T[] | undefined;
		for (let i = 0; rows === undefined; i++) {
			const size = candidates[i];
			const page = Math.floor(fetched / size) + 1;
			try {
				rows = await fetchPage(page, size);
				perPage = size;
				candidates = [size];
			} catch (error) {
				if (!discover?.refused(error) || i + 1 >= candidates.length || fetched > 0) throw error as NodeApiError;
			}
		}
		const room = options.returnAll ? rows.length : options.limit - out.length;
		out.push(...rows.slice(0, room));
		fetched += rows.length;
		const last = isLastPage(rows.length, perPage, shown);
		shown = Math.max(shown, rows.length);
		if (last) break;
		// A short page that is not the end: the server's cap. Ask for pages of that size from now
		// on (the rows fetched so far are a whole number of such pages).
		if (rows.length < perPage) {
			perPage = rows.length;
			candidates = [perPage];
		}
		if (fetched % perPage !== 0) break;
	}
	return out;
}
