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

/**
 * Page-number paging. When the server serves fewer rows than `per_page` asks (its cap), the next
 * requests ask for pages of the size it served, so that `page` counts rows the same way whether
 * the server numbers its pages by the size asked or by the size it served.
 */
export async function collectByPageNumber<T>(
	fetchPage: (page: number, perPage: number) => Promise<T[]>,
	options: PagingOptions,
): Promise<T[]> {
	const out: T[] = [];
	let perPage = options.pageSize;
	let shown = 0;
	let fetched = 0;
	const maxPages = options.maxPages ?? 10_000;
	for (let pages = 0; pages < maxPages; pages++) {
		if (!options.returnAll && out.length >= options.limit) break;
		const page = Math.floor(fetched / perPage) + 1;
		const rows = await fetchPage(page, perPage);
		const room = options.returnAll ? rows.length : options.limit - out.length;
		out.push(...rows.slice(0, room));
		fetched += rows.length;
		const last = isLastPage(rows.length, perPage, shown);
		shown = Math.max(shown, rows.length);
		if (last) break;
		// A short page that is not the end: the server's cap. Ask for pages of that size from now
		// on (the rows fetched so far are a whole number of such pages).
		if (rows.length < perPage) perPage = rows.length;
		if (fetched % perPage !== 0) break;
	}
	return out;
}
