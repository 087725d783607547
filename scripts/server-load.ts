/**
 * `npm run loadtest`: runs each attack of issue 13 (part 3) against the reference server, on 127.0.0.1 only,
 * bounded in time and count, and prints the server's resident memory before, during (peak) and after each.
 * Flat is the goal. The server runs in a child process, so the attackers' memory is not counted.
 *
 *   npm run loadtest                       # the reference server with its defaults
 *   npm run loadtest -- --module ./old.ts  # another build exporting the same startServer, to compare
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { WebSocket } from 'ws'

const MiB = 1024 * 1024
/** No attack runs longer than this; the whole script stops after `SCRIPT_LIMIT`. */
const ATTACK_MS = 10_000
const SCRIPT_LIMIT = 240_000

interface Memory {
  rss: number
  heapUsed: number
  /** Open file descriptors (sockets among them) on Linux; null elsewhere. */
  descriptors: number | null
}
type ToChild = { type: 'memory'; gc: boolean; id: number }
type FromChild = { type: 'listening'; url: string } | { type: 'memory'; id: number; memory: Memory }

// ─── the child: the server under attack ─────────────────────────────────────────────────────────────────────
async function runChild(): Promise<void> {
  const module = process.env.SERVER_LOAD_MODULE ?? new URL('../server/server.ts', import.meta.url).href
  const { startServer } = (await import(module)) as typeof import('../server/server')
  const server = await startServer({ port: 0, host: '127.0.0.1', log: () => {} })
  const gc = (globalThis as { gc?: () => void }).gc
  process.on('message', (message: ToChild) => {
    if (message.gc) gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    const descriptors = existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : null
    process.send!({ type: 'memory', id: message.id, memory: { rss, heapUsed, descriptors } } satisfies FromChild)
  })
  process.on('disconnect', () => void server.close().then(() => process.exit(0)))
  process.send!({ type: 'listening', url: server.url } satisfies FromChild)
}

// ─── the parent: attackers and the report ───────────────────────────────────────────────────────────────────
interface Target {
  url: string
  port: number
  /** Asks the server (after a GC when `gc`): answered between its tasks. */
  memory(gc?: boolean): Promise<Memory>
  /** Read from outside the server (Linux /proc), so a peak shows even while the server is busy; null elsewhere. */
  rssNow(): Promise<number | null>
  stop(): void
}

async function startTarget(modulePath: string | null): Promise<Target> {
  const env = { ...process.env, SERVER_LOAD_CHILD: '1', ...(modulePath ? { SERVER_LOAD_MODULE: pathToFileURL(resolve(modulePath)).href } : {}) }
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], { env, execArgv: ['--import', 'tsx', '--expose-gc'] })
  const pending = new Map<number, (memory: Memory) => void>()
  let nextId = 0
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.once('exit', (code) => reject(new Error(`[loadtest] the server exited (${code}) before listening`)))
    child.on('message', (message: FromChild) => {
      if (message.type === 'listening') resolveUrl(message.url)
      else pending.get(message.id)?.(message.memory)
    })
  })
  return {
    url,
    port: Number(new URL(url).port),
    memory: (gc = false) => new Promise((resolveMemory, reject) => {
      const id = nextId++
      const timer = setTimeout(() => reject(new Error('[loadtest] the server did not report its memory within 10 s')), 10_000)
      pending.set(id, (memory) => {
        clearTimeout(timer)
        pending.delete(id)
        resolveMemory(memory)
      })
      child.send({ type: 'memory', gc, id } satisfies ToChild)
    }),
    rssNow: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => null)
      const kib = status === null ? null : /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
      return kib == null ? null : Number(kib) * 1024
    },
    stop: () => child.disconnect(),
  }
}

const pause = (ms: number) => new Promise((resolvePause) => setTimeout(resolvePause, ms))

async function postJson(url: string, path: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  return fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) })
}

async function login(url: string, username: string): Promise<string> {
  return ((await (await postJson(url, '/api/login', { username, password: 'demo' })).json()) as { access_token: string }).access_token
}

/** A signed-in socket whose auth was accepted (ack, or the first frame of a server without acks). */
async function signedInSocket(url: string, key: string, token: string): Promise<WebSocket> {
  const [type, id] = key.split(':')
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/${id}/${type}`)
  ws.on('error', () => {})
  await new Promise<void>((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen())
    ws.once('error', reject)
  })
  ws.send(JSON.stringify({ type: 'auth', token }))
  return ws
}

/** Runs `attack` for its bounded time while sampling the server's memory; reports before, peak and after. */
async function measure(target: Target, name: string, attack: () => Promise<string>): Promise<void> {
  const before = await target.memory(true)
  let peak = before.rss
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await target.rssNow()) ?? (await target.memory().catch(() => before)).rss)
      await pause(100)
    }
  })()
  const started = Date.now()
  const outcome = await attack().catch((error: unknown) => `attack failed: ${String(error)}`)
  sampling = false
  await sampler
  // What stays once the attack is over and the server had a moment (a GC) to let go.
  await pause(1_000)
  const after = await target.memory(true)
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(0).padStart(5)} MiB`
  console.log(`${name.padEnd(44)} rss ${mib(before.rss)} → peak ${mib(peak)} → after ${mib(after.rss)}   heap after GC ${mib(after.heapUsed)}   ${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log(`${''.padEnd(44)} ${outcome}`)
}

function tally(statuses: number[]): string {
  const counts = new Map<number, number>()
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1)
  return [...counts].sort(([a], [b]) => a - b).map(([status, count]) => `${status === 0 ? 'no answer' : status}: ${count}`).join(', ')
}

async function stats(url: string): Promise<{ connections: Record<string, number>; sockets?: number }> {
  return (await fetch(`${url}/api/stats`)).json() as Promise<{ connections: Record<string, number>; sockets?: number }>
}

async function neverReadingSockets(target: Target): Promise<string> {
  const alice = await login(target.url, 'alice')
  const bob = await login(target.url, 'bob')
  const readers = await Promise.all(Array.from({ length: 20 }, () => signedInSocket(target.url, 'Tutor:1', alice)))
  await pause(300)
  for (const reader of readers) reader.pause()
  const frame = JSON.stringify({ type: 'dev', payload: 'x'.repeat(256 * 1024) })
  const offer = { type: 'offer', sdp: 'v=0\n'.repeat(10_000) }
  const deadline = Date.now() + ATTACK_MS
  let frames = 0
  let calls = 0
  const sender = async () => {
    while (Date.now() < deadline) {
      const response = await postJson(target.url, '/api/dev/send', { profile_id: 1, profile_type: 'Tutor', frame })
      if (response.ok) frames += 1
      await response.arrayBuffer()
    }
  }
  const caller = async () => {
    while (Date.now() < deadline) {
      const response = await postJson(target.url, '/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor', call_type: 'video', offer }, bob)
      if (response.status === 201) calls += 1
      await response.arrayBuffer()
    }
  }
  await Promise.all([sender(), sender(), sender(), caller()])
  const open = readers.filter((reader) => reader.readyState === WebSocket.OPEN).length
  const counted = (await stats(target.url)).connections['Tutor:1'] ?? 0
  for (const reader of readers) reader.terminate()
  return `20 sockets that never read; ${frames} frames of 256 KiB and ${calls} calls with a 40 KB offer sent; the server still counts ${counted} of them`
}

function postRaw(port: number, path: string, body: Buffer): Promise<number> {
  return new Promise((resolveStatus) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
      response.resume()
      response.on('end', () => resolveStatus(response.statusCode ?? 0))
    })
    request.on('error', () => resolveStatus(0))
    request.setTimeout(ATTACK_MS * 3, () => request.destroy())
    request.end(body)
  })
}

async function concurrentBodies(target: Target): Promise<string> {
  // A valid body just under 8 MiB whose frame is over 1 MiB: read and parsed whole before it is refused.
  const head = '{"profile_id":1,"profile_type":"Tutor","frame":"'
  const body = Buffer.alloc(8 * MiB - 1024, 'x')
  body.write(head, 0)
  body.write('"}', body.length - 2)
  const statuses = await Promise.all(Array.from({ length: 100 }, () => postRaw(target.port, '/api/dev/send', body)))
  return `100 concurrent bodies of 8 MiB: ${tally(statuses)}`
}

async function thousandsOfCalls(target: Target): Promise<string> {
  const tokens = await Promise.all(['alice', 'bob', 'carol'].map((username) => login(target.url, username)))
  const targets = [['Student', 1], ['Tutor', 1], ['Tutor', 1]] as const
  const offer = { type: 'offer', sdp: 'a'.repeat(60_000) }
  const statuses: number[] = []
  const deadline = Date.now() + ATTACK_MS
  let next = 0
  const worker = async () => {
    while (next < 6_000 && Date.now() < deadline) {
      const index = next++ % 3
      const [type, id] = targets[index]!
      const response = await postJson(target.url, '/api/calls', { to_profile_id: id, to_profile_type: type, call_type: 'video', offer }, tokens[index])
      statuses.push(response.status)
      await response.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: 50 }, worker))
  return `${statuses.length} calls with a 60 KB offer from 3 users: ${tally(statuses)}`
}

async function connectionFlood(target: Target): Promise<string> {
  // Plain TCP connections that send nothing, more than the cap; then socket upgrades that never authenticate.
  const held: Socket[] = []
  await Promise.all(Array.from({ length: 5_000 }, () => new Promise<void>((resolveConnect) => {
    const socket = connect(target.port, '127.0.0.1', () => resolveConnect())
    socket.on('error', () => resolveConnect())
    held.push(socket)
  })))
  // The kernel completes handshakes the server has not accepted yet: watch what the server itself holds.
  let mostDescriptors = 0
  for (const started = Date.now(); Date.now() - started < 6_000; await pause(250)) {
    mostDescriptors = Math.max(mostDescriptors, (await target.memory()).descriptors ?? 0)
  }
  const closedByServer = held.filter((socket) => socket.destroyed).length
  for (const socket of held) socket.destroy()
  await pause(500)
  const upgrades = await Promise.all(Array.from({ length: 800 }, () => new Promise<WebSocket | null>((resolveOpen) => {
    const ws = new WebSocket(`${target.url.replace('http', 'ws')}/ws/1/Tutor`)
    ws.on('open', () => resolveOpen(ws))
    ws.on('error', () => resolveOpen(null))
  })))
  const opened = upgrades.filter((ws) => ws !== null).length
  const serverSockets = (await stats(target.url)).sockets
  for (const ws of upgrades) ws?.terminate()
  return `5,000 idle TCP connections: the server held at most ${mostDescriptors} file descriptors (cap 4,096 connections), ` +
    `${closedByServer} closed by it; 800 upgrades without auth: ${opened} opened (server holds ${serverSockets ?? '?'} sockets)`
}

async function logoutWithLiveSocket(target: Target): Promise<string> {
  const bob = await login(target.url, 'bob')
  const closes: number[] = []
  let invitationsAfterLogout = 0
  for (let round = 0; round < 200; round += 1) {
    const token = await login(target.url, 'alice')
    const ws = await signedInSocket(target.url, 'Tutor:1', token)
    await pause(5)
    const closed = new Promise<number>((resolveClose) => ws.once('close', (code) => resolveClose(code)))
    let loggedOut = false
    ws.on('message', (data) => {
      if (loggedOut && String(data).includes('call_invitation')) invitationsAfterLogout += 1
    })
    await postJson(target.url, '/api/logout', {}, token)
    loggedOut = true
    if (round % 20 === 0) await (await postJson(target.url, '/api/calls', { to_profile_id: 1, to_profile_type: 'Tutor' }, bob)).arrayBuffer()
    closes.push(await Promise.race([closed, pause(2_000).then(() => 0)]))
    ws.terminate()
  }
  return `200 logouts with a live socket: ${tally(closes).replace('no answer', 'still open after 2 s')} (close codes); invitations received after logout: ${invitationsAfterLogout}`
}

async function runParent(): Promise<void> {
  const moduleIndex = process.argv.indexOf('--module')
  const modulePath = moduleIndex === -1 ? null : process.argv[moduleIndex + 1] ?? null
  const limit = setTimeout(() => {
    console.error(`[loadtest] stopped after ${SCRIPT_LIMIT / 1000} s`)
    process.exit(1)
  }, SCRIPT_LIMIT)
  console.log(`reference server under attack (${modulePath ?? 'server/server.ts'}), 127.0.0.1 only; memory of the server process\n`)
  const attacks: Array<[string, (target: Target) => Promise<string>]> = [
    ['sockets that never read, calls and frames flow', neverReadingSockets],
    ['100 concurrent 8 MiB bodies', concurrentBodies],
    ['thousands of calls', thousandsOfCalls],
    ['connection flood', connectionFlood],
    ['logout with a live socket', logoutWithLiveSocket],
  ]
  // A fresh server per attack: each figure is that attack's alone.
  for (const [name, attack] of attacks) {
    const target = await startTarget(modulePath)
    await measure(target, name, () => attack(target))
    target.stop()
  }
  clearTimeout(limit)
}

if (process.env.SERVER_LOAD_CHILD === '1') await runChild()
else await runParent()
