/**
 * The wire between the backend and the hub: JSON text frames on one WebSocket per profile.
 * `parseServerFrame` is the only place where untrusted socket data becomes typed values; everything after
 * it trusts its types. No DOM, no worker globals: this file typechecks in every program of the repo.
 */

/** Frames larger than this are dropped with a logged reason; `send` refuses larger ones. */
export const MAX_FRAME_BYTES = 64 * 1024
/** Caller names are cut to this many characters. */
export const MAX_NAME_LENGTH = 100
/** Deeper `offer` values are dropped (structured clone and renderers recurse). */
const MAX_OFFER_DEPTH = 32
const MAX_ID_LENGTH = 128
const MAX_URL_LENGTH = 2048

/** Ids are kept exactly as the backend sent them: a number stays a number, a string a string. */
export type CallLogId = string | number
export type CallType = 'voice' | 'video'

/** A call that rings, normalised from `call_invitation` or the older `incoming_call`. */
export interface Invitation {
  callLogId: CallLogId
  conversationId: CallLogId | null
  callType: CallType
  from: {
    /** Whitespace folded, control and bidi-override characters removed, at most 100 characters. */
    name: string
    /** Only http(s) or relative URLs survive the parser; anything else becomes null. */
    avatar: string | null
    profileId: CallLogId | null
    profileType: string | null
  }
  /** Passed through untouched for the app's WebRTC code (SDP or an object holding one). */
  offer: unknown
  /** Epoch milliseconds: the frame's `expires_at`, else the arrival plus the ring timeout. */
  expiresAt: number | null
  /** Set by the hub: the call arrived while another was in progress (call waiting: no ringtone). */
  waiting?: boolean
}

/** Why a ringing call stopped ringing, as the backend said it. */
export type EndReason = 'cancelled' | 'ended' | 'taken'

export type ServerFrame =
  | { type: 'invitation'; invitation: Invitation }
  /** `call_cancelled`, `call_ended`, `call_taken`: ends a ringing call, or the call in progress. */
  | { type: 'end'; callLogId: CallLogId; reason: EndReason; text: string; detail: string | null }
  /** The backend accepted `auth` (`of: "auth"`) or an answer (`of: "call_accepted"`, with the call's id). */
  | { type: 'ack'; of: string; callLogId: CallLogId | null }
  /** The backend refused a frame: an answer to a call that no longer rings, say. */
  | { type: 'nack'; of: string; callLogId: CallLogId | null; reason: string }
  /** Any other JSON object with a string `type`: chat, signalling, the app's own frames. */
  | { type: 'message'; frameType: string; callLogId: CallLogId | null; text: string }

export interface Rejected {
  type: 'rejected'
  reason: string
}

/** Frames the hub writes itself. The token travels only in `auth`, never in a URL. */
export type HubFrame =
  | { type: 'auth'; token: string }
  | { type: 'call_accepted'; call_log_id: CallLogId; conversation_id: CallLogId | null }
  | { type: 'call_declined'; call_log_id: CallLogId; conversation_id: CallLogId | null; reason?: string }
  | { type: 'call_ended'; call_log_id: CallLogId; reason: string }
  | { type: 'call_declined'; call_log_id: CallLogId; conversation_id: CallLogId | null; reason: 'busy' }

const endFrameTypes: Record<string, EndReason> = {
  call_cancelled: 'cancelled',
  call_ended: 'ended',
  call_taken: 'taken',
}

type JsonObject = Record<string, unknown>

function own(object: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function readId(value: unknown): CallLogId | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string') {
    const id = value.trim()
    return id.length > 0 && id.length <= MAX_ID_LENGTH ? id : null
  }
  return null
}

// C0/C1 controls and explicit bidi embeddings, overrides and isolates: a name never needs them, and an
// override can make "Bob\u202Egnp.exe" read "Bobexe.png".
const unwantedInNames = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g

function readName(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const name = value.replace(unwantedInNames, '').replace(/\s+/g, ' ').trim()
  if (name.length === 0) return null
  // Cut by code points so a name never ends in half a surrogate pair.
  return Array.from(name).slice(0, MAX_NAME_LENGTH).join('')
}

function readText(value: unknown, maxLength: number): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength ? value : null
}

/** True for http(s) URLs and relative references; false for `javascript:`, `data:` and other schemes. */
export function isSafeImageUrl(url: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())
  if (/[\u0000-\u001f]/.test(url)) return false
  return scheme === null ? true : /^https?$/i.test(scheme[1] ?? '')
}

function readAvatar(value: unknown): string | null {
  const url = readText(value, MAX_URL_LENGTH)
  return url !== null && isSafeImageUrl(url) ? url : null
}

function readTime(value: unknown): number | null {
  if (typeof value !== 'string') return null
  const time = Date.parse(value)
  return Number.isFinite(time) ? time : null
}

/** True when `value` nests at most `limit` objects or arrays deep. */
export function depthWithin(value: unknown, limit: number): boolean {
  // Iterative, so a hostile offer cannot exhaust the stack here.
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!
    if (typeof item !== 'object' || item === null) continue
    if (depth >= limit) return false
    for (const child of Object.values(item)) stack.push([child, depth + 1])
  }
  return true
}

/** The UTF-8 length of `text`, exact only when it matters (near the limit). */
export function utf8Length(text: string): number {
  // Cheap bounds first: every UTF-16 unit is 1 to 3 UTF-8 bytes.
  if (text.length * 3 <= MAX_FRAME_BYTES) return text.length
  if (text.length > MAX_FRAME_BYTES) return text.length
  return new TextEncoder().encode(text).length
}

function parseInvitation(frame: JsonObject, frameType: string): ServerFrame | Rejected {
  const callLogId = readId(own(frame, 'call_log_id'))
  if (callLogId === null) return { type: 'rejected', reason: `${frameType} without a valid call_log_id` }
  const name = readName(own(frame, 'from_name') ?? own(frame, 'caller_name'))
  if (name === null) return { type: 'rejected', reason: `${frameType} ${callLogId} without a caller name` }
  const rawOffer = own(frame, 'offer')
  const callType = own(frame, 'call_type')
  return {
    type: 'invitation',
    invitation: {
      callLogId,
      conversationId: readId(own(frame, 'conversation_id')),
      callType: callType === 'video' ? 'video' : 'voice',
      from: {
        name,
        avatar: readAvatar(own(frame, 'from_avatar') ?? own(frame, 'caller_avatar')),
        profileId: readId(own(frame, 'from_profile_id')),
        profileType: readText(own(frame, 'from_profile_type'), MAX_ID_LENGTH),
      },
      offer: rawOffer !== undefined && depthWithin(rawOffer, MAX_OFFER_DEPTH) ? rawOffer : null,
      expiresAt: readTime(own(frame, 'expires_at')),
    },
  }
}

/**
 * Turns one untrusted socket message into a typed frame, or says why it was dropped.
 * Never throws, whatever `raw` is.
 */
export function parseServerFrame(raw: unknown): ServerFrame | Rejected {
  if (typeof raw !== 'string') return { type: 'rejected', reason: 'binary or non-text frame' }
  const bytes = utf8Length(raw)
  if (bytes > MAX_FRAME_BYTES) return { type: 'rejected', reason: `frame of ${bytes} bytes is over ${MAX_FRAME_BYTES}` }
  let frame: unknown
  try {
    frame = JSON.parse(raw)
  } catch {
    return { type: 'rejected', reason: 'frame is not JSON' }
  }
  if (!isObject(frame)) return { type: 'rejected', reason: 'frame is not a JSON object' }
  const frameType = own(frame, 'type')
  if (typeof frameType !== 'string' || frameType.length === 0 || frameType.length > MAX_ID_LENGTH) {
    return { type: 'rejected', reason: 'frame has no string type' }
  }
  if (frameType === 'call_invitation' || frameType === 'incoming_call') return parseInvitation(frame, frameType)
  const rawId = own(frame, 'call_log_id')
  const callLogId = readId(rawId)
  const reason = Object.prototype.hasOwnProperty.call(endFrameTypes, frameType) ? endFrameTypes[frameType] : undefined
  if (reason !== undefined) {
    if (callLogId === null) return { type: 'rejected', reason: `${frameType} without a valid call_log_id` }
    return { type: 'end', callLogId, reason, text: raw, detail: readText(own(frame, 'reason'), MAX_ID_LENGTH) }
  }
  if (frameType === 'ack' || frameType === 'nack') {
    const of = readText(own(frame, 'of'), MAX_ID_LENGTH)
    if (of === null) return { type: 'rejected', reason: `${frameType} without the type it answers (of)` }
    if (frameType === 'ack') return { type: 'ack', of, callLogId }
    const why = own(frame, 'reason')
    return { type: 'nack', of, callLogId, reason: typeof why === 'string' ? why.slice(0, 200) : 'refused' }
  }
  if (rawId !== undefined && callLogId === null) return { type: 'rejected', reason: `${frameType} with an invalid call_log_id` }
  return { type: 'message', frameType, callLogId, text: raw }
}

/** The key of one profile's connection: `{type}:{id}`, e.g. `Tutor:1`. */
export function profileKey(profile: { id: CallLogId; type: string }): string {
  return `${profile.type}:${profile.id}`
}

/** The key of one call in maps: numbers and strings of the same id are one call. */
export function callKey(callLogId: CallLogId): string {
  return String(callLogId)
}
