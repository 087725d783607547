/** `npm run simulate`: the reconnect spread of 1,000 hubs after a server restart (see scripts/herd.ts). */
import { simulateRestart } from './herd'

for (const downFor of [0, 1_000, 3_000]) {
  const report = simulateRestart({ downFor })
  console.log(
    `server down ${downFor} ms: ${report.attempts} attempts in 5 s, busiest 100 ms window ${report.busiestWindowAttempts} ` +
      `(${(report.busiestWindowShare * 100).toFixed(2)}%); median hub back after ${report.medianBackAfter} ms, ` +
      `all back after ${report.allBackAfter === null ? 'more than 5 s' : `${report.allBackAfter} ms`}`,
  )
}
