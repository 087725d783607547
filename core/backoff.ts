/** Pure reconnect policy: no timers, no globals, so it is tested and simulated as plain functions. */

export interface BackoffOptions {
  /** @default 500 */
  base?: number
  /** @default 30000 */
  cap?: number
}

/**
 * Full jitter: a delay drawn uniformly from [0, min(cap, base·2^attempt)].
 * `random` is a number in [0, 1), drawn anew for every attempt (never once per page).
 */
export function retryDelay(attempt: number, random: number, { base = 500, cap = 30_000 }: BackoffOptions = {}): number {
  const window = Math.min(cap, base * 2 ** Math.max(0, attempt))
  return Math.floor(random * window)
}

/**
 * The first retry after a drop draws from base·2^3 (4 s by default), not from base: a server restart drops
 * every hub at once, and a narrower first window makes them all return in the same few hundred
 * milliseconds (`npm run simulate` measures the spread). The drop of a connection the backend had accepted
 * starts again from this window, however many drops came before: a call placed during a long wait is a
 * missed call. Only attempts that fail (never opened, or closed before the backend accepted them) widen it.
 */
export const FIRST_RETRY_EXPONENT = 3

export type CloseClass =
  /** The server rejected the credentials: stop until the identity changes. */
  | { kind: 'credentials' }
  /** Reconnect, waiting at least `minDelay` ms (server-directed), plus jitter. */
  | { kind: 'retry'; minDelay: number }

const credentialCodes = new Set([4401, 4403, 1008])
/** 1013 "Try Again Later" without a `retry-after=<ms>` reason waits at least this long. */
export const TRY_AGAIN_LATER_DELAY = 5_000

/** One predicate for every close code; no string matching on error messages. */
export function classifyClose(code: number, reason: string): CloseClass {
  if (credentialCodes.has(code)) return { kind: 'credentials' }
  const retryAfter = /(?:^|[\s;,])retry-after=(\d{1,9})(?:$|[\s;,])/.exec(reason)
  if (retryAfter) return { kind: 'retry', minDelay: Number(retryAfter[1]) }
  if (code === 1013) return { kind: 'retry', minDelay: TRY_AGAIN_LATER_DELAY }
  return { kind: 'retry', minDelay: 0 }
}
