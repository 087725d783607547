/**
 * A small Chrome DevTools Protocol client on the browser's debugging port. Playwright does not expose
 * SharedWorkers, so the bench attaches to the worker's target itself (flattened sessions) to read its
 * heap and evaluate `self.callhubCounters()` in it.
 */
import { WebSocket } from 'ws'

type Params = Record<string, unknown>

interface Pending {
  resolve(result: unknown): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

export interface Cdp {
  send<T>(method: string, params?: Params, sessionId?: string): Promise<T>
  /** Returns the unsubscribe. */
  on(method: string, listener: (params: Params, sessionId: string | undefined) => void): () => void
  close(): void
}

const REQUEST_TIMEOUT = 60_000

export async function connectCdp(port: number): Promise<Cdp> {
  const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as { webSocketDebuggerUrl: string }
  const socket = new WebSocket(version.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  const pending = new Map<number, Pending>()
  const listeners = new Map<string, Set<(params: Params, sessionId: string | undefined) => void>>()
  let nextId = 1

  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      id?: number; method?: string; params?: Params; sessionId?: string; result?: unknown; error?: { message: string }
    }
    if (message.id !== undefined) {
      const request = pending.get(message.id)
      if (request === undefined) return
      pending.delete(message.id)
      clearTimeout(request.timer)
      if (message.error) request.reject(new Error(`[bench] CDP: ${message.error.message}`))
      else request.resolve(message.result)
    } else if (message.method !== undefined) {
      for (const listener of listeners.get(message.method) ?? []) listener(message.params ?? {}, message.sessionId)
    }
  })
  socket.on('close', () => {
    for (const request of pending.values()) {
      clearTimeout(request.timer)
      request.reject(new Error('[bench] the CDP connection closed'))
    }
    pending.clear()
  })

  return {
    send<T>(method: string, params: Params = {}, sessionId?: string): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`[bench] CDP ${method} got no answer in ${REQUEST_TIMEOUT} ms`))
        }, REQUEST_TIMEOUT)
        pending.set(id, { resolve: (result) => resolve(result as T), reject, timer })
        socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }))
      })
    },
    on(method, listener) {
      let set = listeners.get(method)
      if (set === undefined) listeners.set(method, (set = new Set()))
      set.add(listener)
      return () => void set.delete(listener)
    },
    close: () => socket.close(),
  }
}

export interface TargetInfo {
  targetId: string
  type: string
  url: string
}

/** What `self.callhubCounters()` answers: `tabs`, `sessions`, `ringing`, and whatever else the worker counts. */
export type WorkerCounters = Record<string, number>

export interface HeapReading {
  /** V8 heap in use after two forced collections, in bytes. */
  usedBytes: number
  /**
   * Live objects the program made, by kind (`object:MessagePort`, `closure:flush`, `array`, `string`…), from a
   * heap snapshot. V8's own bookkeeping (compiled code, shapes, `system / …`) is left out: it grows as code gets
   * compiled and optimised, which is not the program keeping anything.
   */
  objects: Map<string, number>
}

/** A session on callhub's SharedWorker. */
export interface WorkerSession {
  counters(): Promise<WorkerCounters>
  /** Collects garbage, then reads the heap size and counts live objects in a heap snapshot. */
  heap(): Promise<HeapReading>
  detach(): Promise<void>
}

export async function attachToSharedWorker(cdp: Cdp, urlPart: string): Promise<WorkerSession> {
  const { targetInfos } = await cdp.send<{ targetInfos: TargetInfo[] }>('Target.getTargets')
  const workers = targetInfos.filter((target) => target.type === 'shared_worker' && target.url.includes(urlPart))
  if (workers.length !== 1) {
    throw new Error(`[bench] expected one shared worker whose URL has ${urlPart}, found ${workers.length}`)
  }
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId: workers[0]!.targetId, flatten: true })
  const send = <T>(method: string, params?: Params) => cdp.send<T>(method, params, sessionId)

  async function collectGarbage(): Promise<void> {
    // Twice: the first pass can leave objects that only the finalizers of the first made unreachable.
    await send('HeapProfiler.collectGarbage')
    await send('HeapProfiler.collectGarbage')
  }

  async function countObjects(): Promise<Map<string, number>> {
    const chunks: string[] = []
    const off = cdp.on('HeapProfiler.addHeapSnapshotChunk', (params, from) => {
      if (from === sessionId) chunks.push(params.chunk as string)
    })
    try {
      await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false })
    } finally {
      off()
    }
    return countByKind(JSON.parse(chunks.join('')) as HeapSnapshot)
  }

  await send('HeapProfiler.enable')
  return {
    async counters() {
      const { result, exceptionDetails } = await send<{ result: { value: WorkerCounters }; exceptionDetails?: { text: string } }>(
        'Runtime.evaluate', { expression: 'self.callhubCounters()', returnByValue: true },
      )
      if (exceptionDetails) throw new Error(`[bench] callhubCounters() threw in the worker: ${exceptionDetails.text}`)
      return result.value
    },
    async heap() {
      await collectGarbage()
      const { usedSize } = await send<{ usedSize: number }>('Runtime.getHeapUsage')
      return { usedBytes: usedSize, objects: await countObjects() }
    },
    async detach() {
      await cdp.send('Target.detachFromTarget', { sessionId })
    },
  }
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** Node types whose name is a constructor or function name worth telling apart. */
const NAMED_TYPES = new Set(['object', 'closure', 'native', 'regexp'])
const PROGRAM_TYPES = new Set([...NAMED_TYPES, 'array', 'string', 'concatenated string', 'sliced string', 'symbol', 'bigint'])

function countByKind(snapshot: HeapSnapshot): Map<string, number> {
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const [typeField, nameField] = [fields.indexOf('type'), fields.indexOf('name')]
  const counts = new Map<string, number>()
  for (let node = 0; node < snapshot.nodes.length; node += fields.length) {
    const type = types[snapshot.nodes[node + typeField]!]!
    if (!PROGRAM_TYPES.has(type)) continue
    const name = snapshot.strings[snapshot.nodes[node + nameField]!] ?? ''
    if (name.startsWith('system /')) continue
    const kind = NAMED_TYPES.has(type) ? `${type}:${name}` : type.endsWith('string') ? 'string' : type
    counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}
