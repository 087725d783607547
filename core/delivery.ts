/**
 * Delivery of a host's events to one tab: never awaited by the hub, at most one `deliver` call in flight,
 * and what arrives meanwhile goes in the next batch. A burst costs a few round trips, not one per frame.
 *
 * A tab that falls behind (frozen, or a burst it is slow to take) holds at most `MAX_BACKLOG` state events:
 * past that they are dropped for a snapshot that says it all. Messages and the frames of a call in progress
 * are not state (no snapshot can give them back): they are kept, in order, up to `MAX_MESSAGES`, and only a
 * tab that lets that many pile up loses the oldest, with a line in its console saying how many.
 */
import type { HubEvent } from '../protocol/port'

/** State events (calls, status, ringer…) a tab that is behind keeps before they are replaced by a snapshot. */
export const MAX_BACKLOG = 1_000
/** Messages and call frames a tab that is behind keeps before the oldest are dropped. */
export const MAX_MESSAGES = 20_000

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

/** Events no snapshot can replace. */
const isMessage = (event: HubEvent) => event.type === 'message' || event.type === 'call-frame' || event.type === 'call-ended'

export function createDelivery(options: DeliveryOptions): Delivery {
  const { deliver, resync, onError, schedule = queueMicrotask } = options
  let queue: HubEvent[] = []
  let states = 0
  let messages = 0
  let lost = 0
  let inFlight = false
  let scheduled = false
  let released = false
  let resyncing = false

  const flush = () => {
    scheduled = false
    if (released || inFlight || queue.length === 0) return
    const batch = queue
    if (lost > 0) {
      batch.push({ type: 'log', line: `dropped the ${lost} oldest messages that waited for this tab (it took no events while over ${MAX_MESSAGES} piled up)` })
      lost = 0
    }
    queue = []
    states = messages = 0
    inFlight = true
    const done = (error?: unknown) => {
      inFlight = false
      if (error !== undefined) onError(error)
      flush()
    }
    deliver(batch).then(() => done(), (error: unknown) => done(error ?? new Error('deliver failed')))
  }

  /** Old state is worth less than the present one: drop it, keep the messages, and let a snapshot say it all. */
  function compact(): void {
    const kept = queue.filter(isMessage)
    queue = []
    states = 0
    resyncing = true
    try {
      resync()
    } finally {
      resyncing = false
    }
    queue.push(...kept)
  }

  return {
    push(event) {
      if (released) return
      if (isMessage(event)) {
        if (messages < MAX_MESSAGES) messages += 1
        else {
          // Full: the oldest message makes room (`messages` counts those in the queue, so there is one).
          queue.splice(queue.findIndex(isMessage), 1)
          lost += 1
        }
      } else {
        if (states >= MAX_BACKLOG && !resyncing) compact()
        states += 1
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
      states = messages = 0
    },
  }
}
