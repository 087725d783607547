import { chromium } from '@playwright/test'
import { chromiumArgs, chromiumPath } from '../tests/browser/chromium'
const extra = process.argv.slice(2)
const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...chromiumArgs, ...extra] })
const ctx = await browser.newContext()
const pages = await Promise.all(Array.from({ length: 6 }, () => ctx.newPage()))
for (const p of pages) await p.setContent('<h1>hi</h1>')
const probe = `new Promise((res) => { const t = performance.now(); const out = []; function f() { out.push(Math.round(performance.now() - t)); if (out.length < 4) requestAnimationFrame(f); else res(out) }; requestAnimationFrame(f) })`
let slow = 0, total = 0
for (let i = 0; i < 10; i++) {
  const r = await Promise.all(pages.map((p) => p.evaluate(probe))) as number[][]
  for (const x of r) { total++; if (x[3]! > 200) slow++ }
  await new Promise((r) => setTimeout(r, 300 * Math.random()))
}
console.log(extra.join(' ') || '(none)', 'slow', slow, 'of', total)
await browser.close()
