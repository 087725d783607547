/**
 * What a cross-engine scenario can do with a browser, the same whichever engine and driver is behind it:
 * Chromium through Playwright, Firefox through puppeteer-core over WebDriver BiDi, WebKitGTK through
 * WebKitWebDriver (selenium-webdriver). Each driver implements these three interfaces; scenarios see nothing else.
 */
import type { EngineName } from './installed'

export interface Engine {
  readonly name: EngineName
  /** The browser's own version string, e.g. `156.0.8078.114`. */
  readonly version: string
  /** A fresh browser profile signed in with `token` on `origin`: its own storage, so its own SharedWorker. */
  newProfile(signIn: SignIn): Promise<Profile>
  close(): Promise<void>
}

export interface SignIn {
  origin: string
  token: string
}

export interface Profile {
  /** Opens a new tab at `path` (relative to the profile's origin) and waits until the page exposes `window.callHub`. */
  openTab(path?: string): Promise<Tab>
  close(): Promise<void>
}

export interface Tab {
  /** Loads `path` (relative to the profile's origin) in this tab and waits until the new page exposes `window.callHub`. */
  goto(path: string): Promise<void>
  /** The browser's Reload button; waits until the new page exposes `window.callHub`. */
  reload(): Promise<void>
  /** The browser's Back button; waits until the page shown exposes `window.callHub`. */
  back(): Promise<void>
  /** Runs `pageFunction` in the page (it must be self-contained); its argument and result travel as JSON. */
  evaluate<Result, Arg = null>(pageFunction: PageFunction<Arg, Result>, arg?: Arg): Promise<Result>
  /** The visible dialogs (role `dialog`), open shadow roots included, by accessible name with their buttons' names. */
  dialogs(): Promise<DialogSeen[]>
  /** Clicks, with the driver's own pointer input (a user activation), the one visible button `target` names. */
  click(target: ClickTarget): Promise<void>
  /** Closes the tab from the browser's side: the page gets no say (no `hub.close()`, no `beforeunload` prompt). */
  close(): Promise<void>
}

export type PageFunction<Arg, Result> = (arg: Arg) => Result | Promise<Result>

export interface DialogSeen {
  name: string
  buttons: string[]
}

export interface ClickTarget {
  /** The button's accessible name, exactly. */
  name: string
  /** Only inside the dialog whose accessible name contains this. */
  dialog?: string
}

export interface PageInspection {
  dialogs: DialogSeen[]
  /** The button `target` names, when exactly one visible button matches. */
  target: Element | null
  /** Why `target` is null when one was given. */
  problem: string | null
}

/**
 * Runs in the page, in every engine (so it is self-contained: no imports, no closures): the visible dialogs,
 * and the button a click aims at. Roles and names follow ARIA for what callhub and the demo use: an explicit
 * `role`, or the implicit role of `<dialog>` and `<button>`; the name from `aria-labelledby`, else
 * `aria-label`, else (buttons) the text. Open shadow roots are searched. It is computed in the page because
 * the drivers' own accessibility queries differ: Firefox's BiDi locator does not look into shadow roots
 * (puppeteer's `::-p-aria` finds no callhub dialog), and WebDriver classic computes an element's role but
 * cannot search by it.
 */
export function inspectPage(target: ClickTarget | null): PageInspection {
  const implicitRoles: Record<string, string> = { DIALOG: 'dialog', BUTTON: 'button' }
  const text = (value: string | null | undefined) => (value ?? '').replace(/\s+/g, ' ').trim()
  const roleOf = (element: Element) => element.getAttribute('role')?.trim().split(/\s+/)[0] ?? implicitRoles[element.tagName] ?? null
  const nameOf = (element: Element): string => {
    const labelledBy = element.getAttribute('aria-labelledby')
    if (labelledBy) {
      const root = element.getRootNode() as Document | ShadowRoot
      return text(labelledBy.split(/\s+/).map((id) => root.getElementById(id)?.textContent ?? '').join(' '))
    }
    const label = text(element.getAttribute('aria-label'))
    if (label !== '') return label
    return roleOf(element) === 'button' ? text(element.textContent) : ''
  }
  const visible = (element: Element) =>
    typeof element.checkVisibility === 'function' ? element.checkVisibility() : element.getClientRects().length > 0
  const query = (scope: Document | Element, role: string) => {
    const found: Array<{ element: Element; name: string }> = []
    const walk = (root: Document | Element | ShadowRoot) => {
      for (const element of Array.from(root.querySelectorAll('*'))) {
        if (roleOf(element) === role && visible(element)) found.push({ element, name: nameOf(element) })
        if (element.shadowRoot) walk(element.shadowRoot)
      }
    }
    walk(scope)
    return found
  }

  const dialogs = query(document, 'dialog')
  const seen = dialogs.map(({ element, name }) => ({ name, buttons: query(element, 'button').map((button) => button.name) }))
  if (target === null) return { dialogs: seen, target: null, problem: null }
  const { name, dialog } = target
  const scopes = dialog === undefined ? [document] : dialogs.filter((found) => found.name.includes(dialog)).map(({ element }) => element)
  if (scopes.length === 0) return { dialogs: seen, target: null, problem: `no visible dialog named "${dialog}"` }
  const matches = scopes.flatMap((scope) => query(scope, 'button')).filter((found) => found.name === name)
  if (matches.length === 1) return { dialogs: seen, target: matches[0]!.element, problem: null }
  return { dialogs: seen, target: null, problem: `${matches.length} visible buttons named "${name}"${dialog ? ` in "${dialog}"` : ''}` }
}

/**
 * Runs in the page before its scripts, where the driver has init scripts: the profile's first page load
 * signs in, later loads leave storage alone so that a scenario can sign out and stay signed out.
 */
export function signInBeforeScripts(token: string): void {
  try {
    if (localStorage.getItem('callhub-engines-signed-in') !== null) return
    localStorage.setItem('token', token)
    localStorage.setItem('callhub-engines-signed-in', '1')
  } catch {
    // about:blank and opaque origins have no localStorage.
  }
}

/** Every driver waits this long for a new page to expose `window.callHub`. */
export const pageReadyTimeout = 15_000

type MarkedWindow = Window & { enginesPageLeft?: string }

/** Runs in the page: marks the page being left, so that a wait can tell when another page is shown. */
export function markPageLeft(mark: string): void {
  ;(window as MarkedWindow).enginesPageLeft = mark
}

/**
 * Runs in the page: another page than the marked one is shown, and it runs callhub. A page restored from
 * the back/forward cache fires no `load`, so this, not a load event, says that Back is done.
 */
export function shownAfter(mark: string): boolean {
  return (window as MarkedWindow).enginesPageLeft !== mark && window.callHub !== undefined
}

/** Polls `condition` (a failure counts as false: the page may be between documents) until it holds. */
export async function waitUntil(condition: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`[engines] timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
