/**
 * Browser-test fixtures: a fresh reference server per test on a free port, and helpers that drive its API
 * the way the platform's backend and the tests' "other users" would.
 */
import { test as base, expect } from '@playwright/test'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { demoDir } from '../../server/build'
import { startServer } from '../../server/server'
import type { ReferenceServer } from '../../server/server'
import type { CallHubOptions } from '../../client'

export interface Api {
  url: string
  login(username: string): Promise<string>
  stats(): Promise<Record<string, number>>
  /** The server's totals per profile key since it started: socket upgrades tried, sockets authenticated, and
   * `auth` frames ignored because their socket was already admitted. */
  totals(): Promise<{ attempts: Record<string, number>; authenticated: Record<string, number>; authIgnored: Record<string, number> }>
  call(token: string, to: string, body?: Record<string, unknown>): Promise<{ call_log_id: number; conversation_id: number }>
  cancel(token: string, callLogId: number): Promise<number>
  callStatus(token: string, callLogId: number): Promise<string>
  /** The server's whole record of a call (`GET /api/calls/{id}`). */
  callRecord(token: string, callLogId: number): Promise<Record<string, unknown>>
  send(to: string, frame: string): Promise<number>
  drop(): Promise<void>
  post(path: string, body: unknown, token?: string): Promise<Response>
}

export interface Fixtures {
  server: ReferenceServer
  api: Api
  /** A context whose pages start signed in as `username`, with the given client options. */
  signedIn(username: string, options?: CallHubOptions): Promise<BrowserContext>
  /** Opens `count` tabs of `path` in `context` and waits until each has a hub. */
  openTabs(context: BrowserContext, count: number, path?: string): Promise<Page[]>
  /** Errors thrown in any page of this test (must stay empty). */
  pageErrors: string[]
}

function splitKey(key: string): { profile_type: string; profile_id: number } {
  const [type, id] = key.split(':')
  return { profile_type: type!, profile_id: Number(id) }
}

export function createApi(url: string): Api {
  async function post(path: string, body: unknown, token?: string): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token) headers.authorization = `Bearer ${token}`
    return fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) })
  }
  async function ok<T>(response: Response): Promise<T> {
    if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as T
  }
  return {
    url,
    post,
    async login(username) {
      return (await ok<{ access_token: string }>(await post('/api/login', { username, password: 'demo' }))).access_token
    },
    async stats() {
      return (await ok<{ connections: Record<string, number> }>(await fetch(`${url}/api/stats`))).connections
    },
    async totals() {
      type Totals = { attempts: Record<string, number>; authenticated: Record<string, number>; authIgnored: Record<string, number> }
      const { attempts, authenticated, authIgnored } = await ok<Totals>(await fetch(`${url}/api/stats`))
      return { attempts, authenticated, authIgnored }
    },
    async call(token, to, body = {}) {
      const { profile_type, profile_id } = splitKey(to)
      return ok<{ call_log_id: number; conversation_id: number }>(await post('/api/calls', { to_profile_type: profile_type, to_profile_id: profile_id, call_type: 'video', ...body }, token))
    },
    async cancel(token, callLogId) {
      return (await post(`/api/calls/${callLogId}/cancel`, {}, token)).status
    },
    async callRecord(token, callLogId) {
      const response = await fetch(`${url}/api/calls/${callLogId}`, { headers: { authorization: `Bearer ${token}` } })
      return ok<Record<string, unknown>>(response)
    },
    async callStatus(token, callLogId) {
      const response = await fetch(`${url}/api/calls/${callLogId}`, { headers: { authorization: `Bearer ${token}` } })
      return (await ok<{ status: string }>(response)).status
    },
    async send(to, frame) {
      return (await ok<{ sent: number }>(await post('/api/dev/send', { ...splitKey(to), frame }))).sent
    },
    async drop() {
      await ok<unknown>(await post('/api/dev/drop', {}))
    },
  }
}

export async function newSignedInContext(browser: Browser, baseURL: string, token: string | null, options: CallHubOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL })
  // Options travel as JSON: functions cannot cross into the page anyway.
  await context.addInitScript(
    ({ token, options }: { token: string | null; options: string }) => {
      ;(window as unknown as { callHubOptions: unknown }).callHubOptions = JSON.parse(options)
      try {
        // Only on the context's first page load, so a test can sign out and stay signed out.
        if (token && localStorage.getItem('callhub-test-init') === null) {
          localStorage.setItem('token', token)
          localStorage.setItem('callhub-test-init', '1')
        }
      } catch {
        // about:blank has no localStorage.
      }
    },
    { token, options: JSON.stringify(options) },
  )
  return context
}

export const test = base.extend<Fixtures>({
  // A new server per test: nothing one test leaves behind (sockets, calls) reaches the next.
  server: async ({}, use) => {
    const server = await startServer({ port: 0, staticDir: demoDir, log: () => {} })
    await use(server)
    await server.close()
  },
  api: async ({ server }, use) => {
    await use(createApi(server.url))
  },
  pageErrors: async ({}, use) => {
    await use([])
  },
  signedIn: async ({ browser, server, api, pageErrors }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (username, options) => {
      const context = await newSignedInContext(browser, server.url, await api.login(username), options)
      context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(error.message)))
      contexts.push(context)
      return context
    })
    await Promise.all(contexts.map((context) => context.close()))
  },
  openTabs: async ({}, use) => {
    await use(async (context, count, path = '/') => {
      const pages = await Promise.all(Array.from({ length: count }, () => context.newPage()))
      await Promise.all(pages.map((page) => page.goto(path)))
      await Promise.all(pages.map((page) => page.waitForFunction(() => window.callHub !== undefined)))
      return pages
    })
  },
})

/** The incoming-call dialog whose accessible name names `caller`. */
export const dialogFrom = (page: Page, caller: string) => page.getByRole('dialog', { name: new RegExp(caller) })

export const statusOf = (page: Page) => page.evaluate(() => window.callHub.status)

/** Waits until every page's hub reports `open`. */
export async function expectOpen(pages: Page[]): Promise<void> {
  for (const page of pages) {
    await expect.poll(() => page.evaluate(() => window.callHub.status.type)).toBe('open')
  }
}

export { expect }
