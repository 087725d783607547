/**
 * Which browser engines this machine can run, found by their files alone (nothing is launched here): the
 * config makes one project per engine found, the setup and the reporter say which are missing and how to
 * install them.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromiumPath } from '../browser/chromium'

export const engineNames = ['chromium', 'firefox', 'webkit'] as const
export type EngineName = (typeof engineNames)[number]

export type Installation =
  | { engine: 'chromium'; found: true; executable: string }
  | { engine: 'firefox'; found: true; executable: string }
  | { engine: 'webkit'; found: true; webDriver: string; miniBrowser: string; xvfb: string }
  | { engine: EngineName; found: false; missing: string; install: string }

/** The Debian packages that bring each engine (and, for WebKitGTK, the X server it draws into). */
export const installCommands: Record<EngineName, string> = {
  chromium: 'sudo apt-get install chromium',
  firefox: 'sudo apt-get install firefox-esr',
  webkit: 'sudo apt-get install webkit2gtk-driver xvfb',
}

const firstExisting = (paths: Array<string | undefined>): string | undefined =>
  paths.find((path): path is string => path !== undefined && path !== '' && existsSync(path))

/** MiniBrowser ships in libwebkit2gtk under the multiarch lib folder, e.g. /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1. */
function miniBrowserPaths(): string[] {
  const roots = ['/usr/lib', '/usr/lib64', '/usr/libexec']
  const found: string[] = []
  for (const root of roots) {
    for (const entry of safeList(root)) {
      if (entry.startsWith('webkit2gtk-')) found.push(join(root, entry, 'MiniBrowser'))
      for (const inner of entry.includes('-linux-') ? safeList(join(root, entry)) : []) {
        if (inner.startsWith('webkit2gtk-')) found.push(join(root, entry, inner, 'MiniBrowser'))
      }
    }
  }
  // Newest API version first: webkit2gtk-4.1 (libsoup 3) before 4.0.
  return found.sort().reverse()
}

function safeList(folder: string): string[] {
  try {
    return readdirSync(folder)
  } catch {
    return []
  }
}

function findChromium(): Installation {
  try {
    return { engine: 'chromium', found: true, executable: chromiumPath() }
  } catch {
    return { engine: 'chromium', found: false, missing: 'no Chromium, and CHROMIUM_PATH is not set', install: installCommands.chromium }
  }
}

function findFirefox(): Installation {
  const executable = firstExisting([process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox'])
  return executable !== undefined
    ? { engine: 'firefox', found: true, executable }
    : { engine: 'firefox', found: false, missing: 'no firefox-esr or firefox, and FIREFOX_PATH is not set', install: installCommands.firefox }
}

function findWebKit(): Installation {
  const webDriver = firstExisting([process.env.WEBKIT_WEBDRIVER_PATH, '/usr/bin/WebKitWebDriver'])
  const miniBrowser = firstExisting([process.env.WEBKIT_MINIBROWSER_PATH, ...miniBrowserPaths()])
  const xvfb = firstExisting(['/usr/bin/Xvfb'])
  if (webDriver !== undefined && miniBrowser !== undefined && xvfb !== undefined) return { engine: 'webkit', found: true, webDriver, miniBrowser, xvfb }
  const absent = [webDriver ?? 'WebKitWebDriver', miniBrowser ?? 'MiniBrowser', xvfb ?? 'Xvfb'].filter((part) => !part.startsWith('/'))
  return { engine: 'webkit', found: false, missing: `no ${absent.join(', ')}`, install: installCommands.webkit }
}

export function findEngines(): Installation[] {
  return [findChromium(), findFirefox(), findWebKit()]
}

/** One line per engine for the run's log: where it was found, or what is missing and how to install it. */
export function describeInstallation(installation: Installation): string {
  if (!installation.found) return `${installation.engine}: MISSING (${installation.missing}); install with: ${installation.install}`
  if (installation.engine === 'webkit') return `webkit: ${installation.webDriver} driving ${installation.miniBrowser} under ${installation.xvfb}`
  return `${installation.engine}: ${installation.executable}`
}
