/**
 * The demo's one script, loaded by every page like the platform's pages load the client: it starts callhub
 * on load and exposes its handle as `window.callHub`. Tests may set `window.callHubOptions` first.
 */
import { connectCallHub } from '../client'
import type { CallHub, CallHubOptions, HubSocket, Status } from '../client'
import { startCalls } from './call'
import { startChatWidget } from './chat-widget'

declare global {
  interface Window {
    callHub: CallHub
    callHubOptions?: CallHubOptions
    chatWebSocket?: HubSocket
  }
}

const options: CallHubOptions = { ...window.callHubOptions }
// A backend that does not re-send ringing calls to a socket that reconnects (the platform's) is asked for
// them after every reconnect instead: the reference server answers GET /api/calls?status=ringing.
if (options.backend?.resends === false && options.recoverCalls === undefined) options.recoverCalls = ringingCalls

const hub = connectCallHub(options)
window.callHub = hub

async function ringingCalls(): Promise<unknown[]> {
  const [type, id] = (hub.status.profileKey ?? ':').split(':')
  const query = new URLSearchParams({ status: 'ringing', to_profile_type: type ?? '', to_profile_id: id ?? '' })
  const { calls } = await api<{ calls: unknown[] }>(`/api/calls?${query}`)
  return calls
}
// The chat widget was written for `window.chatWebSocket = new WebSocket(…)`: it gets the hub's socket instead.
window.chatWebSocket = hub.socket()

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)
const token = () => localStorage.getItem('token') || localStorage.getItem('access_token')

function describe(status: Status): string {
  switch (status.type) {
    case 'signed-out': return 'Signed out: no connection'
    case 'no-profile': return `No ${status.role ?? ''} profile: no connection`
    case 'connecting': return `Connecting as ${status.profileKey ?? '…'}${status.attempt ? ` (attempt ${status.attempt})` : ''}`
    case 'open': return `Connected as ${status.profileKey} · one socket for ${status.tabs} tab${status.tabs === 1 ? '' : 's'} (${status.mode})`
    case 'waiting': return `Reconnecting in ${Math.max(0, Math.round((status.retryAt - Date.now()) / 1000))} s (attempt ${status.attempt})`
    case 'offline': return 'Offline: will reconnect when the network is back'
    case 'unauthorized': return 'Sign-in rejected: please sign in again'
    case 'closed': return `Closed (${status.reason})`
  }
}

const statusLine = $('#status')
hub.subscribe((status) => {
  if (!statusLine) return
  statusLine.textContent = describe(status)
  statusLine.dataset.state = status.type
})

const log = $<HTMLOListElement>('#events')
function note(text: string): void {
  if (!log) return
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`
  log.prepend(item)
  while (log.children.length > 8) log.lastElementChild?.remove()
}
hub.on('invitation', (call) => note(`${call.from.name} is calling (${call.callType})`))
hub.on('settled', ({ reason, here, invitation }) => {
  note(`call from ${invitation.from.name}: ${reason}${here ? ' here' : ''}`)
  const banner = $('#in-call')
  if (banner && reason === 'accepted' && here) {
    banner.hidden = false
    banner.textContent = `In a ${invitation.callType} call with ${invitation.from.name} (conversation ${invitation.conversationId ?? '–'})`
  }
})
hub.on('session', (session) => {
  void session.ended.then(() => {
    const banner = $('#in-call')
    if (banner) banner.hidden = true
  })
})

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers)
  const current = token()
  if (current) headers.set('authorization', `Bearer ${current}`)
  if (init.body) headers.set('content-type', 'application/json')
  const response = await fetch(path, { ...init, headers })
  const body = (await response.json().catch(() => ({}))) as T & { error?: string }
  if (!response.ok) throw new Error(body.error ?? `${path} answered ${response.status}`)
  return body
}

/** Logging in or out in this tab: other tabs learn it from the `storage` event, this one from ours. */
function identityChanged(): void {
  dispatchEvent(new Event('callhub:identity'))
  void renderAccount()
}

interface Me { name: string; username: string; roles: string[] }

async function renderAccount(): Promise<void> {
  const account = $('#account')
  if (!account) return
  const loginForm = $<HTMLFormElement>('#login')
  const signedIn = $('#signed-in')
  const me = token() ? await api<Me>('/api/me').catch(() => null) : null
  if (loginForm) loginForm.hidden = me !== null
  if (signedIn) signedIn.hidden = me === null
  if (me === null) return
  $('#who')!.textContent = `${me.name} (${me.username})`
  const roleSelect = $<HTMLSelectElement>('#role')!
  roleSelect.replaceChildren(...me.roles.map((role) => new Option(role, role)))
  roleSelect.value = localStorage.getItem('active_role') ?? me.roles[0] ?? ''
}

$<HTMLFormElement>('#login')?.addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget as HTMLFormElement
  const data = new FormData(form)
  const error = $('#login-error')!
  api<{ access_token: string }>('/api/login', { method: 'POST', body: JSON.stringify({ username: data.get('username'), password: data.get('password') }) })
    .then(({ access_token }) => {
      error.textContent = ''
      localStorage.removeItem('active_role')
      localStorage.setItem('token', access_token)
      identityChanged()
    })
    .catch((reason: Error) => {
      error.textContent = reason.message
    })
})

$('#logout')?.addEventListener('click', () => {
  localStorage.removeItem('token')
  localStorage.removeItem('access_token')
  localStorage.removeItem('active_role')
  identityChanged()
})

$<HTMLSelectElement>('#role')?.addEventListener('change', (event) => {
  localStorage.setItem('active_role', (event.currentTarget as HTMLSelectElement).value)
  identityChanged()
})

const dial = startCalls(hub, (body) => api<{ call_log_id: number }>('/api/calls', { method: 'POST', body: JSON.stringify(body) }))

async function placeCall(target: string, callType: 'voice' | 'video'): Promise<void> {
  const result = $('#call-result')!
  const cancel = $<HTMLButtonElement>('#cancel')!
  result.textContent = `Calling ${target}…`
  cancel.hidden = false
  try {
    await dial(target, callType)
  } catch (error) {
    result.textContent = String((error as Error).message)
  }
  cancel.hidden = true
}

$<HTMLFormElement>('#call')?.addEventListener('submit', (event) => {
  event.preventDefault()
  const data = new FormData(event.currentTarget as HTMLFormElement)
  void placeCall(String(data.get('target')), data.get('call_type') === 'voice' ? 'voice' : 'video')
})
$('#call-tutor')?.addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLElement
  void placeCall(button.dataset.target ?? 'Tutor:1', 'video')
})
// Cancelling a call that still rings is hanging up before it was answered: the callee hears call_cancelled.
$('#cancel')?.addEventListener('click', () => void window.demoCall?.session.hangup('cancelled'))

// Permission is asked only when the user presses this button, never on page load.
const notifyButton = $<HTMLButtonElement>('#notify')
if (notifyButton && typeof Notification !== 'undefined' && Notification.permission === 'default') {
  notifyButton.hidden = false
  notifyButton.addEventListener('click', () => {
    void Notification.requestPermission().then(() => {
      notifyButton.hidden = true
    })
  })
}

addEventListener('storage', () => void renderAccount())
void renderAccount()

const chat = $('#chat')
let chatStarted = false
hub.subscribe((status) => {
  if (chat && !chatStarted && status.profileKey !== null) {
    chatStarted = true
    startChatWidget(chat)
  }
})
