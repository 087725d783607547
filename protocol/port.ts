/**
 * The port between a tab and the host that runs the hub (the shared worker, or a tab): the API the host
 * serves and the events it pushes back. The client imports this file with `import type` only.
 */
import type { Outcome } from './errors'
import type { CallLogId, Invitation } from './wire'

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
 * The state of a profile's connection, one union decided by the hub. `signed-out`, `no-profile` and
 * `unauthorized` (before anything connects) may also come from the tab's own identity resolution.
 */
export type ConnectionState =
  | { type: 'signed-out' }
  | { type: 'no-profile'; role: string | null }
  /** A socket is opening, or open and waiting for the backend to accept its `auth` frame. */
  | { type: 'connecting'; attempt: number }
  /** The backend accepted the socket (its `auth` ack, or the open socket where the backend sends no ack). */
  | { type: 'open'; since: number }
  | { type: 'waiting'; attempt: number; retryAt: number }
  | { type: 'offline' }
  | { type: 'unauthorized'; code: number; reason: string }
  | { type: 'closed'; reason: string }

/** Which kind of host runs this tab's hub. */
export type HostMode = 'shared-worker' | 'leader-tab' | 'per-tab'

/** A call in progress on the profile: in this tab, or in another (`here: false`). */
export interface InCall {
  callLogId: CallLogId
  here: boolean
}

/** The part of a status the hub decides; the tab adds `mode` and `modeReason`. */
export type HubStatus = ConnectionState & {
  /** `Tutor:1`, or null when the tab has no profile. */
  profileKey: string | null
  /** Tabs attached to this profile's hub (0 when the tab has no profile). */
  tabs: number
  /** The last time the socket closed, with its code and reason. */
  lastClose: LastClose | null
  /** The profile's calls in progress (busy), whichever tab holds them. Absent where none ever was. */
  inCall?: InCall[]
}

export type Status = HubStatus & {
  /** Which host runs the hub for this tab, and why when it is not the shared worker. */
  mode: HostMode
  modeReason: string | null
}

export type SettleReason = 'accepted' | 'declined' | 'cancelled' | 'ended' | 'taken' | 'expired' | 'signed-out'

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

/** How the backend behaves, where backends differ. Fixed for a profile's session when it starts. */
export interface BackendOptions {
  /** Send `{"type":"auth","token"}` as the first frame. `false`: the socket URL alone identifies the profile. @default true */
  authFrame?: boolean
  /**
   * The backend acknowledges: `{"type":"ack","of":"auth"}` after it accepted the socket (and re-sent the calls
   * that still ring), and `ack` / `nack` for every answer. `false`: the socket is `open` once it opens, and an
   * answer counts once it is written. @default true
   */
  acks?: boolean
  /**
   * The application ping sent after `pingAfter` ms of silence, and the frame type that answers it (not
   * delivered as a message). `false`: no application ping. @default { frame: '{"type":"ping"}', answer: 'pong' }
   */
  ping?: { frame: string; answer: string | null } | false
  /** The backend re-sends the calls that still ring to a socket that (re)connects, before its auth ack. @default true */
  resends?: boolean
}

/** A profile's connection settings, fixed when its session starts (or by an explicit `configure`). */
export interface HubSettings {
  /** How long a profile's socket stays open after its last tab is gone, in ms. @default 3000 */
  linger?: number
  /** How long a call rings when its frame carries no `expires_at`, in ms. @default 45000 */
  ringTimeout?: number
  /** First backoff window, in ms. @default 500 */
  retryBase?: number
  /** Largest backoff window, in ms. @default 30000 */
  maxRetryDelay?: number
  /** Silence after which the hub pings the server, in ms. @default 25000 */
  pingAfter?: number
  /** How long the hub waits for any frame after a ping (or for the auth ack) before it reconnects, in ms. @default 10000 */
  pongTimeout?: number
  /** @default the reference backend's behaviour (auth frame, acks, ping/pong, re-sends) */
  backend?: BackendOptions
  /**
   * A call that arrives while another is in progress on the profile: `'ring'` as usual, `'wait'` (a
   * call-waiting dialog, no ringtone), or `'decline'` (declined with reason `busy`; the caller hears so).
   * @default 'wait'
   */
  whenBusy?: 'ring' | 'wait' | 'decline'
}

/** A call the hub remembers ending, so a tab that missed the event learns the reason from a snapshot. */
export interface Ended {
  callLogId: CallLogId
  reason: SettleReason
}

/**
 * What the hub pushes to a tab, in order on one port and batched per turn of the event loop: a `snapshot`
 * answers every attach and identify, so no later event can be overtaken by an older state.
 */
export type HubEvent =
  | { type: 'snapshot'; status: HubStatus; calls: Invitation[]; missed: Invitation[]; ended: Ended[] }
  | { type: 'status'; status: HubStatus }
  | { type: 'invitation'; invitation: Invitation }
  | { type: 'settled'; settled: Settled }
  /** Exactly one tab of a profile with ringing calls is the ringer; `anyVisible` is false when no tab is seen. */
  | { type: 'ringer'; ringer: boolean; anyVisible: boolean }
  /** The profile's missed calls not yet dismissed (the whole list, newest last). */
  | { type: 'missed'; missed: Invitation[] }
  /** A frame that is not a call frame, as the socket received it (only to tabs that listen). */
  | { type: 'message'; text: string }
  /** A frame of a call in progress in this tab (answer, ICE candidate, hang-up…), to this tab only. */
  | { type: 'call-frame'; callLogId: CallLogId; text: string }
  /** A call in progress in this tab ended: hung up here or there, its tab closed, or the profile signed out. */
  | { type: 'call-ended'; callLogId: CallLogId; reason: string }
  | { type: 'log'; line: string }

/** Exposed by each tab on the MessagePort it hands the host in `attach`. */
export interface TabEvents {
  deliver(events: HubEvent[]): void
  /** Runs the page's `recoverCalls` hook (asked only of tabs whose interests say they have one). */
  recover(): Promise<unknown[]>
}

/** What a tab wants delivered besides its calls and status. */
export interface Interests {
  /** Message frames (chat and the rest); without it the host sends this tab none. */
  messages: boolean
  /** The host's log lines, for the tab's console. */
  debug: boolean
  /** The page has a `recoverCalls` hook the hub may run after a reconnect. */
  recover: boolean
}

export interface AttachRequest {
  tabId: string
  identity: TabIdentity
  online: boolean
  presence: Presence
  /** Used only if this tab starts its profile's session; a running session keeps its own. */
  settings: HubSettings
  interests: Interests
  /** The calls this tab shows (after a host restart): they keep ringing until the hub knows better. */
  calls: Invitation[]
  /** The calls in progress in this tab (after a host restart): their frames keep coming here. */
  sessions: CallLogId[]
}

export interface Attached {
  /** A Web Lock the host holds for its whole life: a tab granted it knows the host died. Null without Web Locks. */
  hostLock: string | null
  /** Unique per host instance: a tab that sees another id knows its host restarted. */
  hostId: string
}

/** The API a host serves on every tab's port. One port belongs to one tab. Nothing throws: each answer is an `Outcome`. */
export interface HubApi {
  /** Registers the tab and its event port, then pushes a `snapshot` on it. */
  attach(request: AttachRequest, events: MessagePort): Promise<Outcome<Attached>>
  /** The tab's identity changed (login, logout, role switch, new token); a `snapshot` follows. */
  identify(identity: TabIdentity): Promise<Outcome<void>>
  /** Resolves once the backend confirmed the answer (where it confirms), with the invitation and its offer. */
  accept(callLogId: CallLogId): Promise<Outcome<Invitation>>
  decline(callLogId: CallLogId): Promise<Outcome<void>>
  /** Writes one frame (JSON text) on the profile's socket, through its outbox; resolves once written. */
  send(frame: string): Promise<Outcome<void>>
  /** This tab holds the call it placed: the frames of that call come here (the caller's side of a session). */
  track(callLogId: CallLogId): Promise<Outcome<void>>
  /** Writes a frame of a call in progress in this tab; the hub sets its `call_log_id`. */
  sessionSend(callLogId: CallLogId, frame: string): Promise<Outcome<void>>
  /** Ends a call in progress in this tab: `call_ended` with the reason goes to the backend. */
  hangup(callLogId: CallLogId, reason: string): Promise<Outcome<void>>
  /** Changes the settings of this tab's profile session, for every tab of it. */
  configure(settings: HubSettings): Promise<Outcome<void>>
  dismissMissed(callLogId: CallLogId): Promise<Outcome<void>>
  setInterests(interests: Interests): Promise<Outcome<void>>
  /** Chromium gives workers no online/offline events: tabs forward theirs. */
  setOnline(online: boolean): Promise<Outcome<void>>
  /** The tab was shown, hidden, focused or blurred: it may become, or stop being, the ringer. */
  setPresence(presence: Presence): Promise<Outcome<void>>
  /** Answers at once: the tab checks that its host is alive and still knows it (where Web Locks cannot tell). */
  ping(): Promise<Outcome<{ hostId: string; attached: boolean }>>
  detach(): Promise<Outcome<void>>
}
