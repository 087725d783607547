/**
 * A Vite app that installed the tarball, with no Vite config at all: it type-checks with `strict`, and three
 * tabs share one socket and ring, from its `vite build` and through the dev server (whose dependency optimiser
 * pre-bundles callhub into node_modules/.vite/deps, away from its worker.js).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { build, createServer } from 'vite'
import { expect, expectThreeTabsOnOneSocketRing, serve, test } from './consumer'
import { appDir, repoDir } from './paths'

const app = appDir('vite-app')

test('the app type-checks against the packed types with strict', async () => {
  const tsc = join(repoDir, 'node_modules/typescript/bin/tsc')
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')]).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  )
  expect(result).toBe('')
})

test('three tabs of its vite build share one socket and ring', async ({ browser, pageErrors }) => {
  await build({ root: app, configFile: false, logLevel: 'warn' })
  const { server, api } = await serve(join(app, 'dist'))
  try {
    const { workerUrl } = await expectThreeTabsOnOneSocketRing(browser, server.url + '/', api, pageErrors)
    // Vite bundled dist/worker.js as a worker chunk of the app.
    expect(new URL(workerUrl).pathname).toMatch(/^\/assets\/worker-[\w-]+\.js$/)
  } finally {
    await server.close()
  }
})

test('three tabs through the vite dev server share one socket and ring', async ({ browser, pageErrors }) => {
  const { server, api } = await serve(app)
  // The proxy stands for the app's own backend route; nothing in it is about callhub.
  const vite = await createServer({
    root: app, configFile: false, logLevel: 'warn', optimizeDeps: { force: true },
    server: {
      host: '127.0.0.1', port: 0,
      proxy: { '/api': server.url, '/ws': { target: server.url.replace(/^http/, 'ws'), ws: true } },
    },
  })
  try {
    await vite.listen()
    const url = vite.resolvedUrls?.local[0]
    if (url === undefined) throw new Error('the vite dev server has no local URL')
    const { workerUrl, loaded } = await expectThreeTabsOnOneSocketRing(browser, url, api, pageErrors)
    // The page ran the pre-bundled copy, and Vite (8.0+) pointed its worker URL back at the package's file.
    expect(loaded.some((entry) => new URL(entry).pathname.endsWith('/node_modules/.vite/deps/callhub.js'))).toBe(true)
    expect(new URL(workerUrl).pathname).toMatch(/\/node_modules\/callhub\/dist\/worker\.js$/)
  } finally {
    await vite.close()
    await server.close()
  }
})
