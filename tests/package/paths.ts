/** Where the package tests put the tarball and the apps that install it: outside the repo, so nothing in
 * them resolves from the source tree or its node_modules. One directory per checkout. */
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoDir = fileURLToPath(new URL('../..', import.meta.url))
export const fixturesDir = fileURLToPath(new URL('./fixtures', import.meta.url))
export const workDir = join(tmpdir(), `callhub-package-tests-${createHash('sha256').update(repoDir).digest('hex').slice(0, 8)}`)

/** The consumer apps, each a fresh copy of `fixtures/<name>` with the tarball installed. */
export type App = 'vite-app' | 'webpack-app' | 'script-tag'
export const apps: App[] = ['vite-app', 'webpack-app', 'script-tag']
export const appDir = (app: App): string => join(workDir, app)
