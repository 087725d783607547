/**
 * The frames a hub sends the reference server, typed in one place: `parseClientFrame` is the only code that
 * reads untrusted socket text. Everything after it trusts these types.
 */
import { depthWithin } from './limits'

/** As the hub sent it: a number stays a number, a string stays a string (acks echo it exactly). */
export type CallLogId = number | string
export type MediaState = 'connecting' | 'connected' | 'failed'
export type DeclineReason = 'busy' | 'declined'
/** Frames relayed as they came to the other party of a call. */
export type SignalType = 'call_answer' | 'ice_candidate' | 'call_ended'

export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'ping' }
  | { type: 'call_accepted'; call_log_id: CallLogId }
  | { type: 'call_declined'; call_log_id: CallLogId; reason: DeclineReason }
  | { type: 'chat_message'; to_profile_id: number | string; to_profile_type: string; text: string }
  | { type: SignalType; call_log_id: CallLogId; fields: Record<string, unknown> }
  | { type: 'call_media'; call_log_id: CallLogId; state: MediaState }

/** A frame of a type the server handles, refused with a reason the sender is told in a `nack`. */
export interface RejectedFrame {
  type: 'rejected'
  of: ClientFrame['type']
  call_log_id?: CallLogId
  reason: string
}

export const MAX_CHAT_CHARACTERS = 4_000
/** The hub drops an offer nested deeper than this; the server refuses such input instead of relaying it. */
export const MAX_DEPTH = 32
const MAX_ID_LENGTH = 128
const MAX_END_REASON_LENGTH = 64
const mediaStates: readonly string[] = ['connecting', 'connected', 'failed'] satisfies MediaState[]
const signalTypes: readonly string[] = ['call_answer', 'ice_candidate', 'call_ended'] satisfies SignalType[]
const knownTypes: ReadonlySet<string> = new Set(['auth', 'ping', 'call_accepted', 'call_declined', 'chat_message', 'call_media', ...signalTypes])

function isKnownType(type: string): type is ClientFrame['type'] {
  return knownTypes.has(type)
}

function readId(value: unknown): CallLogId | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null
  if (typeof value === 'string') return value.length > 0 && value.length <= MAX_ID_LENGTH ? value : null
  return null
}

/** The numeric id the server keys calls by, or null when `id` cannot name one (`"41"` names 41; `" 41"` names none). */
export function callKeyOf(id: CallLogId): number | null {
  if (typeof id === 'number') return id
  return /^[0-9]{1,15}$/.test(id) ? Number(id) : null
}

/**
 * One socket message → a typed frame, a rejection to nack, or null for what is not ours to answer (binary,
 * not JSON, no string `type`, or a type the server does not handle: ignored, as the hub ignores unknown
 * frames). Never throws.
 */
export function parseClientFrame(text: string): ClientFrame | RejectedFrame | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const frame = value as Record<string, unknown>
  const type = frame.type
  if (typeof type !== 'string' || !isKnownType(type)) return null
  const reject = (reason: string, call_log_id?: CallLogId): RejectedFrame =>
    call_log_id === undefined ? { type: 'rejected', of: type, reason } : { type: 'rejected', of: type, call_log_id, reason }
  // Relayed frames are serialised again: a deep one would exhaust the stack in JSON.stringify.
  if (!depthWithin(frame, MAX_DEPTH)) return reject(`frame nested deeper than ${MAX_DEPTH} levels`)

  if (type === 'auth') return typeof frame.token === 'string' ? { type, token: frame.token } : reject('auth without a string token')
  if (type === 'ping') return { type }
  if (type === 'chat_message') {
    const { to_profile_id, to_profile_type, text: message } = frame
    if (readId(to_profile_id) === null || typeof to_profile_type !== 'string') return reject('to_profile_id and to_profile_type are required')
    if (typeof message !== 'string' || message.length === 0) return reject('text must be a non-empty string')
    // Cheap bound first: a string has at least length/2 code points.
    if (message.length > 2 * MAX_CHAT_CHARACTERS || [...message].length > MAX_CHAT_CHARACTERS) {
      return reject(`text is over ${MAX_CHAT_CHARACTERS} characters`)
    }
    return { type, to_profile_id: to_profile_id as number | string, to_profile_type, text: message }
  }

  const callLogId = readId(frame.call_log_id)
  if (callLogId === null) return reject(`${type} without a valid call_log_id`)
  if (type === 'call_accepted') return { type, call_log_id: callLogId }
  if (type === 'call_declined') return { type, call_log_id: callLogId, reason: frame.reason === 'busy' ? 'busy' : 'declined' }
  if (type === 'call_media') {
    const state = frame.state
    if (typeof state !== 'string' || !mediaStates.includes(state)) return reject('state must be connecting, connected or failed', callLogId)
    return { type, call_log_id: callLogId, state: state as MediaState }
  }
  if (type === 'call_ended' && frame.reason !== undefined && (typeof frame.reason !== 'string' || frame.reason.length > MAX_END_REASON_LENGTH)) {
    return reject(`reason must be a string of at most ${MAX_END_REASON_LENGTH} characters`, callLogId)
  }
  return { type, call_log_id: callLogId, fields: frame }
}

/** The server's answer to an accepted frame the hub waits on (`auth`, `call_accepted`, `call_declined`). */
export function ackFrame(of: 'auth' | 'call_accepted' | 'call_declined', call_log_id?: CallLogId): string {
  return JSON.stringify(call_log_id === undefined ? { type: 'ack', of } : { type: 'ack', of, call_log_id })
}

export function nackFrame({ of, call_log_id, reason }: Omit<RejectedFrame, 'type'>): string {
  return JSON.stringify(call_log_id === undefined ? { type: 'nack', of, reason } : { type: 'nack', of, call_log_id, reason })
}
