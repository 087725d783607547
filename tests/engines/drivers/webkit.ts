/**
 * WebKitGTK through its WebKitWebDriver (WebDriver classic, with selenium-webdriver), drawing MiniBrowser
 * into an Xvfb display of its own. WebDriver classic has one current window per session and no init
 * scripts: every command is queued and first switches to its tab, and sign-in is a first navigation.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Builder, Capabilities, WebElement } from 'selenium-webdriver'
import type { WebDriver } from 'selenium-webdriver'
import { inspectPage, pageReadyTimeout } from '../harness'
import type { ClickTarget, Engine, PageFunction, PageInspection, Profile, Tab } from '../harness'

interface WebKitPaths {
  webDriver: string
  miniBrowser: string
  xvfb: string
}

export async function launchWebKit(paths: WebKitPaths): Promise<Engine> {
  const xvfb = await startXvfb(paths.xvfb)
  // The version comes from a session's capabilities: open one and keep it for the first profile.
  let spare: Promise<Session> | null = startSession(paths, xvfb.display)
  const version = (await (await spare).driver.getCapabilities()).get('browserVersion') as string
  const profiles = new Set<Profile>()
  return {
    name: 'webkit',
    version,
    async newProfile(signIn) {
      const session = await (spare ?? startSession(paths, xvfb.display))
      spare = null
      const profile = await webKitProfile(session, signIn.origin, signIn.token)
      profiles.add(profile)
      return { openTab: profile.openTab, close: () => profile.close().finally(() => profiles.delete(profile)) }
    },
    async close() {
      await Promise.all([...profiles].map((profile) => profile.close()))
      if (spare !== null) await (await spare).quit()
      xvfb.process.kill()
    },
  }
}

interface Session {
  driver: WebDriver
  quit(): Promise<void>
}

/** One WebKitWebDriver per profile: it serves one session at a time, and a session is one MiniBrowser. */
async function startSession(paths: WebKitPaths, display: string): Promise<Session> {
  const port = await freePort()
  const server = spawn(paths.webDriver, [`--port=${port}`], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await until(async () => (await fetch(`${url}/status`).catch(() => null))?.ok === true, 10_000, 'WebKitWebDriver to listen')
  const capabilities = new Capabilities({
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: paths.miniBrowser, args: ['--automation'] },
  })
  const driver = await new Builder().usingServer(url).withCapabilities(capabilities).build()
  return {
    driver,
    async quit() {
      await driver.quit().catch(() => {})
      server.kill()
    },
  }
}

async function webKitProfile(session: Session, origin: string, token: string): Promise<Profile> {
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

  // No init scripts in WebDriver classic: the first navigation signs in, and the first tab loads afresh.
  await driver.get(origin)
  await driver.executeScript('localStorage.setItem("token", arguments[0])', token)
  let unusedWindow: string | null = current

  function webKitTab(handle: string): Tab {
    const evaluate = <Result, Arg>(pageFunction: PageFunction<Arg, Result>, arg?: Arg) =>
      on(handle, () => driver.executeScript<Result>(`return (${pageFunction.toString()}).apply(null, arguments)`, arg ?? null))
    return {
      async goto(path) {
        await on(handle, () => driver.get(new URL(path, origin).href))
        await until(() => evaluate(() => window.callHub !== undefined), pageReadyTimeout, `window.callHub in ${path}`)
      },
      async back() {
        await on(handle, () => driver.navigate().back())
        await until(() => evaluate(() => window.callHub !== undefined), pageReadyTimeout, 'window.callHub after Back')
      },
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
      close: () =>
        on(handle, async () => {
          await driver.close()
          current = null
        }),
    }
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
    close: () => session.quit(),
  }
}

async function startXvfb(executable: string): Promise<{ display: string; process: ChildProcess }> {
  // -displayfd: Xvfb picks a free display and writes its number, so parallel runs never collide.
  const xvfb = spawn(executable, ['-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] })
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

async function until(condition: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`[engines] timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
