/** Chromium for the bench: Playwright drives the pages, and the debugging port lets `cdp.ts` reach workers. */
import { createServer } from 'node:net'
import { chromium } from '@playwright/test'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import type { CallHubOptions } from '../client'
import { chromiumArgs, chromiumPath } from '../tests/browser/chromium'
import type { Comparator } from './site'
import { within } from './wait'

export interface BenchBrowser {
  browser: Browser
  debuggingPort: number
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('[bench] could not find a free port')
  return address.port
}

export async function launchBrowser(): Promise<BenchBrowser> {
  const debuggingPort = await freePort()
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Headless Chromium drops every window but the last active one to one frame per second once several
    // tabs have repainted a few times (the demo's status line is enough), which would time that throttle
    // instead of the dialog. Without the limit, a frame follows a change at once, with no vsync wait;
    // contexts ask for reduced motion (see newBenchContext), or animations would render without pause.
    args: [...chromiumArgs, '--disable-frame-rate-limit', `--remote-debugging-port=${debuggingPort}`],
  })
  return { browser, debuggingPort }
}

/** What a comparator's context needs: who signs in, and callhub's options (the comparators read them too). */
export interface ContextSetup {
  baseURL: string
  token: string
  probeScript: string
  /** Options as code, so that functions (dialog strings) survive; evaluated before the page's scripts. */
  options: string
  /** `localStorage.active_role`, for a user whose first role is not the profile wanted. */
  activeRole?: string
  /** Removes `SharedWorker` before any script runs, as a browser without it: callhub falls back to `leader-tab`. */
  withoutSharedWorker?: boolean
}

/**
 * Options every comparator page reads (the comparators use `modal` and `strings`). Two of callhub's
 * extras are off throughout, as the comparators have neither: the ringtone (one tab would play audio on a
 * two-core machine) and the notices of ended calls ("… hung up"): the bench ends every call it measures,
 * and a notice per call would pile up for 2.5 s in every tab.
 */
export function optionsSource(options: Omit<CallHubOptions, 'strings'>): string {
  return `Object.assign({ ringtone: false }, ${JSON.stringify(options)}, { strings: { settledElsewhere: () => null } })`
}

export async function newBenchContext(browser: Browser, setup: ContextSetup): Promise<BrowserContext> {
  // Reduced motion: the dialog appears without its 180 ms entrance (from transparent), so the first frame
  // that has it shows it, and no animation renders frames as fast as the CPU allows (no frame-rate limit).
  const context = await browser.newContext({ baseURL: setup.baseURL, reducedMotion: 'reduce' })
  // The probe comes last: it looks for SharedWorker to know whether to track the page's sockets.
  const removeSharedWorker = setup.withoutSharedWorker === true ? "Reflect.deleteProperty(window, 'SharedWorker');" : ''
  const setRole = setup.activeRole === undefined ? '' : `localStorage.setItem('active_role', ${JSON.stringify(setup.activeRole)})`
  await context.addInitScript({
    content: `${removeSharedWorker}
window.callHubOptions = ${setup.options};
try { localStorage.setItem('token', ${JSON.stringify(setup.token)}); ${setRole} } catch {}
${setup.probeScript}`,
  })
  context.on('page', (page) => {
    page.on('pageerror', (error) => console.error(`[bench] error in ${page.url()}: ${error.message}`))
  })
  return context
}

/** Pages opened at once: on two busy cores, ten opened together once took over 30 s to report open. */
const TABS_AT_ONCE = 5

/** Opens `count` pages of `path`, a few at a time, and waits until each reports its connection open. */
export async function openTabs(context: BrowserContext, path: string, count: number): Promise<Page[]> {
  const pages: Page[] = []
  while (pages.length < count) {
    const size = Math.min(TABS_AT_ONCE, count - pages.length)
    pages.push(...(await openBatch(context, path, size).catch(async (error: unknown) => {
      // Twice, in full runs on a machine at load 20, a batch of new tabs never reported open. Say where
      // each stood, and try once more with new tabs rather than lose the whole run.
      console.error(`[bench] ${String(error)}: trying again with new tabs`)
      return openBatch(context, path, size)
    })))
  }
  return pages
}

async function openBatch(context: BrowserContext, path: string, size: number): Promise<Page[]> {
  const batch = await Promise.all(Array.from({ length: size }, () => context.newPage()))
  await Promise.all(batch.map((page) => page.goto(path)))
  const opened = Promise.all(batch.map((page) => page.evaluate(() => window.benchProbe.whenOpen())))
  try {
    await within(60_000, `${size} tabs of ${path} to open`, opened)
    return batch
  } catch (error) {
    const states = await Promise.all(batch.map((page) =>
      within(5_000, 'a status', page.evaluate(() => JSON.stringify(window.callHub?.status ?? null))).catch(String)))
    await Promise.all(batch.map((page) => page.close().catch(() => {})))
    throw new Error(`${String(error)}; their statuses: ${states.join(' | ')}`)
  }
}

/**
 * The demo profile each comparator signs in to, so their sockets are told apart on the server and
 * `/api/dev/send` reaches only its tabs. `leader-tab` is alice again, as her parent profile.
 */
export const comparatorUsers: Record<Comparator, { username: string; profileKey: string; activeRole?: string }> = {
  callhub: { username: 'alice', profileKey: 'Tutor:1' },
  'leader-tab': { username: 'alice', profileKey: 'Parent:1', activeRole: 'parent' },
  'per-tab': { username: 'carol', profileKey: 'Tutor:2' },
  relay: { username: 'bob', profileKey: 'Student:1' },
}

/** Who places the calls of the drop and failover measurements (`POST /api/calls`): no comparator's user. */
export const callerUsername = 'bob'

