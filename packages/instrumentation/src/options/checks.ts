/**
 * The rules a value of the options or of the environment must follow, each written once, and the
 * one form of the message that a value breaking one of them throws: a `TypeError` that names the
 * option or the variable, what it must be, and what it got.
 */

/** A range of integers, and how a message says it. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
  readonly expected: string;
}

export const PORT: IntegerRange = {
  min: 0,
  max: 65535,
  expected: 'an integer port from 0 to 65535',
};

/** setTimeout's ceiling (about 24.8 days): above it Node fires at once. */
export const MILLISECONDS: IntegerRange = {
  min: 1,
  max: 2 ** 31 - 1,
  expected: 'an integer number of milliseconds from 1 to 2147483647',
};

/** As {@link MILLISECONDS}, where `0` turns the timer off. */
export const MILLISECONDS_OR_OFF: IntegerRange = {
  min: 0,
  max: MILLISECONDS.max,
  expected: `an integer number of milliseconds from 0 (off) to ${MILLISECONDS.max}`,
};

export const POSITIVE: IntegerRange = {
  min: 1,
  max: Number.MAX_SAFE_INTEGER,
  expected: 'a positive integer',
};

/** A worker's number, added to the endpoint's port. */
export const WORKER_INDEX: IntegerRange = {
  min: 0,
  max: PORT.max,
  expected: `an integer from 0 to ${PORT.max}`,
};

/** The SDK needs room for one series and the overflow series. */
/** `nativeHistogramMaxSize`: the SDK's own lower bound (a side needs two buckets to halve). */
export const NATIVE_MAX_SIZE: IntegerRange = {
  min: 2,
  max: 16_384,
  expected: 'an integer from 2 to 16384',
};

/** `nativeHistogramMaxScale`: the exponential schemas of Prometheus' native histograms. */
export const NATIVE_MAX_SCALE: IntegerRange = {
  min: -4,
  max: 8,
  expected: 'an integer from -4 to 8',
};

export const SERIES_LIMIT: IntegerRange = {
  min: 2,
  max: Number.MAX_SAFE_INTEGER,
  expected: 'an integer of at least 2',
};

export function inRange(value: unknown, range: IntegerRange): value is number {
  return (
    typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max
  );
}

/** How a message shows a value it got: strings quoted, arrays with their items, objects named. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(shown).join(', ')}]`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/**
 * How a message shows a secret it got: never its text; only that it was missing, empty or not
 * a string.
 */
function shownSecret(value: unknown): string {
  if (value === undefined || value === '') return shown(value);
  return typeof value === 'string' ? 'a string' : `a value of type ${typeof value}`;
}

/** `subject` is `option \`x\`` or the name of a variable. */
export function invalid(subject: string, expected: string, got: string): never {
  throw new TypeError(`express-otel-metrics: ${subject} must be ${expected}, got ${got}`);
}

/** The subject of an option's message. */
export const option = (path: string): string => `option \`${path}\``;

/** Throws unless `value` is in `range`; the message names `path`. */
export function integer(path: string, value: unknown, range: IntegerRange): number {
  if (!inRange(value, range)) invalid(option(path), range.expected, shown(value));
  return value;
}

export function string(path: string, value: unknown): string {
  if (typeof value !== 'string') invalid(option(path), 'a string', shown(value));
  return value;
}

export function boolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(option(path), 'a boolean', shown(value));
  return value;
}

/** A credential: a non-empty string, never repeated in a message. */
export function secret(path: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    invalid(option(path), 'a non-empty string', shownSecret(value));
  }
  return value;
}

export function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const names = allowed.map((a) => `'${a}'`);
    const expected =
      names.length === 2
        ? names.join(' or ')
        : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    invalid(option(path), expected, shown(value));
  }
  return value as T;
}

export function buckets(path: string, value: unknown): readonly number[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (b, i) =>
        typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > (value[i - 1] as number)),
    );
  if (!ok) {
    invalid(option(path), 'a non-empty, strictly increasing array of finite numbers', shown(value));
  }
  return [...(value as number[])];
}

/**
 * The object of an option, with its keys checked: a misspelt key would otherwise be ignored, and
 * its default silently used in its place. `undefined` is an empty object.
 */
export function knownKeys(
  path: string,
  value: unknown,
  known: readonly string[],
  noun: 'key' | 'group' = 'key',
): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(option(path === '' ? 'options' : path), 'an object', shown(value));
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const where = path === '' ? 'there is no option' : `${option(path)} has no ${noun}`;
      const list = noun === 'key' ? 'the known ones are' : `the ${noun}s are`;
      throw new TypeError(
        `express-otel-metrics: ${where} ${JSON.stringify(key)}; ${list} ${known.join(', ')}`,
      );
    }
  }
  return value as Record<string, unknown>;
}
