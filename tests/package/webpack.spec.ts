/** A webpack 5 app that installed the tarball: its production build, with a config that says nothing of callhub. */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import webpack from 'webpack'
import type { Configuration } from 'webpack'
import { copyFile } from 'node:fs/promises'
import { expect, expectThreeTabsOnOneSocketRing, serve, test } from './consumer'
import { appDir } from './paths'

const app = appDir('webpack-app')

function compile(config: Configuration): Promise<void> {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) reject(error)
      else if (stats?.hasErrors()) reject(new Error(stats.toString({ all: false, errors: true })))
      else resolve()
    })
  })
}

test('three tabs of its production build share one socket and ring', async ({ browser, pageErrors }) => {
  const { default: config } = (await import(pathToFileURL(join(app, 'webpack.config.js')).href)) as { default: Configuration }
  await compile(config)
  await copyFile(join(app, 'index.html'), join(app, 'dist/index.html'))
  const { server, api } = await serve(join(app, 'dist'))
  try {
    const { workerUrl } = await expectThreeTabsOnOneSocketRing(browser, server.url + '/', api, pageErrors)
    // webpack bundled dist/worker.js as a chunk named after the worker's `name`.
    expect(new URL(workerUrl).pathname).toBe('/callhub.js')
  } finally {
    await server.close()
  }
})
