/** Small bounded structures the reference server uses so that no input can grow its memory without end. */

/**
 * Counts per key, keeping at most `maxKeys` keys: a key counted again moves to the back, and the key
 * counted least recently goes first. Keys in active use (the handful a test reads) keep exact counts.
 */
export class BoundedCounts {
  readonly #counts = new Map<string, number>()

  constructor(readonly maxKeys: number) {}

  bump(key: string): void {
    const count = (this.#counts.get(key) ?? 0) + 1
    this.#counts.delete(key)
    this.#counts.set(key, count)
    if (this.#counts.size > this.maxKeys) this.#counts.delete(this.#counts.keys().next().value!)
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.#counts)
  }
}

/** A token bucket: `perSecond` tokens a second, holding at most `perSecond` (one second's burst). */
export class TokenBucket {
  #tokens: number
  #updatedAt: number

  constructor(readonly perSecond: number, private readonly now: () => number = Date.now) {
    this.#tokens = perSecond
    this.#updatedAt = now()
  }

  /** Takes one token; false when none is left (the caller refuses, it never queues). */
  take(): boolean {
    const now = this.now()
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((now - this.#updatedAt) / 1000) * this.perSecond)
    this.#updatedAt = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

/** The hub's own check, so the server refuses exactly what the hub would drop. */
export { depthWithin } from '../protocol/wire'
