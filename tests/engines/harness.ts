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
  /**
   * Runs `script` in every page this profile loads from now on (a tab open already: from its next load),
   * before the page's own scripts: how a scenario takes away an API that some browser lacks. It must be
   * self-contained, and its argument travels as JSON.
   */
  addInitScript<Arg = null>(script: InitScript<Arg>, arg?: Arg): Promise<void>
  close(): Promise<void>
}

export type InitScript<Arg> = (arg: Arg) => void

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
  /** Empties the one visible text field `target` names, then types `text` into it with the driver's own key input. */
  fill(target: FieldTarget, text: string): Promise<void>
  /** Chooses the option whose text is `option` in the one visible `<select>` `target` names, as the driver's user would. */
  select(target: FieldTarget, option: string): Promise<void>
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

export interface FieldTarget {
  /** The field's accessible name, exactly: its `aria-label`, else the text of its `<label>` outside the field itself. */
  name: string
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

/** What `inspectField` looks for: a field by name, and in a `<select>`, an option by its text. */
export interface FieldQuery extends FieldTarget {
  option: string | null
}

export interface FieldInspection {
  /** The field `target` names, when exactly one visible `<input>`, `<textarea>` or `<select>` matches. */
  field: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement | null
  /** For a `<select>` and an option text: that option (the first with this text). */
  option: HTMLOptionElement | null
  /** Why `field` (or the option asked for) is null. */
  problem: string | null
}

/**
 * Runs in the page, in every engine (self-contained, as `inspectPage`): the form field a scenario fills or
 * chooses in, found by its accessible name the way a user finds it by its label. A `<label>` that wraps its
 * field names it with its own text only (the option texts of a wrapped `<select>` are no part of the name).
 */
export function inspectField({ name, option }: FieldQuery): FieldInspection {
  const text = (value: string | null | undefined) => (value ?? '').replace(/\s+/g, ' ').trim()
  const labelText = (label: HTMLLabelElement, field: Element) => {
    let found = ''
    const walk = (node: Node) => {
      if (node === field) return
      if (node.nodeType === Node.TEXT_NODE) found += ` ${node.textContent ?? ''}`
      node.childNodes.forEach(walk)
    }
    walk(label)
    return text(found)
  }
  const nameOf = (field: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement) => {
    const label = text(field.getAttribute('aria-label'))
    if (label !== '') return label
    return text(Array.from(field.labels ?? []).map((wrapping) => labelText(wrapping, field)).join(' '))
  }
  const visible = (element: Element) =>
    typeof element.checkVisibility === 'function' ? element.checkVisibility() : element.getClientRects().length > 0
  const fields = Array.from(document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>('input, textarea, select'))
  const matches = fields.filter((field) => visible(field) && nameOf(field) === name)
  if (matches.length !== 1) return { field: null, option: null, problem: `${matches.length} visible fields named "${name}"` }
  const field = matches[0]!
  if (option === null) return { field, option: null, problem: null }
  const chosen = field instanceof HTMLSelectElement ? Array.from(field.options).find((candidate) => text(candidate.text) === option) ?? null : null
  return { field, option: chosen, problem: chosen === null ? `no option "${option}" in "${name}"` : null }
}

/**
 * Runs in the page (self-contained): the entries of the one visible element with role `log` named `name`
 * (its `aria-label`), each entry's text, in order; null when there is no such log.
 */
export function readLog(name: string): string[] | null {
  const logs = Array.from(document.querySelectorAll('[role~="log"]')).filter((log) => log.getAttribute('aria-label')?.trim() === name)
  if (logs.length !== 1) return null
  return Array.from(logs[0]!.children).map((entry) => (entry.textContent ?? '').replace(/\s+/g, ' ').trim())
}

/**
 * Runs in the page before its scripts (every driver's first init script): the profile's first page load
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
