/**
 * `npm run test:package`, first step: pack callhub as `npm publish` would (its `prepack` builds `dist/`), lint
 * the tarball with publint and @arethetypeswrong/cli (`--profile esm-only`), then make each consumer app a
 * fresh copy of its fixture with the tarball installed by `npm install <tarball>`.
 *
 * Only callhub and its dependency, Comlink, are installed into the apps (from the npm cache when it has them).
 * Vite, webpack, TypeScript and Chromium are the repo's own: the tests run them on the apps from outside, so
 * a run installs no bundler. The apps live outside the repo (paths.ts), where nothing resolves from the
 * source tree or the repo's node_modules: a dependency missing from package.json fails here as it would for
 * a user.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { appDir, apps, fixturesDir, repoDir, workDir } from './paths'

const run = promisify(execFile)

async function npm(args: string[], cwd: string): Promise<string> {
  try {
    return (await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stdout}${stderr}`)
  }
}

/** Packs, lints and installs; returns the tarball's path. */
export async function packAndInstall(): Promise<string> {
  await rm(workDir, { recursive: true, force: true })
  await mkdir(workDir, { recursive: true })
  await npm(['pack', '--pack-destination', workDir, '--loglevel', 'warn'], repoDir)
  const tarballName = (await readdir(workDir)).find((file) => file.endsWith('.tgz'))
  if (tarballName === undefined) throw new Error(`npm pack left no tarball in ${workDir}`)
  const tarball = join(workDir, tarballName)

  const bytes = await readFile(tarball)
  const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, strict: true })
  for (const message of messages) console.log(`publint ${message.type}: ${formatMessage(message, pkg) ?? message.code}`)
  if (messages.some((message) => message.type !== 'suggestion')) throw new Error('publint found problems in the tarball (above)')

  try {
    await run(join(repoDir, 'node_modules/.bin/attw'), [tarball, '--profile', 'esm-only', '--no-color'])
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`@arethetypeswrong/cli found problems in the tarball:\n${stdout}${stderr}`)
  }

  await Promise.all(apps.map(async (app) => {
    const dir = appDir(app)
    await cp(join(fixturesDir, app), dir, { recursive: true })
    // A bare app: no bundler in its dependencies, since the tests bring the repo's.
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `callhub-${app}`, private: true, type: 'module' }, null, 2))
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'warn', tarball], dir)
  }))
  return tarball
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now()
  const tarball = await packAndInstall()
  console.log(`packed ${tarball}; publint and attw (esm-only) found no problem; installed into ${apps.join(', ')} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}
