/**
 * Collecting list results across pages, for "Return All" and "Limit": offset paging
 * (CRM.COM: number_of_results + offset) and page-number paging (virtual PBX: page + per_page).
 * Both stop at a short page, at the limit, or at an empty page, and never loop forever on a
 * vendor that ignores the paging parameters.
 */
export interface PagingOptions {
	returnAll: boolean;
	/** Used when returnAll is false. */
	limit: number;
	/** Largest page the vendor serves. */
	pageSize: number;
	/** Safety stop. */
	maxPages?: number;
}

function wanted(options: PagingOptions, have: number): number {
	return options.returnAll ? options.pageSize : Math.min(options.pageSize, options.limit - have);
}

export async function collectByOffset<T>(
	fetchPage: (offset: number, size: number) => Promise<T[]>,
	options: PagingOptions,
): Promise<T[]> {
	const out: T[] = [];
	const maxPages = options.maxPages ?? 10_000;
	for (let pages = 0, offset = 0; pages < maxPages; pages++) {
		const size = wanted(options, out.length);
		if (size <= 0) break;
		const page = await fetchPage(offset, size);
		out.push(...page.slice(0, size));
		if (page.length < size) break;
		offset += page.length;
	}
	return out;
}

export async function collectByPageNumber<T>(
	fetchPage: (page: number, perPage: number) => Promise<T[]>,
	options: PagingOptions,
): Promise<T[]> {
	const out: T[] = [];
	const perPage = options.pageSize;
	const maxPages = options.maxPages ?? 10_000;
	for (let page = 1; page <= maxPages; page++) {
		if (!options.returnAll && out.length >= options.limit) break;
		const rows = await fetchPage(page, perPage);
		const room = options.returnAll ? rows.length : options.limit - out.length;
		out.push(...rows.slice(0, room));
		if (rows.length < perPage) break;
	}
	return out;
}
