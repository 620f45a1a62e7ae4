import type { ChildProcess } from 'node:child_process'

/**
 * Typed request/response over Node's IPC channel, shared by the orchestrator and its children.
 * A call map names each call with its argument and result types, so both ends type-check
 * against one definition (see messages.ts).
 */
export type CallMap = Record<string, { args: unknown; result: unknown }>

interface CallMessage {
  kind: 'call'
  seq: number
  name: string
  args: unknown
}

type ResultMessage =
  | { kind: 'result'; seq: number; ok: true; result: unknown }
  | { kind: 'result'; seq: number; ok: false; error: string }

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

function isCall(value: unknown): value is CallMessage {
  return isRecord(value) && value.kind === 'call' && typeof value.seq === 'number' && typeof value.name === 'string'
}

function isResult(value: unknown): value is ResultMessage {
  return isRecord(value) && value.kind === 'result' && typeof value.seq === 'number'
}

/** The orchestrator's end: calls into one child. A child that exits fails every pending call. */
export class RpcClient<M extends CallMap> {
  private seq = 0
  private readonly pending = new Map<number, Pending>()
  private exitReason: string | null = null

  constructor(
    private readonly child: ChildProcess,
    readonly label: string,
  ) {
    child.on('message', (message) => this.onMessage(message))
    child.on('exit', (code, signal) => {
      this.exitReason = `${label} exited (${signal ?? `code ${code}`})`
      for (const [seq, call] of this.pending) {
        clearTimeout(call.timer)
        call.reject(new Error(this.exitReason))
        this.pending.delete(seq)
      }
    })
  }

  call<K extends keyof M & string>(name: K, args: M[K]['args'], timeoutMs = 120_000): Promise<M[K]['result']> {
    if (this.exitReason) return Promise.reject(new Error(`${this.exitReason} before ${name}`))
    const seq = ++this.seq
    return new Promise<M[K]['result']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq)
        reject(new Error(`${this.label}: ${name} got no answer in ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(seq, { resolve: resolve as (value: unknown) => void, reject, timer })
      const message: CallMessage = { kind: 'call', seq, name, args }
      this.child.send(message)
    })
  }

  private onMessage(message: unknown): void {
    if (!isResult(message)) return
    const call = this.pending.get(message.seq)
    if (!call) return
    this.pending.delete(message.seq)
    clearTimeout(call.timer)
    if (message.ok) call.resolve(message.result)
    else call.reject(new Error(`${this.label}: ${message.error}`))
  }
}

export type Handlers<M extends CallMap> = {
  [K in keyof M]: (args: M[K]['args']) => Promise<M[K]['result']> | M[K]['result']
}

/** The child's end: answers calls from the parent, one handler per call name. */
export function serveRpc<M extends CallMap>(handlers: Handlers<M>): void {
  const send = process.send?.bind(process)
  if (!send) throw new Error('bench children must be started with an IPC channel (by bench/run.ts)')
  process.on('message', (message: unknown) => {
    if (!isCall(message)) return
    void answer(handlers, message).then((reply) => send(reply))
  })
  // The orchestrator going away ends the child: no orphaned servers holding ports and cores.
  process.on('disconnect', () => process.exit(0))
}

async function answer<M extends CallMap>(handlers: Handlers<M>, message: CallMessage): Promise<ResultMessage> {
  const handler = (handlers as Record<string, ((args: unknown) => unknown) | undefined>)[message.name]
  if (!handler) return { kind: 'result', seq: message.seq, ok: false, error: `no call named ${message.name}` }
  try {
    return { kind: 'result', seq: message.seq, ok: true, result: await handler(message.args) }
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
    return { kind: 'result', seq: message.seq, ok: false, error: text }
  }
}
