/**
 * The wire protocol, shared by the worker, the page client and the reference server.
 *
 * - Backend ↔ hub: the JSON frames on the WebSocket, and `parseServerFrame`, the only place where untrusted
 *   socket data becomes typed values. Everything after it trusts its types.
 * - Hub ↔ tab: the port API that the worker exposes with Comlink, and the events it pushes back.
 *
 * No DOM, no worker globals: this file typechecks in every program of the repo.
 */

/** Frames larger than this are dropped with a logged reason. */
export const MAX_FRAME_BYTES = 64 * 1024
/** Caller names are cut to this many characters. */
export const MAX_NAME_LENGTH = 100
/** Deeper `offer` values are dropped (structured clone and renderers recurse). */
const MAX_OFFER_DEPTH = 32
const MAX_ID_LENGTH = 128
const MAX_URL_LENGTH = 2048

export type CallLogId = string | number
export type CallType = 'voice' | 'video'

/** A call that rings, normalised from `call_invitation` or the older `incoming_call`. */
export interface Invitation {
  callLogId: CallLogId
  conversationId: CallLogId | null
  callType: CallType
  from: {
    name: string
    /** Only http(s) or relative URLs survive the parser; anything else becomes null. */
    avatar: string | null
    profileId: CallLogId | null
    profileType: string | null
  }
  /** Passed through untouched for the app's WebRTC code (SDP or an object holding one). */
  offer: unknown
  /** Epoch milliseconds from the frame's `expires_at`, or null when the frame has none. */
  expiresAt: number | null
}

/** Why a ringing call stopped ringing. */
export type EndReason = 'cancelled' | 'ended' | 'taken'

export type ServerFrame =
  | { type: 'invitation'; invitation: Invitation }
  | { type: 'end'; callLogId: CallLogId; reason: EndReason }
  | { type: 'pong' }
  /** A well-formed frame of a type the hub does not handle: not a call, breaks nothing. */
  | { type: 'other'; frameType: string }

export interface Rejected {
  type: 'rejected'
  reason: string
}

/** Frames the hub sends to the backend. The token travels only in `auth`, never in a URL. */
export type HubFrame =
  | { type: 'auth'; token: string }
  | { type: 'ping' }
  | { type: 'call_accepted'; call_log_id: CallLogId; conversation_id: CallLogId | null }
  | { type: 'call_declined'; call_log_id: CallLogId; conversation_id: CallLogId | null }

const endFrameTypes: Record<string, EndReason> = {
  call_cancelled: 'cancelled',
  call_ended: 'ended',
  call_taken: 'taken',
}

type JsonObject = Record<string, unknown>

function own(object: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readId(value: unknown): CallLogId | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string') {
    const id = value.trim()
    return id.length > 0 && id.length <= MAX_ID_LENGTH ? id : null
  }
  return null
}

function readName(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const name = value.replace(/\s+/g, ' ').trim()
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

function depthWithin(value: unknown, limit: number): boolean {
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

function utf8Length(text: string): number {
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
  const reason = Object.prototype.hasOwnProperty.call(endFrameTypes, frameType) ? endFrameTypes[frameType] : undefined
  if (reason !== undefined) {
    const callLogId = readId(own(frame, 'call_log_id'))
    if (callLogId === null) return { type: 'rejected', reason: `${frameType} without a valid call_log_id` }
    return { type: 'end', callLogId, reason }
  }
  if (frameType === 'pong') return { type: 'pong' }
  return { type: 'other', frameType }
}

/** The key of one profile's connection: `{type}:{id}`, e.g. `Tutor:1`. */
export function profileKey(profile: Profile): string {
  return `${profile.type}:${profile.id}`
}

/** The key of one call in maps: numbers and strings of the same id are one call. */
export function callKey(callLogId: CallLogId): string {
  return String(callLogId)
}

// ---------------------------------------------------------------------------------------------------------
// Hub ↔ tab: the port API.

export interface Profile {
  id: CallLogId
  /** Capitalised role, as in the socket URL: `Tutor`, `Student`, `Parent`, `Advertiser`. */
  type: string
}

/** What a tab knows about who is signed in. Only `profile` connects anything. */
export type TabIdentity =
  | { type: 'signed-out' }
  | { type: 'no-profile'; role: string | null }
  | { type: 'profile'; profile: Profile; token: string; url: string }

export interface LastClose {
  code: number
  reason: string
  at: number
}

/**
 * The state of a tab's connection. One union, changed in one place per side: `signed-out` and
 * `no-profile` come from the tab's identity, the rest from the worker's connection for that profile.
 */
export type ConnectionState =
  | { type: 'signed-out' }
  | { type: 'no-profile'; role: string | null }
  | { type: 'connecting'; attempt: number }
  | { type: 'open'; since: number }
  | { type: 'waiting'; attempt: number; retryAt: number }
  | { type: 'offline' }
  | { type: 'unauthorized'; code: number; reason: string }
  | { type: 'closed'; reason: string }

export type Status = ConnectionState & {
  /** `Tutor:1`, or null when the tab has no profile. */
  profileKey: string | null
  /** Tabs attached to this profile in the worker (0 when the tab has no profile). */
  tabs: number
  /** The last time the socket closed, with its code and reason. */
  lastClose: LastClose | null
}

export type SettleReason = 'accepted' | 'declined' | EndReason | 'expired' | 'signed-out'

export interface Settled {
  callLogId: CallLogId
  reason: SettleReason
  /** True in the tab whose Accept or Decline settled the call. */
  here: boolean
  invitation: Invitation
}

/** Whether a tab can be seen, and whether it has the focus. */
export interface Presence {
  visible: boolean
  focused: boolean
}

/**
 * What the worker pushes to a tab, batched per turn of the event loop, in order on one port: a `snapshot`
 * answers every attach and identify, so no later event can be overtaken by an older state.
 */
export type HubEvent =
  | { type: 'snapshot'; status: Status; calls: Invitation[] }
  | { type: 'status'; status: Status }
  | { type: 'invitation'; invitation: Invitation }
  | { type: 'settled'; settled: Settled }
  /** Exactly one tab of a profile with ringing calls is the ringer; `anyVisible` is false when no tab is seen. */
  | { type: 'ringer'; ringer: boolean; anyVisible: boolean }
  | { type: 'log'; line: string }

/** Exposed by each tab on the MessagePort it hands the worker in `attach`. */
export interface TabEvents {
  deliver(events: HubEvent[]): void
}

/** Worker settings a tab may pass; the tab that attaches last wins. */
export interface HubSettings {
  /** How long a profile's socket stays open after its last tab is gone. @default 3000 */
  linger?: number
  /** How long a call rings when its frame carries no `expires_at`. @default 45000 */
  ringTimeout?: number
  /** First backoff window, in ms. @default 500 */
  retryBase?: number
  /** Largest backoff window, in ms. @default 30000 */
  maxRetryDelay?: number
  /** Silence after which the hub pings the server, in ms. @default 25000 */
  pingAfter?: number
  /** How long the hub waits for any frame after a ping before it reconnects, in ms. @default 10000 */
  pongTimeout?: number
  /** Send the worker's log lines to the tabs' consoles. @default false */
  debug?: boolean
}

export interface AttachRequest {
  tabId: string
  identity: TabIdentity
  online: boolean
  presence: Presence
  settings: HubSettings
}

export interface Attached {
  /** A Web Lock the worker holds for its whole life: a tab granted it knows the worker died. */
  workerLock: string
}

/** The API the worker exposes with Comlink on every tab's port. One port belongs to one tab. */
export interface HubApi {
  /** Registers the tab and its event port, then pushes a `snapshot` (status and ringing calls) on it. */
  attach(request: AttachRequest, events: MessagePort): Promise<Attached>
  /** The tab's identity changed (login, logout, role switch, new token); a `snapshot` follows. */
  identify(identity: TabIdentity): void
  accept(callLogId: CallLogId): Invitation
  decline(callLogId: CallLogId): void
  /** Chromium gives workers no online/offline events: tabs forward theirs. */
  setOnline(online: boolean): void
  /** The tab was shown, hidden, focused or blurred: it may become, or stop being, the ringer. */
  setPresence(presence: Presence): void
  detach(): void
}

/** Names of the errors that cross the port (Comlink keeps `name`). */
export const hubErrorNames = {
  notRinging: 'CallNotRingingError',
  notConnected: 'HubNotConnectedError',
  notAttached: 'TabNotAttachedError',
} as const
