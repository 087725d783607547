/**
 * The second half of `npm run mutate`: reads Stryker's JSON report, prints the score of each file, writes the
 * survivors that are not listed as equivalent (`equivalents.ts`, each with why) to
 * `reports/mutation/survivors.txt`, and fails when a file scores under its floor. Stryker's own `break`
 * threshold holds the overall score. It also fails on any survivor not listed (issue 15: no survivor outside the
 * listed equivalents).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { equivalents } from './equivalents'
import type { Equivalent } from './equivalents'

/** The aim for every file (killed and timed out, over all that ran or had no coverage). */
export const AIM = 85
/**
 * Each file's floor: its score when last measured, rounded down, so a change that lets mutants survive fails
 * the run (a ratchet, above the aim too). Raise a floor when tests kill more.
 */
export const floors: Record<string, number> = {
  // Measured 2026-12-01 by one `npm run mutate` at the last source change (4a5acf8, incremental from the run
  // before): 96.55 % over all files, no survivor outside the listed equivalents (README, "Mutation testing").
  'client/link.ts': 96,
  'core/backoff.ts': 100,
  'core/connection.ts': 95,
  'core/delivery.ts': 100,
  'core/host.ts': 96,
  'core/hub.ts': 95,
  'core/mirror.ts': 100,
  'core/settings.ts': 99,
  'protocol/errors.ts': 100,
  'protocol/wire.ts': 98,
}

interface Mutant {
  id: string
  mutatorName: string
  replacement?: string
  status: string
  /** Module-level code, run once at import: Stryker switches such a mutant on before the tests import it. */
  static?: boolean
  location: { start: { line: number; column: number }; end: { line: number; column: number } }
}

interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>
}

const detected = new Set(['Killed', 'Timeout'])
const undetected = new Set(['Survived', 'NoCoverage'])

function matches(equivalent: Equivalent, file: string, line: string, mutant: Mutant, replaced: string): boolean {
  return equivalent.file === file && equivalent.mutator === mutant.mutatorName
    && (equivalent.whole === true ? line.trim() === equivalent.code : line.includes(equivalent.code))
    && (equivalent.replacement === undefined || mutant.replacement === equivalent.replacement)
    && (equivalent.original === undefined || replaced === equivalent.original)
}

/**
 * Stryker's Vitest runner (9.6, with Vitest 4.1) reports every static mutant as surviving: the modules its
 * tests import were evaluated before the mutant was switched on (checked: `tab_closed` → "" in core/hub.ts
 * fails hub.test.ts when written into the file, and "survives" Stryker). Its per-test coverage can also miss
 * the test that kills a mutant (checked: a host's released() guard → false fails a host-rules test when written
 * into the file, and "survives" Stryker). So each survivor that is static, or not listed as equivalent, is
 * written into its file in a copy of the sources (never the working tree: an interrupted run leaves nothing
 * mutated), and the unit tests run there: all of them, not only those Stryker saw covering it.
 */
let sandbox: string | null = null
function killedWhenWritten(file: string, source: string, mutant: Mutant): boolean {
  if (readFileSync(file, 'utf8') !== source) throw new Error(`[mutate] ${file} changed since the Stryker run: run npm run mutate again`)
  if (sandbox === null) {
    sandbox = mkdtempSync(join(tmpdir(), 'callhub-static-'))
    for (const entry of ['client', 'core', 'protocol', 'scripts', 'server', 'tests', 'ui', 'worker', 'package.json', 'tsconfig.json', 'tsconfig.base.json', 'vitest.mutate.config.ts']) {
      cpSync(entry, join(sandbox, entry), { recursive: true })
    }
    symlinkSync(resolve('node_modules'), join(sandbox, 'node_modules'), 'dir')
    process.on('exit', () => rmSync(sandbox!, { recursive: true, force: true }))
    // A copy whose tests fail without any mutant would count every mutant as killed.
    if (failsInSandbox()) throw new Error(`[mutate] the unit tests fail in the copy at ${sandbox}, unmutated`)
  }
  const copy = join(sandbox, file)
  writeFileSync(copy, source.slice(0, offset(source, mutant.location.start)) + (mutant.replacement ?? '') + source.slice(offset(source, mutant.location.end)))
  try {
    return failsInSandbox()
  } finally {
    writeFileSync(copy, source)
  }
}

const offset = (source: string, at: { line: number; column: number }) =>
  source.split('\n').slice(0, at.line - 1).reduce((sum, line) => sum + line.length + 1, 0) + at.column - 1

function failsInSandbox(): boolean {
  const run = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.mutate.config.ts', '--bail=1', '--reporter=dot'], { cwd: sandbox!, stdio: 'ignore' })
  if (run.signal !== null) process.exit(130)
  return run.status !== 0
}

const path = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 'reports/mutation/mutation.json'
const report = JSON.parse(readFileSync(path, 'utf8')) as Report
const rows: string[] = []
const unlisted: string[] = []
const used = new Set<Equivalent>()
let [allDetected, allCounted, allEquivalent] = [0, 0, 0]
let failed = false
const rechecked: string[] = []

for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const lines = source.split('\n')
  let [found, counted, equivalent] = [0, 0, 0]
  for (const mutant of mutants) {
    const line = lines[mutant.location.start.line - 1] ?? ''
    const replaced = source.slice(offset(source, mutant.location.start), offset(source, mutant.location.end))
    const listed = equivalents.find((candidate) => matches(candidate, file, line, mutant, replaced))
    if (mutant.status === 'Survived' && (mutant.static === true || listed === undefined)) {
      const killed = killedWhenWritten(file, source, mutant)
      rechecked.push(`  ${file}:${mutant.location.start.line}${mutant.static === true ? ' (static)' : ''} ${mutant.mutatorName} → ${mutant.replacement ?? '?'}: ${killed ? 'killed' : 'survives'}`)
      if (killed) mutant.status = 'Killed'
    }
    if (detected.has(mutant.status)) found += 1
    if (!detected.has(mutant.status) && !undetected.has(mutant.status)) continue
    counted += 1
    if (!undetected.has(mutant.status)) continue
    if (listed !== undefined) {
      used.add(listed)
      equivalent += 1
      continue
    }
    unlisted.push(`${file}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName} (${mutant.status}): ${line.trim()}\n    → ${mutant.replacement ?? '?'}`)
  }
  const score = counted === 0 ? 100 : (found / counted) * 100
  const floor = floors[file] ?? AIM
  if (score < floor) failed = true
  const note = score < floor ? `  (UNDER its floor of ${floor} %)` : score < AIM ? `  (floor ${floor} %, aim ${AIM} %)` : ''
  rows.push(`${file.padEnd(20)} ${score.toFixed(2).padStart(7)} %  ${String(found).padStart(5)} detected of ${String(counted).padStart(5)}, ${equivalent} listed as equivalent${note}`)
  allDetected += found
  allCounted += counted
  allEquivalent += equivalent
}

if (rechecked.length > 0) console.info(`Survivors Stryker reported (static, or not listed as equivalent), written into their files and tested here:\n${rechecked.join('\n')}\n`)
console.info(rows.join('\n'))
console.info(`${'all files'.padEnd(20)} ${((allDetected / allCounted) * 100).toFixed(2).padStart(7)} %  ${String(allDetected).padStart(5)} detected of ${String(allCounted).padStart(5)}, ${allEquivalent} listed as equivalent`)
const stale = equivalents.filter((equivalent) => !used.has(equivalent))
if (stale.length > 0) {
  // Not a failure: an incremental run may not have re-tested them, or a test now kills them. Prune when true.
  console.info(`\n${stale.length} listed equivalent(s) did not survive this run:\n${stale.map((item) => `  ${item.file}: ${item.code}`).join('\n')}`)
}
writeFileSync('reports/mutation/survivors.txt', unlisted.map((line) => `${line}\n`).join(''))
if (unlisted.length > 0) {
  console.error(`\n${unlisted.length} surviving mutant(s) are not listed as equivalent (reports/mutation/survivors.txt): kill them with a test, or list them in scripts/mutate/equivalents.ts with why.`)
  failed = true
}
if (failed) process.exit(1)
