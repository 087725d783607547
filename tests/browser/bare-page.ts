/**
 * A page with nothing on it but callhub's script tag (no demo code): for browsers where the demo's own script
 * would fail first (storage that throws), and for options the demo cannot take from JSON (functions). The
 * test starts the hub itself with `CallHub.connectCallHub(…)` in `page.evaluate`, so its options are typed.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { BrowserContext } from '@playwright/test'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bareDir = join(root, 'build', 'bare')

/** The script-tag build of the source tree (as `dist/callhub.global.js`, not minified), into `build/bare/`. */
export async function buildBarePage(): Promise<void> {
  await build({
    entryPoints: { callhub: join(root, 'client/global.ts') }, outdir: bareDir, bundle: true, format: 'iife', globalName: 'CallHub',
    platform: 'browser', target: 'es2022', logLevel: 'warning',
    // A classic script has no import.meta; client/global.ts always names the worker (`worker.js` beside it).
    define: { 'import.meta.url': 'undefined' },
  })
}

/** Serves the bare page at `${origin}/bare/` to `context`'s pages. */
export async function routeBarePage(context: BrowserContext, origin: string): Promise<string> {
  await context.route(`${origin}/bare/callhub.js`, (route) => route.fulfill({ path: join(bareDir, 'callhub.js'), contentType: 'text/javascript' }))
  await context.route(`${origin}/bare/`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare page</title></head><body><h1>Bare page</h1><script src="/bare/callhub.js"></script></body></html>',
  }))
  return `${origin}/bare/`
}
