/**
 * The built-in incoming-call dialogs, rendered from the tab's mirror of the hub: one card per caller for the
 * newest few callers, the rest behind "+N more", and the profile's missed calls. A call never takes the
 * keyboard: it is announced in a live region and reached with a documented shortcut (WAI-ARIA's non-modal
 * dialog; its alert pattern for the announcement), so typing on the page can never answer it.
 */
import { callKey } from '../protocol/wire'
import type { CallLogId, Invitation } from '../protocol/wire'
import type { Settled } from '../protocol/port'
import type { Sound } from './attention'

/** Every string the dialog shows; replace any of them to localise it. */
export interface DialogStrings {
  accept: string
  decline: string
  /** The dialog's heading under the caller's name. */
  incoming: (invitation: Invitation) => string
  /** The heading instead, for a call that arrives while another is in progress (call waiting: no ringtone). */
  waiting: (invitation: Invitation) => string
  /** The dialog's accessible name; must contain the caller's name. */
  label: (invitation: Invitation) => string
  /** Read out by screen readers when a call arrives (the dialog does not take focus). */
  announce: (invitation: Invitation) => string
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
  missed: (invitation: Invitation) => string
  /** Shown for a caller whose name has no visible character. */
  unknownCaller: string
  /** The button that shows the calls beyond the first cards. */
  more: (count: number) => string
  /** On a card that stands for several calls from one caller. */
  repeated: (count: number) => string
}

export const defaultStrings: DialogStrings = {
  accept: 'Accept',
  decline: 'Decline',
  incoming: (call) => `Incoming ${call.callType} call`,
  waiting: (call) => `Call waiting: ${call.callType} call`,
  label: (call) => `Incoming ${call.callType} call from ${call.from.name}`,
  announce: (call) => `Incoming ${call.callType} call from ${call.from.name}. Press Alt+Shift+C to answer or decline.`,
  connecting: 'Connecting…',
  settledElsewhere: ({ reason, invitation }) => {
    const name = invitation.from.name
    if (reason === 'accepted') return `Call from ${name} answered in another tab`
    if (reason === 'declined') return `Call from ${name} declined in another tab`
    if (reason === 'taken') return `Call from ${name} answered on another device`
    if (reason === 'cancelled') return `${name} hung up`
    return null
  },
  failed: (error) => (error instanceof Error ? error.message.replace(/^\[callhub\]\s*/, '') : String(error)),
  soundBlocked: 'Sound is off: click anywhere on this page to hear the ringtone.',
  title: (call) => `📞 ${call.from.name} is calling`,
  notification: (call) => `Incoming ${call.callType} call`,
  dismiss: 'Dismiss',
  missed: (call) => `Missed call from ${call.from.name}`,
  unknownCaller: 'Unknown caller',
  more: (count) => `+${count} more call${count === 1 ? '' : 's'}`,
  repeated: (count) => `${count} calls`,
}

export interface DialogLayerOptions {
  onAccept: (callLogId: CallLogId) => Promise<unknown>
  onDecline: (callLogId: CallLogId) => Promise<unknown>
  onDismissMissed: (callLogId: CallLogId) => Promise<unknown>
  strings?: Partial<DialogStrings>
  /** @default document.body */
  container?: HTMLElement
  /** Relative avatar URLs resolve against this (the backend's origin). @default the page's URL */
  avatarBase?: string
  /** How long the "answered elsewhere" notice stays, in ms. @default 2500 */
  noticeDuration?: number
}

export interface DialogView {
  /** Ringing calls, oldest first (read once per render: an iterator will do). */
  calls: Iterable<Invitation>
  missed: readonly Invitation[]
  /** This tab rings, and how its sound fares. */
  ringer: boolean
  sound: Sound
}

export interface DialogLayer {
  render(view: DialogView): void
  /** A short notice in a tab that did not settle the call itself. */
  notice(settled: Settled): void
  /** Moves focus to the newest call's Accept (the keyboard shortcut does the same). */
  focusNewest(): boolean
  dispose(): void
}

/** Cards shown in full; calls beyond them are listed behind "+N more". */
const MAX_CARDS = 3
/** Rows rendered in the "+N more" list; beyond them the list says how many are left. */
const MAX_ROWS = 50
const MAX_MISSED_SHOWN = 3
const MAX_NOTICES = 3

// A neutral silhouette for callers without an avatar, or whose avatar fails to load.
const fallbackAvatar = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" fill="#8a94a6"/><circle cx="24" cy="19" r="8" fill="#fff"/><path d="M9 42c2-9 8-13 15-13s13 4 15 13z" fill="#fff"/></svg>',
)}`

const styles = `
:host { all: initial; }
.layer { position: fixed; inset-block-start: var(--callhub-top, 16px); inset-inline-end: var(--callhub-right, 16px);
  z-index: var(--callhub-z-index, 2147483000); display: flex; flex-direction: column; gap: 12px;
  width: min(360px, calc(100vw - 32px)); max-height: calc(100vh - 32px); overflow-y: auto; overscroll-behavior: contain;
  font: var(--callhub-font, 15px/1.4 system-ui, sans-serif); color-scheme: light dark; }
.layer:empty { display: none; }
@media (max-width: 600px) {
  .layer { inset-block-start: auto; inset-block-end: var(--callhub-bottom, 8px); inset-inline: 8px; width: auto; max-height: 60vh; }
}
.card, .notice, .more { box-sizing: border-box; background: var(--callhub-bg, Canvas); color: var(--callhub-fg, CanvasText);
  border-radius: var(--callhub-radius, 14px); box-shadow: var(--callhub-shadow, 0 10px 30px rgb(0 0 0 / .25));
  border: 1px solid var(--callhub-border, rgb(128 128 128 / .3)); }
.card { display: grid; grid-template-columns: 56px minmax(0, 1fr); gap: 12px 14px; padding: 16px; align-items: center;
  contain: paint; }
.card:focus-visible { outline: 3px solid var(--callhub-focus, #1a73e8); outline-offset: 2px; }
.avatar { width: 56px; height: 56px; border-radius: 50%; object-fit: cover; background: #8a94a6; }
.name { font-weight: 600; font-size: 1.05em; margin: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  unicode-bidi: isolate; line-height: 1.4; max-height: 1.4em; }
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
.notice span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; unicode-bidi: isolate; min-width: 0; }
bdi { unicode-bidi: isolate; }
.plain { flex: none; padding: 4px 10px; color: inherit; background: transparent; border: 1px solid currentColor; font-weight: 500; }
.more { padding: 8px; }
.more > .plain { width: 100%; }
.rows { list-style: none; margin: 8px 0 0; padding: 0; max-height: 40vh; overflow-y: auto; }
.rows li { display: flex; gap: 8px; align-items: center; padding: 4px 0; }
.rows li span { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; unicode-bidi: isolate; }
.rows button { flex: none; padding: 4px 8px; font-size: .9em; }
.hint { margin: 0; padding: 8px 12px; border-radius: 10px; background: var(--callhub-hint-bg, #fff4ce); color: var(--callhub-hint-fg, #4d3800); }
.announce { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
@media (prefers-reduced-motion: no-preference) { .card { animation: callhub-in .18s ease-out; } }
@keyframes callhub-in { from { transform: translateY(-8px); opacity: 0; } }
`

/** The calls of one caller, shown as one card; the newest is the one its buttons answer. */
interface Group {
  key: string
  newest: Invitation
  count: number
}

interface Card {
  element: HTMLElement
  invitation: Invitation
  count: HTMLElement
}

/** Stands for the caller's name while a sentence is built, so the name can go in as an isolated element. */
const NAME_SLOT = '\u0000'

/** Whether a name has nothing a person could see (only marks, format characters or spaces). */
function isInvisible(name: string): boolean {
  return name.replace(/[\p{M}\p{Cf}\p{Z}\p{Cc}\s]/gu, '').length === 0
}

export function createDialogLayer(options: DialogLayerOptions): DialogLayer {
  const { onAccept, onDecline, onDismissMissed, container = document.body, noticeDuration = 2_500, avatarBase } = options
  const strings: DialogStrings = { ...defaultStrings, ...options.strings }
  const host = document.createElement('callhub-dialogs')
  const root = host.attachShadow({ mode: 'open' })
  const style = document.createElement('style')
  style.textContent = styles
  const layer = element('div', 'layer')
  const hint = element('p', 'hint', strings.soundBlocked)
  hint.setAttribute('role', 'note')
  // Announcements go through a live region that exists before they do, so screen readers pick them up.
  const announcer = element('div', 'announce')
  announcer.setAttribute('role', 'alert')
  root.append(style, announcer, layer)
  const cards = new Map<string, Card>()
  const missedNotices = new Map<string, HTMLElement>()
  const notices: Array<{ element: HTMLElement; timer: ReturnType<typeof setTimeout> }> = []
  const announced = new Set<string>()
  // The "+N more" box lives as long as the layer, so its toggle keeps focus and its list its scroll position
  // while calls keep arriving; its rows are keyed like the cards.
  const more = element('div', 'more')
  const moreToggle = button('plain', '', () => {
    moreOpen = !moreOpen
    render(view)
  })
  const moreList = element('ul', 'rows')
  moreList.id = 'callhub-more'
  moreToggle.setAttribute('aria-controls', moreList.id)
  more.append(moreToggle)
  const rows = new Map<string, HTMLElement>()
  const rowsLeft = element('li', 'left')
  let moreOpen = false
  let newest: Invitation | null = null
  /** The last view rendered, with its calls read into an array (a notice or the "+N more" toggle renders it again). */
  let view: DialogView & { calls: readonly Invitation[] } = { calls: [], missed: [], ringer: false, sound: 'off' }

  function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag)
    node.className = className
    // Caller data is set as text, never parsed as HTML.
    if (text !== undefined) node.textContent = text
    return node
  }

  function button(className: string, text: string, onClick: () => void): HTMLButtonElement {
    const node = element('button', className, text)
    node.type = 'button'
    node.addEventListener('click', onClick)
    return node
  }

  /**
   * A sentence from `template` with the caller's name in it as a `<bdi>`: a right-to-left name, or one that
   * ends in digits, stays one unit and cannot reorder the words around it. The text reads as written.
   */
  function sentence(template: (invitation: Invitation) => string | null, invitation: Invitation): Node[] | null {
    const text = template({ ...invitation, from: { ...invitation.from, name: NAME_SLOT } })
    if (!text) return null
    const nodes: Node[] = []
    text.split(NAME_SLOT).forEach((part, index) => {
      if (index > 0) nodes.push(element('bdi', '', invitation.from.name))
      if (part !== '') nodes.push(document.createTextNode(part))
    })
    return nodes
  }

  /** Puts `nodes` into `parent` in this order, touching only what moved, and removes the rest. */
  function placeInOrder(parent: HTMLElement, nodes: readonly HTMLElement[]): void {
    let cursor: ChildNode | null = parent.firstChild
    for (const node of nodes) {
      if (node === cursor) cursor = cursor.nextSibling
      else parent.insertBefore(node, cursor)
    }
    while (cursor !== null) {
      const after: ChildNode | null = cursor.nextSibling
      cursor.remove()
      cursor = after
    }
  }

  /** The invitation as shown: a blank name gets a fallback, so the dialog never reads "… from ". */
  function shown(invitation: Invitation): Invitation {
    if (!isInvisible(invitation.from.name)) return invitation
    return { ...invitation, from: { ...invitation.from, name: strings.unknownCaller } }
  }

  function avatarOf(invitation: Invitation): string {
    const avatar = invitation.from.avatar
    if (avatar === null) return fallbackAvatar
    try {
      return new URL(avatar, avatarBase ?? document.baseURI).href
    } catch {
      return fallbackAvatar
    }
  }

  function mount(): void {
    if (!host.isConnected) container.append(host)
  }

  /** Runs an answer from a button: both buttons wait, and a failure is shown on the card, not thrown. */
  function answer(card: HTMLElement, action: (id: CallLogId) => Promise<unknown>, pressed: HTMLButtonElement, invitation: Invitation): void {
    const buttons = [...card.querySelectorAll('button')]
    const error = card.querySelector<HTMLElement>('.error')
    const label = pressed.textContent
    for (const each of buttons) each.disabled = true
    if (pressed.classList.contains('accept')) pressed.textContent = strings.connecting
    if (error) error.hidden = true
    action(invitation.callLogId).catch((reason: unknown) => {
      if (!card.isConnected) return
      for (const each of buttons) each.disabled = false
      pressed.textContent = label
      if (error) {
        error.textContent = strings.failed(reason)
        error.hidden = false
      }
    })
  }

  function renderCard(group: Group): Card {
    const invitation = shown(group.newest)
    const card = element('div', 'card')
    // Focusable from script only: where focus goes when the call it was on goes away (never to a button,
    // where a key pressed for the old call would answer the new one).
    card.tabIndex = -1
    card.setAttribute('role', 'dialog')
    card.setAttribute('aria-modal', 'false')
    card.setAttribute('aria-label', strings.label(invitation))
    card.dataset.callLogId = callKey(invitation.callLogId)
    const avatar = element('img', 'avatar')
    avatar.alt = ''
    avatar.src = avatarOf(invitation)
    avatar.addEventListener('error', () => {
      if (avatar.src !== fallbackAvatar) avatar.src = fallbackAvatar
    })
    const name = element('p', 'name', invitation.from.name)
    name.dir = 'auto'
    const what = element('p', 'what', invitation.waiting === true ? strings.waiting(invitation) : strings.incoming(invitation))
    const count = element('span', 'count')
    what.append(count)
    const text = element('div', 'text')
    text.append(name, what)
    const error = element('p', 'error')
    error.setAttribute('role', 'alert')
    error.hidden = true
    const actions = element('div', 'actions')
    const accept = button('accept', strings.accept, () => answer(card, onAccept, accept, group.newest))
    const decline = button('decline', strings.decline, () => answer(card, onDecline, decline, group.newest))
    actions.append(accept, decline)
    card.append(avatar, text, error, actions)
    card.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !decline.disabled) {
        event.preventDefault()
        answer(card, onDecline, decline, group.newest)
      }
    })
    return { element: card, invitation: group.newest, count }
  }

  function renderRow(group: Group): HTMLElement {
    const invitation = shown(group.newest)
    const row = element('li', '')
    row.setAttribute('aria-label', strings.label(invitation))
    const name = element('span', '', invitation.from.name)
    name.dir = 'auto'
    const accept = button('accept', strings.accept, () => answer(row, onAccept, accept, group.newest))
    const decline = button('decline', strings.decline, () => answer(row, onDecline, decline, group.newest))
    row.append(name, accept, decline)
    return row
  }

  /** The calls beyond the cards: a toggle, and when open a list of the next few (bounded work). */
  function renderMore(rest: Group[]): HTMLElement | null {
    if (rest.length === 0) {
      moreOpen = false
      rows.clear()
      return null
    }
    moreToggle.textContent = strings.more(rest.length)
    moreToggle.setAttribute('aria-expanded', String(moreOpen))
    if (!moreOpen) {
      rows.clear()
      moreList.remove()
      return more
    }
    const listed = rest.slice(0, MAX_ROWS)
    const keep = new Set(listed.map((group) => callKey(group.newest.callLogId)))
    for (const key of rows.keys()) if (!keep.has(key)) rows.delete(key)
    const ordered: HTMLElement[] = []
    for (const group of listed) {
      const key = callKey(group.newest.callLogId)
      let row = rows.get(key)
      if (row === undefined) {
        row = renderRow(group)
        rows.set(key, row)
      }
      ordered.push(row)
    }
    if (rest.length > MAX_ROWS) {
      rowsLeft.textContent = strings.more(rest.length - MAX_ROWS)
      ordered.push(rowsLeft)
    }
    placeInOrder(moreList, ordered)
    if (!moreList.isConnected) more.append(moreList)
    return more
  }

  /** Groups ringing calls by caller, newest caller first; bounded work whatever the number of calls. */
  function groupsOf(calls: Iterable<Invitation>): Group[] {
    const groups = new Map<string, Group>()
    for (const invitation of calls) {
      const { profileId, profileType, name } = invitation.from
      const key = profileId !== null ? `${profileType ?? ''}:${profileId}` : `name:${name}`
      const group = groups.get(key)
      // Re-inserting moves the caller to the end: the map's order is the order of each caller's newest call.
      if (group !== undefined) groups.delete(key)
      groups.set(key, { key, newest: invitation, count: (group?.count ?? 0) + 1 })
    }
    return [...groups.values()].reverse()
  }

  function render(next: DialogView): void {
    view = { ...next, calls: [...next.calls] }
    const groups = groupsOf(view.calls)
    const shownGroups = groups.slice(0, MAX_CARDS)
    const keep = new Set(shownGroups.map((group) => callKey(group.newest.callLogId)))
    const hadFocus = root.activeElement !== null
    for (const [key, card] of cards) {
      if (!keep.has(key)) {
        card.element.remove()
        cards.delete(key)
      }
    }
    const ordered: HTMLElement[] = []
    if (next.ringer && next.sound === 'blocked') ordered.push(hint)
    for (const group of shownGroups) {
      const key = callKey(group.newest.callLogId)
      let card = cards.get(key)
      if (card === undefined) {
        card = renderCard(group)
        cards.set(key, card)
      }
      card.count.textContent = group.count > 1 ? ` · ${strings.repeated(group.count)}` : ''
      ordered.push(card.element)
    }
    const rest = renderMore(groups.slice(MAX_CARDS))
    if (rest !== null) ordered.push(rest)
    const missedKeys = new Set<string>()
    const missed = next.missed.slice(-MAX_MISSED_SHOWN).reverse()
    for (const invitation of missed) {
      const key = callKey(invitation.callLogId)
      missedKeys.add(key)
      let notice = missedNotices.get(key)
      if (notice === undefined) {
        notice = noticeElement(sentence(strings.missed, shown(invitation)) ?? [])
        notice.append(button('plain', strings.dismiss, () => void onDismissMissed(invitation.callLogId).catch(() => {})))
        missedNotices.set(key, notice)
      }
      ordered.push(notice)
    }
    for (const [key, notice] of missedNotices) {
      if (!missedKeys.has(key)) {
        notice.remove()
        missedNotices.delete(key)
      }
    }
    for (const notice of notices) ordered.push(notice.element)
    // Only what moved is touched, so a card keeps its state (a pending Accept) across renders.
    placeInOrder(layer, ordered)
    if (ordered.length > 0) mount()
    host.dataset.ringing = String(next.ringer && groups.length > 0)
    host.dataset.sound = next.sound
    const top = shownGroups[0]?.newest ?? null
    newest = top
    if (top !== null && !announced.has(callKey(top.callLogId))) {
      announced.add(callKey(top.callLogId))
      announcer.textContent = strings.announce(shown(top))
    }
    if (announced.size > 1_000) announced.clear()
    // Focus that was inside a card that went away goes to the next call's card rather than to the page's top.
    if (hadFocus && root.activeElement === null && top !== null) cards.get(callKey(top.callLogId))?.element.focus()
  }

  function noticeElement(text: Node[]): HTMLElement {
    const notice = element('div', 'notice')
    notice.setAttribute('role', 'status')
    const span = element('span', '')
    // The sentence's own words set its direction; the name inside it is isolated (`sentence`).
    span.dir = 'auto'
    span.append(...text)
    notice.append(span)
    return notice
  }

  function focusNewest(): boolean {
    if (newest === null) return false
    const accept = cards.get(callKey(newest.callLogId))?.element.querySelector<HTMLButtonElement>('.accept')
    accept?.focus()
    return accept != null
  }

  // Alt+Shift+C (by key position, so it works on every layout and on macOS, where Option changes the
  // character) takes the keyboard to the newest call: answering is always a deliberate act.
  const onShortcut = (event: KeyboardEvent) => {
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyC' && focusNewest()) event.preventDefault()
  }
  addEventListener('keydown', onShortcut, true)

  return {
    render,
    notice(settled) {
      if (settled.here) return
      const text = sentence((invitation) => strings.settledElsewhere({ ...settled, invitation }), shown(settled.invitation))
      if (text === null) return
      const notice = noticeElement(text)
      const entry = {
        element: notice,
        timer: setTimeout(() => {
          notices.splice(notices.indexOf(entry), 1)
          notice.remove()
        }, noticeDuration),
      }
      notices.push(entry)
      while (notices.length > MAX_NOTICES) {
        const oldest = notices.shift()!
        clearTimeout(oldest.timer)
        oldest.element.remove()
      }
      // Notices come last in the layer: appending is what a render would do, without its cost per notice
      // (a thousand calls ending at once are a thousand notices in one batch).
      layer.append(notice)
      mount()
    },
    focusNewest,
    dispose() {
      removeEventListener('keydown', onShortcut, true)
      for (const notice of notices) clearTimeout(notice.timer)
      notices.length = 0
      cards.clear()
      rows.clear()
      missedNotices.clear()
      host.remove()
    },
  }
}
