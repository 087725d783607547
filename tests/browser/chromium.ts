/** Which Chromium the browser tests and benchmarks drive: CHROMIUM_PATH, else Playwright's own, else Debian's. */
import { existsSync } from 'node:fs'
import { chromium } from '@playwright/test'

export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
  // A host name that is not localhost, for pages on a plain-http origin (no Web Locks, no crypto.randomUUID).
  '--host-resolver-rules=MAP tutorly.test 127.0.0.1',
  // Camera and microphone for the WebRTC calls: generated media, no permission prompt.
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
]

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, safe(() => chromium.executablePath()), '/usr/bin/chromium', '/usr/bin/chromium-browser']
  const found = candidates.find((path): path is string => typeof path === 'string' && path !== '' && existsSync(path))
  if (found === undefined) {
    throw new Error(
      'No Chromium found for the browser tests. Install one (Debian/Ubuntu: `sudo apt-get install chromium`), ' +
        'or point CHROMIUM_PATH at a Chromium or Chrome binary.',
    )
  }
  return found
}

function safe(read: () => string): string | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
