/**
 * The PBX wants datetimes as `YYYY-MM-DD HH:MM:SS` in GMT. Users type dates in every form n8n
 * allows: the date picker's `2024-05-01T09:30:00` (no zone: the workflow's timezone), ISO with
 * an offset or Z, `2024-05-01 09:30`, `2024-05-01`, epoch seconds or milliseconds, a JS Date, a
 * Luxon DateTime from `{{ $now.minus({ days: 1 }) }}`. All become epoch milliseconds here.
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/;
const DOTTED = /^(\d{2})\.(\d{2})\.(\d{4})(?:[ ,]+(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Offset of `timeZone` from UTC at instant `utcMs`, in milliseconds (e.g. +3 h for Moscow). */
export function zoneOffsetMs(timeZone: string, utcMs: number): number {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit',
	}).formatToParts(new Date(utcMs));
	const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
	const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
	return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** A wall-clock time in `timeZone`, as epoch milliseconds (DST handled by a second pass). */
export function wallClockToUtc(
	fields: [number, number, number, number, number, number, number],
	timeZone: string,
): number {
	const [y, mo, d, h, mi, s, ms] = fields;
	const naive = Date.UTC(y, mo - 1, d, h, mi, s, ms);
	let utc = naive - zoneOffsetMs(timeZone, naive);
	utc = naive - zoneOffsetMs(timeZone, utc);
	return utc;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const SHORT_MONTHS = MONTHS.map((m) => m.slice(0, 3).toLowerCase());

/** Days in month `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
	return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Why a typed date does not exist (`2024-02-31`, `31.04.2024`, month 13, hour 25…), or undefined
 * when its calendar fields are real (or it has none: epoch numbers, objects). JavaScript would
 * silently roll `2024-02-31` over to 2 March; the PBX would then be asked for the wrong window.
 */
export function impossibleDate(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	let fields: { y: number; mo: number; d: number; h?: number; mi?: number; s?: number } | undefined;
	const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
	const dotted = DOTTED.exec(text);
	const rfc = /^[A-Za-z]{3},\s*(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
	if (iso) fields = { y: +iso[1], mo: +iso[2], d: +iso[3], h: iso[4] ? +iso[4] : undefined, mi: iso[5] ? +iso[5] : undefined, s: iso[6] ? +iso[6] : undefined };
	else if (dotted) fields = { y: +dotted[3], mo: +dotted[2], d: +dotted[1], h: dotted[4] ? +dotted[4] : undefined, mi: dotted[5] ? +dotted[5] : undefined, s: dotted[6] ? +dotted[6] : undefined };
	else if (rfc) {
		const mo = SHORT_MONTHS.indexOf(rfc[2].toLowerCase()) + 1;
		if (mo === 0) return `"${rfc[2]}" is not a month`;
		fields = { y: +rfc[3], mo, d: +rfc[1], h: rfc[4] ? +rfc[4] : undefined, mi: rfc[5] ? +rfc[5] : undefined, s: rfc[6] ? +rfc[6] : undefined };
	}
	if (!fields) return undefined;
	const { y, mo, d, h, mi, s } = fields;
	if (mo < 1 || mo > 12) return `there is no month ${mo}`;
	const days = daysInMonth(y, mo);
	if (d < 1 || d > days) return `${MONTHS[mo - 1]} ${y} has no day ${d} (it has ${days} days)`;
	if (h !== undefined && h > 23) return `there is no hour ${h}`;
	if (mi !== undefined && mi > 59) return `there is no minute ${mi}`;
	if (s !== undefined && s > 59) return `there is no second ${s}`;
	return undefined;
}

function isValidZone(timeZone: string): boolean {
	try {
		new Intl.DateTimeFormat('en-US', { timeZone });
		return true;
	} catch {
		return false;
	}
}

/**
 * Any date a user may give, as epoch milliseconds; undefined when it is not a date at all.
 * Strings without a zone are read in `timeZone` (the workflow's timezone).
 */
export function toEpochMs(value: unknown, timeZone = 'UTC'): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
	if (typeof value === 'object') {
		const candidate = value as { toMillis?: () => number; toISO?: () => string; isValid?: boolean };
		if (typeof candidate.toMillis === 'function') return candidate.isValid === false ? undefined : candidate.toMillis();
		if (typeof candidate.toISO === 'function') return toEpochMs(candidate.toISO(), timeZone);
		return undefined;
	}
	if (typeof value === 'number') {
		if (!Number.isFinite(value) || value <= 0) return undefined;
		return value > 1e12 ? value : value * 1000;
	}
	const text = String(value).trim();
	if (/^\d{9,13}(\.\d+)?$/.test(text)) return toEpochMs(Number(text), timeZone);
	if (impossibleDate(text) !== undefined) return undefined;
	const zone = isValidZone(timeZone) ? timeZone : 'UTC';
	const local = LOCAL.exec(text);
	if (local) {
		const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = local;
		const fields: [number, number, number, number, number, number, number] = [
			Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3)),
		];
		if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) return undefined;
		return wallClockToUtc(fields, zone);
	}
	const dotted = DOTTED.exec(text);
	if (dotted) {
		const [, d, mo, y, h = '0', mi = '0', s = '0'] = dotted;
		return wallClockToUtc([Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), 0], zone);
	}
	// ISO with a zone (Z or ±hh:mm) or an RFC 2822 date: they carry their own offset.
	if (/(Z|[+-]\d{2}:?\d{2}|GMT|UTC)$/i.test(text) || /^[A-Za-z]{3},/.test(text)) {
		const parsed = Date.parse(text);
		return Number.isNaN(parsed) ? undefined : parsed;
	}
	return undefined;
}

/** `YYYY-MM-DD HH:MM:SS` in GMT, as the PBX expects. */
export function formatGmt(epochMs: number): string {
	return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** `YYYY-MM-DD HH:MM:SS` (GMT, from the PBX) → ISO 8601. */
export function gmtToIso(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(value.trim());
	return match ? `${match[1]}T${match[2]}.000Z` : undefined;
}
