/** After the run: which engines ran (with their results and time) and which are missing, with the command that installs each. */
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter'
import { describeInstallation, findEngines } from './installed'

interface EngineTally {
  passed: number
  failed: number
  /** The titles and reasons of the tests marked as failing in this engine. */
  knownFailures: string[]
  skipped: number
  milliseconds: number
}

export default class EngineSummary implements Reporter {
  private readonly tallies = new Map<string, EngineTally>()

  onTestEnd(test: TestCase, result: TestResult): void {
    const engine = test.parent.project()?.name ?? 'unknown'
    const tally = this.tallies.get(engine) ?? { passed: 0, failed: 0, knownFailures: [], skipped: 0, milliseconds: 0 }
    this.tallies.set(engine, tally)
    tally.milliseconds += result.duration
    const outcome = test.outcome()
    if (outcome === 'skipped') tally.skipped += 1
    else if (outcome === 'unexpected') tally.failed += 1
    else if (test.expectedStatus === 'failed') {
      const reason = test.annotations.find((annotation) => annotation.type === 'fail')?.description ?? 'no reason given'
      tally.knownFailures.push(`"${test.title}": ${reason}`)
    }
    else tally.passed += 1
  }

  onEnd(_result: FullResult): void {
    const lines = ['', 'engines:']
    for (const installation of findEngines()) {
      const tally = this.tallies.get(installation.engine)
      if (!installation.found) lines.push(`  ${describeInstallation(installation)}`)
      else if (tally === undefined) lines.push(`  ${installation.engine}: not run`)
      else {
        const known = tally.knownFailures.length
        const knownText = known > 0 ? `, ${known} known failure${known === 1 ? '' : 's'}` : ''
        const skipped = tally.skipped > 0 ? `, ${tally.skipped} skipped` : ''
        lines.push(`  ${installation.engine}: ran, ${tally.passed} passed, ${tally.failed} failed${knownText}${skipped} in ${(tally.milliseconds / 1000).toFixed(1)} s`)
        for (const failure of tally.knownFailures) lines.push(`    known failure ${failure}`)
      }
    }
    console.log(lines.join('\n'))
  }

  printsToStdio(): boolean {
    return false
  }
}
