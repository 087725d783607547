/**
 * Delivery of a host's events to one tab: never awaited by the hub, at most one `deliver` call in flight,
 * and what arrives meanwhile goes in the next batch. A burst costs a few round trips, not one per frame.
 */
import type { HubEvent } from '../protocol/port'

/** A tab that stops taking events (frozen, say) while it lives keeps at most this many queued. */
export const MAX_BACKLOG = 1_000

export interface DeliveryOptions {
  /** Sends one batch to the tab; settles when the tab took it. */
  deliver: (batch: HubEvent[]) => Promise<void>
  /** The backlog overflowed and was dropped: push a snapshot that says it all (it is queued first). */
  resync: () => void
  onError: (error: unknown) => void
  /** How a flush is scheduled after a quiet spell: at the end of the current turn. */
  schedule?: (flush: () => void) => void
}

export interface Delivery {
  push(event: HubEvent): void
  queued(): number
  /** Stops delivering and drops the backlog; later pushes are ignored. */
  release(): void
}

export function createDelivery(options: DeliveryOptions): Delivery {
  const { deliver, resync, onError, schedule = queueMicrotask } = options
  let queue: HubEvent[] = []
  let inFlight = false
  let scheduled = false
  let released = false
  let resyncing = false

  const flush = () => {
    scheduled = false
    if (released || inFlight || queue.length === 0) return
    const batch = queue
    queue = []
    inFlight = true
    const done = (error?: unknown) => {
      inFlight = false
      if (error !== undefined) onError(error)
      flush()
    }
    deliver(batch).then(() => done(), (error: unknown) => done(error ?? new Error('deliver failed')))
  }

  return {
    push(event) {
      if (released) return
      if (queue.length >= MAX_BACKLOG && !resyncing) {
        // Old events are worth less than the present state: drop them, and let a snapshot say it all.
        queue = []
        resyncing = true
        try {
          resync()
        } finally {
          resyncing = false
        }
      }
      queue.push(event)
      if (!scheduled && !inFlight) {
        scheduled = true
        schedule(flush)
      }
    },
    queued: () => queue.length,
    release() {
      released = true
      queue = []
    },
  }
}
