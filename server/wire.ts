/**
 * The reference server's sockets: who may speak for which profile, the frames they send (answers, chat,
 * call signalling), and bounded delivery (a reader that stops reading is cut off, a dead socket is reaped).
 */
import { WebSocket } from 'ws'
import type { RawData } from 'ws'
import type { Call, CallBook, Party } from './calls'
import { ackFrame, callKeyOf, nackFrame, parseClientFrame } from './frames'
import type { CallLogId, ClientFrame, RejectedFrame } from './frames'
import { BoundedCounts, TokenBucket } from './limits'
import type { Tokens } from './tokens'
import { profileOf } from './users'
import type { Profile, Role } from './users'

export interface WireOptions {
  calls: CallBook
  tokens: Pick<Tokens, 'userOf'>
  invitationOf(call: Call): string
  socketAuth: boolean
  pong: boolean
  acks: boolean
  resendRinging: boolean
  authTimeout: number
  heartbeatInterval: number
  maxBufferedBytes: number
  slowReaderRetryAfter: number
  closeGrace: number
  chatRate: number
  signalRate: number
  maxTotalsKeys: number
  log(line: string): void
}

export interface Wire {
  /** Counts an upgrade tried on `/ws/{id}/{type}` (the key as the URL spells it). */
  attempted(key: string): void
  /** A socket that upgraded on `/ws/{id}/{type}`. */
  open(ws: WebSocket, role: Role, profileId: string): void
  /** Sends `frame` to every accepted socket of the profile `key` but `except`; answers how many took it. */
  sendToProfile(key: string, frame: string, except?: WebSocket): number
  /** Closes the live sockets that authenticated with `token` (revoked) with 4401. */
  closeToken(token: string): void
  /** Terminates every socket without a close frame; resolves once none is counted. */
  dropAll(): Promise<number>
  /** Stops sending and reading for `ms`, without closing: what sockets send waits, unread, and is read in order after. */
  stall(ms: number): number
  stats(): { connections: Record<string, number>; sockets: number; attempts: Record<string, number>; authenticated: Record<string, number>; authIgnored: Record<string, number> }
  close(): void
}

/** The hub drops frames over 64 KiB: a relayed frame must fit. */
const MAX_RELAYED_BYTES = 64 * 1024
const PONG = JSON.stringify({ type: 'pong' })

interface Peer {
  ws: WebSocket
  role: Role
  /** The profile id as the socket URL spells it. */
  claimedId: string
  /** Set once the server accepted the socket: after its `auth` frame, or at once without socket auth. */
  profile: Profile | null
  token: string | null
  /** Cleared at each heartbeat, set by a pong or any frame: still clear at the next one means dead. */
  alive: boolean
  chat: TokenBucket
  signals: TokenBucket
  /** Frames read while the server was stalled, handled in order when the stall ends. */
  held: string[]
  timers: { auth?: NodeJS.Timeout; release?: NodeJS.Timeout; cutOff?: NodeJS.Timeout }
}

export function createWire(options: WireOptions): Wire {
  const {
    calls, tokens, invitationOf, socketAuth, pong, acks, resendRinging, authTimeout, heartbeatInterval,
    maxBufferedBytes, slowReaderRetryAfter, closeGrace, chatRate, signalRate, maxTotalsKeys, log,
  } = options
  const peers = new Set<Peer>()
  /** Accepted sockets per profile key; a key with none is deleted, so the map holds live profiles only. */
  const byProfile = new Map<string, Set<Peer>>()
  const attempts = new BoundedCounts(maxTotalsKeys)
  const authenticated = new BoundedCounts(maxTotalsKeys)
  /** `auth` frames on sockets already admitted (by their first auth, or by the URL alone without socket auth). */
  const authIgnored = new BoundedCounts(maxTotalsKeys)
  let stalledUntil = 0
  let nextChatId = 1
  const stalled = () => Date.now() < stalledUntil

  function send(peer: Peer, frame: string, bytes = Buffer.byteLength(frame)): boolean {
    const { ws } = peer
    if (ws.readyState !== WebSocket.OPEN) return false
    if (ws.bufferedAmount + bytes > maxBufferedBytes) {
      cutOff(peer)
      return false
    }
    ws.send(frame)
    return true
  }

  function cutOff(peer: Peer): void {
    if (peer.timers.cutOff !== undefined) return
    log(`${peer.profile?.key ?? peer.role}: cut off a socket that does not read (${peer.ws.bufferedAmount} bytes waiting)`)
    // 1013 and retry-after tell the hub to come back later, not at once.
    peer.ws.close(1013, `retry-after=${slowReaderRetryAfter}`)
    // The close frame waits behind all that the reader never took: if that does not drain in time, drop the socket.
    peer.timers.cutOff = setTimeout(() => peer.ws.terminate(), closeGrace)
  }

  function sendToProfile(key: string, frame: string, except?: WebSocket): number {
    if (stalled()) return 0
    const bytes = Buffer.byteLength(frame)
    let sent = 0
    for (const peer of byProfile.get(key) ?? []) {
      if (peer.ws !== except && send(peer, frame, bytes)) sent += 1
    }
    return sent
  }

  function admit(peer: Peer, profile: Profile): void {
    peer.profile = profile
    const sockets = byProfile.get(profile.key) ?? new Set<Peer>()
    byProfile.set(profile.key, sockets.add(peer))
    authenticated.bump(profile.key)
  }

  function forget(peer: Peer): void {
    for (const timer of Object.values(peer.timers)) clearTimeout(timer)
    peers.delete(peer)
    if (peer.profile === null) return
    const sockets = byProfile.get(peer.profile.key)
    sockets?.delete(peer)
    if (sockets?.size === 0) byProfile.delete(peer.profile.key)
  }

  function refuse(peer: Peer, rejected: Omit<RejectedFrame, 'type'>): void {
    // A backend that acknowledges nothing refuses nothing out loud either.
    if (acks) send(peer, nackFrame(rejected))
  }

  function callOf(peer: Peer, frame: { type: ClientFrame['type']; call_log_id: CallLogId }): { call: Call; party: Party } | null {
    const key = callKeyOf(frame.call_log_id)
    const call = key === null ? undefined : calls.get(key)
    const party = call === undefined ? null : calls.partyOf(call, peer.profile!.key)
    if (call === undefined || party === null) {
      refuse(peer, { of: frame.type, call_log_id: frame.call_log_id, reason: call === undefined ? 'unknown call' : 'not your call' })
      return null
    }
    return { call, party }
  }

  function authenticate(peer: Peer, frame: ClientFrame | RejectedFrame | null): void {
    clearTimeout(peer.timers.auth)
    const token = frame?.type === 'auth' ? frame.token : null
    const user = token === null ? undefined : tokens.userOf(token)
    if (user === undefined) return peer.ws.close(4401, 'invalid token')
    const profile = profileOf(peer.role, peer.claimedId)
    if (profile === null || profile.owner !== user) return peer.ws.close(4403, 'profile not yours')
    peer.token = token
    admit(peer, profile)
    // Calls still ringing reach a socket that authenticates late: a dropped connection loses none. The ack
    // comes after them, so the hub knows that a call it held which was not re-sent has ended.
    if (resendRinging) {
      for (const call of calls.ringing()) if (call.to.key === profile.key) send(peer, invitationOf(call))
    }
    if (acks) send(peer, ackFrame('auth'))
  }

  function answer(peer: Peer, frame: Extract<ClientFrame, { type: 'call_accepted' | 'call_declined' }>): void {
    const found = callOf(peer, frame)
    if (found === null) return
    const { call, party } = found
    if (party !== 'callee') return refuse(peer, { of: frame.type, call_log_id: frame.call_log_id, reason: 'not your call' })
    if (call.status !== 'ringing') return refuse(peer, { of: frame.type, call_log_id: frame.call_log_id, reason: `call is ${call.status}` })
    const accepted = frame.type === 'call_accepted'
    if (accepted) calls.accept(call)
    else calls.settle(call, 'declined', frame.reason, 'callee')
    log(`call ${call.call_log_id}: ${call.status} by ${call.to.key}`)
    if (acks) send(peer, ackFrame(frame.type, frame.call_log_id))
    // The profile's other devices stop ringing; the caller learns the answer.
    sendToProfile(call.to.key, JSON.stringify({ type: accepted ? 'call_taken' : 'call_ended', call_log_id: call.call_log_id }), peer.ws)
    sendToProfile(call.from.key, JSON.stringify(accepted
      ? { type: 'call_accepted', call_log_id: call.call_log_id }
      : { type: 'call_declined', call_log_id: call.call_log_id, reason: frame.reason }))
  }

  function chat(peer: Peer, frame: Extract<ClientFrame, { type: 'chat_message' }>): void {
    const from = peer.profile!
    if (!peer.chat.take()) return refuse(peer, { of: frame.type, reason: `over ${chatRate} chat messages a second: send it later` })
    const to = profileOf(frame.to_profile_type, frame.to_profile_id)
    if (to === null) return refuse(peer, { of: frame.type, reason: `no ${frame.to_profile_type} profile ${frame.to_profile_id}` })
    const message = JSON.stringify({
      type: 'chat_message', id: nextChatId++, from_profile_id: from.id, from_profile_type: from.type, from_name: from.owner.name,
      to_profile_id: to.id, to_profile_type: to.type, text: frame.text, sent_at: new Date().toISOString(),
    })
    // The sender's own sockets get it too: its other tabs show the conversation, and the sender sees it went out.
    const recipients = new Set([...(byProfile.get(to.key) ?? []), ...(byProfile.get(from.key) ?? [])])
    const bytes = Buffer.byteLength(message)
    for (const recipient of recipients) send(recipient, message, bytes)
  }

  function signal(peer: Peer, frame: Extract<ClientFrame, { fields: Record<string, unknown> }>): void {
    const refuseWith = (reason: string) => refuse(peer, { of: frame.type, call_log_id: frame.call_log_id, reason })
    if (!peer.signals.take()) return refuseWith(`over ${signalRate} call frames a second`)
    const found = callOf(peer, frame)
    if (found === null) return
    const { call, party } = found
    const from = peer.profile!
    const relayed = JSON.stringify({ ...frame.fields, from_profile_id: from.id, from_profile_type: from.type })
    if (Buffer.byteLength(relayed) > MAX_RELAYED_BYTES) return refuseWith(`frame over ${MAX_RELAYED_BYTES} bytes once relayed`)
    if (frame.type === 'call_ended' && call.status === 'ringing') {
      if (party === 'callee') return refuseWith('call is ringing: decline it with call_declined')
      calls.settle(call, 'cancelled', 'cancelled', 'caller')
      log(`call ${call.call_log_id}: cancelled by ${from.key}`)
      sendToProfile(call.to.key, JSON.stringify({ type: 'call_cancelled', call_log_id: call.call_log_id }))
      return
    }
    if (call.status !== 'ringing' && call.status !== 'accepted') return refuseWith(`call is ${call.status}`)
    if (frame.type === 'call_ended') {
      const reason = frame.fields.reason
      calls.settle(call, 'ended', typeof reason === 'string' ? reason : 'hangup', party)
      log(`call ${call.call_log_id}: ended by the ${party} (${call.end_reason})`)
    }
    sendToProfile(party === 'caller' ? call.to.key : call.from.key, relayed)
  }

  function media(peer: Peer, frame: Extract<ClientFrame, { type: 'call_media' }>): void {
    const found = callOf(peer, frame)
    if (found !== null) found.call.media[found.party] = frame.state
  }

  function receive(peer: Peer, text: string): void {
    if (peer.ws.readyState !== WebSocket.OPEN) return
    const frame = parseClientFrame(text)
    if (peer.profile === null) return authenticate(peer, frame)
    if (frame === null) return
    switch (frame.type) {
      case 'rejected': return refuse(peer, frame)
      case 'auth': return void authIgnored.bump(peer.profile.key) // already admitted: it changes nothing
      case 'ping': return void (pong && send(peer, PONG))
      case 'call_accepted':
      case 'call_declined': return answer(peer, frame)
      case 'chat_message': return chat(peer, frame)
      case 'call_media': return media(peer, frame)
      default: return signal(peer, frame)
    }
  }

  function hold(peer: Peer, text: string): void {
    peer.held.push(text)
    // Paused, the socket reads no more: what the client sends waits in the network, not in this process.
    peer.ws.pause()
    peer.timers.release ??= setTimeout(function release() {
      if (stalled()) return void (peer.timers.release = setTimeout(release, stalledUntil - Date.now()))
      peer.timers.release = undefined
      for (const held of peer.held.splice(0)) receive(peer, held)
      peer.ws.resume()
    }, stalledUntil - Date.now())
  }

  function open(ws: WebSocket, role: Role, claimedId: string): void {
    const peer: Peer = {
      ws, role, claimedId, profile: null, token: null, alive: true,
      chat: new TokenBucket(chatRate), signals: new TokenBucket(signalRate), held: [], timers: {},
    }
    peers.add(peer)
    ws.on('close', () => forget(peer))
    ws.on('pong', () => (peer.alive = true))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      peer.alive = true
      if (isBinary) return
      // binaryType is 'nodebuffer': a text message is one Buffer, already checked to be UTF-8 by ws.
      const text = (data as Buffer).toString('utf8')
      if (stalled() || peer.held.length > 0) hold(peer, text)
      else receive(peer, text)
    })
    if (!socketAuth) {
      // The URL alone names the profile (the route let only existing profiles through).
      admit(peer, profileOf(role, claimedId)!)
      return
    }
    peer.timers.auth = setTimeout(function expire() {
      if (stalled()) peer.timers.auth!.refresh()
      // Not a credentials failure (4401/4403 mean only that): the client may simply retry.
      else if (peer.profile === null) ws.close(4408, 'no auth frame in time')
    }, authTimeout)
  }

  const heartbeat = setInterval(() => {
    // A stalled server reads nothing, pongs included: nobody is dead for that.
    if (stalled()) {
      for (const peer of peers) peer.alive = true
      return
    }
    for (const peer of peers) {
      if (!peer.alive) {
        log(`${peer.profile?.key ?? peer.role}: reaped a socket that answered no ping in ${heartbeatInterval} ms`)
        peer.ws.terminate()
        continue
      }
      peer.alive = false
      if (peer.ws.readyState === WebSocket.OPEN) peer.ws.ping()
    }
  }, heartbeatInterval).unref()

  return {
    attempted: (key) => attempts.bump(key),
    open,
    sendToProfile,
    closeToken(token) {
      for (const peer of peers) if (peer.token === token) peer.ws.close(4401, 'signed out')
    },
    async dropAll() {
      const dropping = [...peers].map((peer) => new Promise<void>((resolve) => {
        if (peer.ws.readyState === WebSocket.CLOSED) return resolve()
        peer.ws.once('close', () => resolve())
        peer.ws.terminate()
      }))
      await Promise.all(dropping)
      return dropping.length
    },
    stall(ms) {
      stalledUntil = Date.now() + ms
      return stalledUntil
    },
    stats() {
      const connections: Record<string, number> = {}
      for (const [key, sockets] of byProfile) {
        const open = [...sockets].filter((peer) => peer.ws.readyState === WebSocket.OPEN).length
        if (open > 0) connections[key] = open
      }
      // `sockets`: every socket held, accepted or not, closing included (what a load test watches).
      return { connections, sockets: peers.size, attempts: attempts.toJSON(), authenticated: authenticated.toJSON(), authIgnored: authIgnored.toJSON() }
    },
    close() {
      clearInterval(heartbeat)
      for (const peer of peers) {
        peer.ws.terminate()
        forget(peer)
      }
    },
  }
}
