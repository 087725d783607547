import { callKey } from '../protocol'
import type { CallLogId, Invitation, Settled } from '../protocol'
import type { Sound } from './attention'

/** Every string the dialog shows; replace any of them to localise it. */
export interface DialogStrings {
  accept: string
  decline: string
  /** The dialog's heading under the caller's name. */
  incoming: (invitation: Invitation) => string
  /** The dialog's accessible name; must contain the caller's name. */
  label: (invitation: Invitation) => string
  connecting: string
  /** Shown briefly in the tabs that did not answer. */
  settledElsewhere: (settled: Settled) => string | null
  failed: (error: unknown) => string
  /** Shown in the ringing tab when the browser refused to play sound. */
  soundBlocked: string
  /** The document title of hidden tabs alternates with this while a call rings. */
  title: (invitation: Invitation) => string
  /** The system notification's title (its body is the caller's name). */
  notification: (invitation: Invitation) => string
  dismiss: string
}

export const defaultStrings: DialogStrings = {
  accept: 'Accept',
  decline: 'Decline',
  incoming: (call) => `Incoming ${call.callType} call`,
  label: (call) => `Incoming ${call.callType} call from ${call.from.name}`,
  connecting: 'Connecting…',
  settledElsewhere: ({ reason, invitation }) => {
    const name = invitation.from.name
    if (reason === 'accepted') return `Call from ${name} answered in another tab`
    if (reason === 'declined') return `Call from ${name} declined in another tab`
    if (reason === 'taken') return `Call from ${name} answered on another device`
    if (reason === 'cancelled') return `${name} hung up`
    if (reason === 'expired') return `Missed call from ${name}`
    return null
  },
  failed: (error) => (error instanceof Error ? error.message.replace(/^\[callhub\]\s*/, '') : String(error)),
  soundBlocked: 'Sound is off: click anywhere on this page to hear the ringtone.',
  title: (call) => `📞 ${call.from.name} is calling`,
  notification: (call) => `Incoming ${call.callType} call`,
  dismiss: 'Dismiss',
}

export interface DialogLayerOptions {
  onAccept: (callLogId: CallLogId) => Promise<unknown>
  onDecline: (callLogId: CallLogId) => Promise<unknown>
  strings?: Partial<DialogStrings>
  /** @default document.body */
  container?: HTMLElement
  /** How long the "answered elsewhere" notice stays, in ms. @default 2500 */
  noticeDuration?: number
}

export interface DialogLayer {
  show(invitation: Invitation): void
  settle(settled: Settled): void
  /** Marks the tab that rings (`data-ringing`, `data-sound` on the host) and hints when sound is blocked. */
  setRinging(ringer: boolean, sound: Sound): void
  /** Closes every dialog without a notice (logout, hub closed). */
  clear(): void
  dispose(): void
}

// A neutral silhouette for callers without an avatar, or whose avatar fails to load.
const fallbackAvatar = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" fill="#8a94a6"/><circle cx="24" cy="19" r="8" fill="#fff"/><path d="M9 42c2-9 8-13 15-13s13 4 15 13z" fill="#fff"/></svg>',
)}`

const styles = `
:host { all: initial; }
.layer { position: fixed; inset-block-start: var(--callhub-top, 16px); inset-inline-end: var(--callhub-right, 16px);
  z-index: var(--callhub-z-index, 2147483000); display: flex; flex-direction: column; gap: 12px;
  width: min(360px, calc(100vw - 32px)); font: var(--callhub-font, 15px/1.4 system-ui, sans-serif);
  color-scheme: light dark; }
.card, .notice { box-sizing: border-box; background: var(--callhub-bg, Canvas); color: var(--callhub-fg, CanvasText);
  border-radius: var(--callhub-radius, 14px); box-shadow: var(--callhub-shadow, 0 10px 30px rgb(0 0 0 / .25));
  border: 1px solid var(--callhub-border, rgb(128 128 128 / .3)); }
.card { display: grid; grid-template-columns: 56px 1fr; gap: 12px 14px; padding: 16px; align-items: center; }
.avatar { width: 56px; height: 56px; border-radius: 50%; object-fit: cover; background: #8a94a6; }
.name { font-weight: 600; font-size: 1.05em; margin: 0; overflow-wrap: anywhere; }
.what { margin: 2px 0 0; opacity: .75; }
.error { grid-column: 1 / -1; margin: 0; color: var(--callhub-danger, #c62828); }
.actions { grid-column: 1 / -1; display: flex; gap: 10px; }
button { flex: 1; font: inherit; font-weight: 600; padding: 10px 12px; border: 0; cursor: pointer;
  border-radius: var(--callhub-button-radius, 10px); color: #fff; }
button:focus-visible { outline: 3px solid var(--callhub-focus, #1a73e8); outline-offset: 2px; }
button:disabled { opacity: .6; cursor: progress; }
.accept { background: var(--callhub-accept, #1b873f); }
.decline { background: var(--callhub-decline, #c62828); }
.notice { padding: 12px 16px; display: flex; gap: 12px; align-items: center; justify-content: space-between; }
.notice button { flex: none; padding: 4px 10px; color: inherit; background: transparent; border: 1px solid currentColor; font-weight: 500; }
.hint { margin: 0; padding: 8px 12px; border-radius: 10px; background: var(--callhub-hint-bg, #fff4ce); color: var(--callhub-hint-fg, #4d3800); }
@media (prefers-reduced-motion: no-preference) { .card { animation: callhub-in .18s ease-out; } }
@keyframes callhub-in { from { transform: translateY(-8px); opacity: 0; } }
`

interface OpenDialog {
  card: HTMLElement
  invitation: Invitation
}

/** The built-in incoming-call dialogs: one card per ringing call, in a Shadow DOM of their own. */
export function createDialogLayer(options: DialogLayerOptions): DialogLayer {
  const { onAccept, onDecline, container = document.body, noticeDuration = 2_500 } = options
  const strings: DialogStrings = { ...defaultStrings, ...options.strings }
  const host = document.createElement('callhub-dialogs')
  const root = host.attachShadow({ mode: 'open' })
  const style = document.createElement('style')
  style.textContent = styles
  const layer = document.createElement('div')
  layer.className = 'layer'
  const hint = element('p', 'hint', strings.soundBlocked)
  hint.setAttribute('role', 'note')
  hint.hidden = true
  layer.append(hint)
  root.append(style, layer)
  const open = new Map<string, OpenDialog>()
  const notices = new Set<ReturnType<typeof setTimeout>>()

  function mount(): void {
    if (!host.isConnected) container.append(host)
  }

  function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag)
    node.className = className
    // Caller data is set as text, never parsed as HTML.
    if (text !== undefined) node.textContent = text
    return node
  }

  function render(invitation: Invitation): HTMLElement {
    const key = callKey(invitation.callLogId)
    const card = element('div', 'card')
    card.setAttribute('role', 'dialog')
    card.setAttribute('aria-label', strings.label(invitation))
    card.dataset.callLogId = key
    const avatar = element('img', 'avatar')
    avatar.alt = ''
    avatar.src = invitation.from.avatar ?? fallbackAvatar
    avatar.addEventListener('error', () => {
      if (avatar.src !== fallbackAvatar) avatar.src = fallbackAvatar
    })
    const text = element('div', 'text')
    text.append(element('p', 'name', invitation.from.name), element('p', 'what', strings.incoming(invitation)))
    const error = element('p', 'error')
    error.setAttribute('role', 'alert')
    error.hidden = true
    const accept = element('button', 'accept', strings.accept)
    const decline = element('button', 'decline', strings.decline)
    accept.type = decline.type = 'button'
    const actions = element('div', 'actions')
    actions.append(accept, decline)
    card.append(avatar, text, error, actions)

    const answer = (action: (id: CallLogId) => Promise<unknown>, button: HTMLButtonElement) => {
      const label = button.textContent
      accept.disabled = decline.disabled = true
      button.textContent = button === accept ? strings.connecting : label
      error.hidden = true
      action(invitation.callLogId).catch((reason: unknown) => {
        if (!card.isConnected) return
        accept.disabled = decline.disabled = false
        button.textContent = label
        error.textContent = strings.failed(reason)
        error.hidden = false
      })
    }
    accept.addEventListener('click', () => answer(onAccept, accept))
    decline.addEventListener('click', () => answer(onDecline, decline))
    card.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !decline.disabled) {
        event.preventDefault()
        answer(onDecline, decline)
      }
    })
    return card
  }

  function remove(key: string): OpenDialog | undefined {
    const dialog = open.get(key)
    if (dialog === undefined) return undefined
    open.delete(key)
    const hadFocus = dialog.card.contains(root.activeElement)
    dialog.card.remove()
    if (hadFocus) {
      const next = open.values().next()
      if (!next.done) next.value.card.querySelector<HTMLButtonElement>('.accept')?.focus()
    }
    return dialog
  }

  /** A short notice that goes away by itself; a missed call stays until dismissed. */
  function notify(text: string, sticky: boolean): void {
    mount()
    const notice = element('div', 'notice')
    notice.setAttribute('role', 'status')
    notice.append(element('span', 'notice-text', text))
    layer.append(notice)
    if (sticky) {
      const dismiss = element('button', 'dismiss', strings.dismiss)
      dismiss.type = 'button'
      dismiss.addEventListener('click', () => notice.remove())
      notice.append(dismiss)
      return
    }
    const timer = setTimeout(() => {
      notices.delete(timer)
      notice.remove()
    }, noticeDuration)
    notices.add(timer)
  }

  return {
    show(invitation) {
      const key = callKey(invitation.callLogId)
      if (open.has(key)) return
      mount()
      const card = render(invitation)
      open.set(key, { card, invitation })
      layer.append(card)
      card.querySelector<HTMLButtonElement>('.accept')?.focus({ preventScroll: true })
    },
    settle(settled) {
      const dialog = remove(callKey(settled.callLogId))
      if (dialog === undefined || settled.here) return
      const text = strings.settledElsewhere(settled)
      if (text) notify(text, settled.reason === 'expired')
    },
    setRinging(ringer, sound) {
      host.dataset.ringing = String(ringer)
      host.dataset.sound = sound
      hint.hidden = !(ringer && sound === 'blocked')
    },
    clear() {
      for (const key of [...open.keys()]) remove(key)
      hint.hidden = true
    },
    dispose() {
      for (const timer of notices) clearTimeout(timer)
      notices.clear()
      open.clear()
      host.remove()
    },
  }
}
