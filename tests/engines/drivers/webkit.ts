/**
 * WebKitGTK through its WebKitWebDriver (WebDriver classic, with selenium-webdriver), drawing MiniBrowser
 * into an Xvfb display of its own. WebDriver classic has one current window per session, so every command is
 * queued and first switches to its tab; and it has no init scripts, so a proxy of the session's own puts them
 * into each page (init-script-proxy.ts).
 */
import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Builder, Capabilities, WebElement } from 'selenium-webdriver'
import type { WebDriver } from 'selenium-webdriver'
import { inspectField, inspectPage, markPageLeft, pageReadyTimeout, shownAfter, signInBeforeScripts, waitUntil } from '../harness'
import type { ClickTarget, Engine, InitScript, FieldInspection, FieldQuery, FieldTarget, PageFunction, PageInspection, Profile, Tab } from '../harness'
import { startInitScriptProxy } from './init-script-proxy'
import type { InitScriptProxy } from './init-script-proxy'

interface WebKitPaths {
  webDriver: string
  miniBrowser: string
  xvfb: string
}

export async function launchWebKit(paths: WebKitPaths): Promise<Engine> {
  const xvfb = await startXvfb(paths.xvfb)
  const sessions = new Set<Session>()
  const open = async () => {
    const session = await startSession(paths, xvfb.display)
    sessions.add(session)
    return session
  }
  // The version comes from a session's capabilities: open one now and give it to the first profile.
  let spare: Session | null = await open()
  const version = (await spare.driver.getCapabilities()).get('browserVersion') as string
  return {
    name: 'webkit',
    version,
    async newProfile({ origin, token }) {
      const session = spare ?? (await open())
      spare = null
      const profile = await webKitProfile(session, origin, token)
      return {
        openTab: profile.openTab,
        async addInitScript(script, arg) {
          session.initScripts.add(script as InitScript<unknown>, arg ?? null)
        },
        close: () => session.quit().finally(() => sessions.delete(session)),
      }
    },
    async close() {
      await Promise.all([...sessions].map((session) => session.quit()))
      xvfb.process.kill()
    },
  }
}

interface Session {
  driver: WebDriver
  /** Every page this session loads goes through it. */
  initScripts: InitScriptProxy
  quit(): Promise<void>
}

/** One WebKitWebDriver per profile: it serves one session at a time, and a session is one MiniBrowser. */
async function startSession(paths: WebKitPaths, display: string): Promise<Session> {
  const initScripts = await startInitScriptProxy()
  const port = await freePort()
  const server = spawn(paths.webDriver, [`--port=${port}`], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' })
  killOnExit(server)
  const url = `http://127.0.0.1:${port}`
  await waitUntil(async () => (await fetch(`${url}/status`).catch(() => null))?.ok === true, 10_000, 'WebKitWebDriver to listen')
  const capabilities = new Capabilities({
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: paths.miniBrowser, args: ['--automation'] },
    // WebKitGTK sends 127.0.0.1 through the proxy too (no default bypass list), ws: included.
    proxy: { proxyType: 'manual', httpProxy: initScripts.address },
  })
  const driver = await new Builder().usingServer(url).withCapabilities(capabilities).build()
  return {
    driver,
    initScripts,
    async quit() {
      await driver.quit().catch(() => {})
      server.kill()
      await initScripts.close()
    },
  }
}

async function webKitProfile(session: Session, origin: string, token: string): Promise<Pick<Profile, 'openTab'>> {
  const { driver } = session
  // WebDriver classic has one current window per session: commands take turns, each on its own tab.
  let queue: Promise<unknown> = Promise.resolve()
  /** The session's current window; null once it was closed (then WebDriver commands fail until a switch). */
  let current: string | null = await driver.getWindowHandle()
  /** Runs `command` on the tab `handle` (any open tab when null), after the commands queued before it. */
  const on = <T>(handle: string | null, command: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      const target = handle ?? current ?? (await driver.getAllWindowHandles())[0]!
      if (current !== target) {
        await driver.switchTo().window(target)
        current = target
      }
      return command()
    })
    queue = run.catch(() => {})
    return run
  }

  session.initScripts.add(signInBeforeScripts, token)
  // The session's first window is the profile's first tab.
  let unusedWindow: string | null = current

  function webKitTab(handle: string): Tab {
    const evaluate = <Result, Arg>(pageFunction: PageFunction<Arg, Result>, arg?: Arg) =>
      on(handle, () => driver.executeScript<Result>(`return (${pageFunction.toString()}).apply(null, arguments)`, arg ?? null))
    /** Leaves the page shown with `navigate`, and waits until the next page runs callhub. */
    const leave = async (navigate: () => Promise<void>) => {
      const mark = randomUUID()
      await evaluate(markPageLeft, mark)
      await on(handle, navigate)
      await waitUntil(() => evaluate(shownAfter, mark), pageReadyTimeout, 'the next page')
    }
    return {
      async goto(path) {
        await on(handle, () => driver.get(new URL(path, origin).href))
        await waitUntil(() => evaluate(() => window.callHub !== undefined), pageReadyTimeout, `window.callHub in ${path}`)
      },
      reload: () => leave(() => driver.navigate().refresh()),
      back: () => leave(() => driver.navigate().back()),
      evaluate,
      dialogs: async () => (await evaluate(inspectPage, null)).dialogs,
      async click(target: ClickTarget) {
        await on(handle, async () => {
          const inspection = await driver.executeScript<Omit<PageInspection, 'target'> & { target: WebElement | null }>(
            `return (${inspectPage.toString()}).apply(null, arguments)`, target,
          )
          if (!(inspection.target instanceof WebElement)) throw new Error(`[engines] cannot click: ${inspection.problem}`)
          await inspection.target.click()
        })
      },
      async fill(target, text) {
        await on(handle, async () => {
          const { field } = await fieldOf(target, null)
          await field.clear()
          await field.sendKeys(text)
        })
      },
      async select(target, option) {
        // WebDriver's Element Click on an `<option>` chooses it, as a user picking from the list would.
        await on(handle, async () => (await fieldOf(target, option)).chosen!.click())
      },
      close: () =>
        on(handle, async () => {
          await driver.close()
          current = null
        }),
    }
  }

  /** The field `target` names in the current tab (call it inside `on`), and the option asked for. */
  async function fieldOf(target: FieldTarget, option: string | null): Promise<{ field: WebElement; chosen: WebElement | null }> {
    const query: FieldQuery = { name: target.name, option }
    const inspection = await driver.executeScript<Omit<FieldInspection, 'field' | 'option'> & { field: WebElement | null; option: WebElement | null }>(
      `return (${inspectField.toString()}).apply(null, arguments)`, query,
    )
    if (!(inspection.field instanceof WebElement) || inspection.problem !== null) throw new Error(`[engines] cannot use a field: ${inspection.problem}`)
    return { field: inspection.field, chosen: inspection.option }
  }

  return {
    async openTab(path = '/') {
      const handle = unusedWindow ?? (await on(null, async () => {
        await driver.switchTo().newWindow('tab')
        current = await driver.getWindowHandle()
        return current
      }))
      unusedWindow = null
      const tab = webKitTab(handle)
      await tab.goto(path)
      return tab
    },
  }
}

async function startXvfb(executable: string): Promise<{ display: string; process: ChildProcess }> {
  // -displayfd: Xvfb picks a free display and writes its number, so parallel runs never collide.
  const xvfb = spawn(executable, ['-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] })
  killOnExit(xvfb)
  const display = await new Promise<string>((resolve, reject) => {
    xvfb.stdout!.once('data', (chunk: Buffer) => resolve(`:${String(chunk).trim()}`))
    xvfb.once('exit', (code) => reject(new Error(`[engines] Xvfb exited with ${code} before it chose a display`)))
  })
  return { display, process: xvfb }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A worker that exits without closing its engine (a timeout, Ctrl-C) must not leave an X server or driver behind. */
function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill()
  process.once('exit', kill)
  child.once('exit', () => process.removeListener('exit', kill))
}
