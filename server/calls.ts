/**
 * The reference server's calls, in memory and bounded: a settled call drops its offer at once and is
 * forgotten `forgetAfter` ms later; an accepted call ends by itself after `maxCallDuration`; at most
 * `maxCalls` are remembered, the oldest settled going first.
 */
import type { MediaState } from './frames'
import type { DemoUser, Profile } from './users'

export type CallStatus = 'ringing' | 'accepted' | 'declined' | 'cancelled' | 'missed' | 'ended'
export type SettledStatus = Exclude<CallStatus, 'ringing' | 'accepted'>
export type Party = 'caller' | 'callee'

export interface Call {
  call_log_id: number
  conversation_id: number
  call_type: 'voice' | 'video'
  /** Only a ringing call needs its offer: it is dropped (null) as soon as the call leaves `ringing`. */
  offer: unknown
  from: Profile
  to: Profile
  status: CallStatus
  end_reason: string | null
  ended_by: Party | null
  media: Record<Party, MediaState | null>
  created_at: string
  expires_at: string
  answered_at: string | null
  ended_at: string | null
}

/** `POST /api/calls` found the server's memory for calls full of calls still in progress. */
export class CallBookFullError extends Error {
  override readonly name = 'CallBookFullError'
  constructor(readonly maxCalls: number) {
    super(`[callhub server] ${maxCalls} calls are in progress: try again when some have ended`)
  }
}

export interface CallBookOptions {
  forgetAfter: number
  maxCalls: number
  maxCallDuration: number
  /** A ringing call nobody answered in time: it is `missed` by now. */
  onMissed(call: Call): void
  /** An accepted call that reached `maxCallDuration`: it is `ended` by now. */
  onTimedOut(call: Call): void
}

export interface CallBook {
  /** Remembers a new ringing call; throws `CallBookFullError` when every remembered call is still live. */
  add(call: Omit<Call, 'call_log_id'>, ringFor: number): Call
  get(callLogId: number): Call | undefined
  ringing(): IterableIterator<Call>
  /** Ringing calls placed by `user`. */
  ringingFrom(user: DemoUser): number
  accept(call: Call): void
  settle(call: Call, status: SettledStatus, reason: string, by: Party | null): void
  /** Which party of `call` the profile `key` is, or null for a third profile. */
  partyOf(call: Call, key: string): Party | null
  clear(): void
}

const isLive = (call: Call) => call.status === 'ringing' || call.status === 'accepted'

export function createCallBook({ forgetAfter, maxCalls, maxCallDuration, onMissed, onTimedOut }: CallBookOptions): CallBook {
  const calls = new Map<number, Call>()
  /** One timer per call: its ring expiry, then its duration limit, then when it is forgotten. */
  const timers = new Map<number, NodeJS.Timeout>()
  let nextCallId = 1

  function schedule(call: Call, ms: number, action: () => void): void {
    clearTimeout(timers.get(call.call_log_id))
    // Never keeps the process alive: `npm start` exits on a signal with calls in the book.
    timers.set(call.call_log_id, setTimeout(action, ms).unref())
  }

  function forget(callLogId: number): void {
    clearTimeout(timers.get(callLogId))
    timers.delete(callLogId)
    calls.delete(callLogId)
  }

  function makeRoom(): void {
    if (calls.size < maxCalls) return
    // Map order is creation order: the first settled call found is the oldest.
    for (const call of calls.values()) {
      if (!isLive(call)) return forget(call.call_log_id)
    }
    throw new CallBookFullError(maxCalls)
  }

  const book: CallBook = {
    add(fields, ringFor) {
      makeRoom()
      const call: Call = { call_log_id: nextCallId++, ...fields }
      calls.set(call.call_log_id, call)
      schedule(call, ringFor, () => {
        book.settle(call, 'missed', 'missed', null)
        onMissed(call)
      })
      return call
    },
    get: (callLogId) => calls.get(callLogId),
    *ringing() {
      for (const call of calls.values()) if (call.status === 'ringing') yield call
    },
    ringingFrom(user) {
      let count = 0
      for (const call of calls.values()) if (call.status === 'ringing' && call.from.owner === user) count += 1
      return count
    },
    accept(call) {
      call.status = 'accepted'
      call.offer = null
      call.answered_at = new Date().toISOString()
      schedule(call, maxCallDuration, () => {
        book.settle(call, 'ended', 'max_duration', null)
        onTimedOut(call)
      })
    },
    settle(call, status, reason, by) {
      call.status = status
      call.offer = null
      call.end_reason = reason
      call.ended_by = by
      call.ended_at = new Date().toISOString()
      schedule(call, forgetAfter, () => forget(call.call_log_id))
    },
    partyOf(call, key) {
      if (key === call.from.key) return 'caller'
      if (key === call.to.key) return 'callee'
      return null
    },
    clear() {
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      calls.clear()
    },
  }
  return book
}
