import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect as connectSocket, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { type CliIo, main, parseCliArgs, USAGE } from '../src/cli.js'
import { type Client, connect } from '../src/client.js'
import { OptionError } from '../src/errors.js'
import { DEFAULTS } from '../src/options.js'
import { encodeFrame, HEARTBEAT_FRAME } from '../src/protocol/encoder.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const FLAGS = ['--host', '--port', '--heartbeat-interval', '--heartbeat-timeout', '--handshake-timeout', '--max-payload', '--no-handshake', '--help']

interface CliProcess {
  child: ChildProcess
  stdout(): string
  stderrLines(): string[]
  /** Resolves with the first stderr line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const children = new Set<ChildProcess>()
const sockets = new Set<Socket>()
const clients = new Set<Client>()

afterEach(() => {
  for (const client of clients) client.reset()
  for (const socket of sockets) socket.destroy()
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  clients.clear()
  sockets.clear()
  children.clear()
})

/** Runs `src/cli.ts` from source, as `npm start` does. */
function runCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  const waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = []
  const lines = () => stderr.split('\n').filter((line) => line !== '')
  const check = () => {
    for (const waiter of [...waiters]) {
      for (const line of lines()) {
        const match = line.match(waiter.pattern)
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(match)
          break
        }
      }
    }
  }
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
    check()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return {
    child,
    stdout: () => stdout,
    stderrLines: lines,
    exited,
    waitForLine(pattern, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; got:\n${stderr}`)), timeoutMs)
        waiters.push({
          pattern,
          resolve: (match) => {
            clearTimeout(timer)
            resolve(match)
          },
        })
        check()
      })
    },
  }
}

/** Starts the CLI server on an ephemeral port and reads the port from its start line. */
async function startServer(args: string[] = []): Promise<{ cli: CliProcess; port: number }> {
  const cli = runCli(['--port', '0', ...args])
  // Generous: tsx compiling the sources on a machine busy with the rest of the suite can take seconds.
  const match = await Promise.race([
    cli.waitForLine(/^zerostate listening on 127\.0\.0\.1:(\d+) /, 20_000),
    cli.exited.then(({ code }) => {
      throw new Error(`the CLI exited with ${code} before listening:\n${cli.stderrLines().join('\n')}`)
    }),
  ])
  return { cli, port: Number(match[1]) }
}

async function client(port: number, heartbeatInterval = 0): Promise<Client> {
  const c = await connect({ port, heartbeatInterval })
  clients.add(c)
  return c
}

/** A bare TCP socket that writes only what a test tells it to, and records what it receives. */
function rawSocket(port: number, options: { allowHalfOpen?: boolean } = {}) {
  const socket = connectSocket({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false })
  sockets.add(socket)
  let received = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])))
  socket.on('error', () => {})
  return {
    socket,
    received: () => received,
    connected: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
    closed: new Promise<void>((resolve) => socket.once('close', () => resolve())),
  }
}

const SESSION_ID = '[0-9a-f-]{36}'
/** The connect line of the peer whose local port is `peerPort`. */
const connectLine = (peerPort: number) => new RegExp(`^connect (${SESSION_ID}) 127\\.0\\.0\\.1:${peerPort} (\\w+)$`)
const disconnectLine = (id: string) => new RegExp(`^disconnect ${id} 127\\.0\\.0\\.1:\\d+ ([\\w-]+)$`)

describe('parseCliArgs', () => {
  it('fills in the defaults', () => {
    expect(parseCliArgs([])).toEqual({
      command: 'serve',
      host: '127.0.0.1',
      port: 18787,
      heartbeatInterval: DEFAULTS.heartbeatInterval,
      heartbeatTimeout: DEFAULTS.heartbeatTimeout,
      handshake: true,
      handshakeTimeout: DEFAULTS.handshakeTimeout,
      maxPayload: DEFAULTS.maxPayload,
      maxMessagesPerSecond: 0,
      inspect: null,
      inspectFile: null,
    })
  })

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    expect(
      parseCliArgs([
        '--host=0.0.0.0',
        '--port',
        '0',
        '--heartbeat-interval',
        '100',
        '--heartbeat-timeout=400',
        '--handshake-timeout',
        '250',
        '--max-payload',
        '65536',
        '--no-handshake',
        '--max-messages-per-second=500',
        '--inspect',
        '--inspect-file',
        '/tmp/inspect.jsonl',
      ]),
    ).toEqual({
      command: 'serve',
      host: '0.0.0.0',
      port: 0,
      heartbeatInterval: 100,
      heartbeatTimeout: 400,
      handshake: false,
      handshakeTimeout: 250,
      maxPayload: 65536,
      maxMessagesPerSecond: 500,
      inspect: { port: 18788 },
      inspectFile: '/tmp/inspect.jsonl',
    })
    expect(parseCliArgs(['--inspect=9000'])).toMatchObject({ inspect: { port: 9000 } })
    expect(parseCliArgs(['--inspect-url', 'ws://localhost:9000'])).toMatchObject({ inspect: { url: 'ws://localhost:9000' } })
    expect(parseCliArgs(['machines', '--mermaid'])).toEqual({ command: 'machines', format: 'mermaid' })
    expect(parseCliArgs(['timeline', 'log.jsonl'])).toEqual({ command: 'timeline', file: 'log.jsonl' })
  })

  it('answers --help and -h before looking at other values', () => {
    expect(parseCliArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseCliArgs(['--port', 'nope', '-h'])).toEqual({ command: 'help' })
  })

  it.each([
    [['--port', '1e3'], '--port'],
    [['--port', '0x10'], '--port'],
    [['--port', ''], '--port'],
    [['--port', '-1'], '--port'],
    [['--port=-1'], '--port'],
    [['--port', '65536'], '--port'],
    [['--port'], '--port'],
    [['--host', ''], '--host'],
    [['--heartbeat-interval', '0'], '--heartbeat-interval'],
    [['--heartbeat-interval', '5s'], '--heartbeat-interval'],
    [['--heartbeat-timeout', '-30000'], '--heartbeat-timeout'],
    [['--heartbeat-interval', '1000', '--heartbeat-timeout', '999'], '--heartbeat-timeout'],
    [['--heartbeat-timeout', '5000'], '--heartbeat-timeout'],
    [['--handshake-timeout', '1.5'], '--handshake-timeout'],
    [['--max-payload', '0'], '--max-payload'],
    [['--max-payload', String(2 ** 31)], '--max-payload'],
    [['--no-handshake=yes'], '--no-handshake'],
    [['--verbose'], '--verbose'],
    [['serve-forever'], 'serve-forever'],
    [['--max-messages-per-second', '-5'], '--max-messages-per-second'],
    [['--inspect=0'], '--inspect'],
    [['--inspect=99999'], '--inspect'],
    [['--inspect-url', 'http://x'], '--inspect-url'],
    [['--inspect', '--inspect-url', 'ws://x'], '--inspect'],
    [['--inspect-file', ''], '--inspect-file'],
    [['machines', '--json', '--mermaid'], '--mermaid'],
    [['timeline'], 'timeline'],
  ])('rejects %j with an OptionError naming %s', (argv, flag) => {
    expect(() => parseCliArgs(argv)).toThrow(OptionError)
    expect(() => parseCliArgs(argv)).toThrow(flag)
  })
})

describe('main', () => {
  function fakeIo(): CliIo & { out: string; err: string } {
    const io = {
      out: '',
      err: '',
      stdout: (text: string) => void (io.out += text),
      stderr: (text: string) => void (io.err += text),
      signals: { on: () => {}, off: () => {} },
    }
    return io
  }

  it('prints the usage to stdout and returns 0 for --help', async () => {
    const io = fakeIo()
    expect(await main(['--help'], io)).toBe(0)
    expect(io.out).toBe(USAGE)
    expect(io.err).toBe('')
  })

  it('returns 2 with one line on stderr for a bad value', async () => {
    const io = fakeIo()
    expect(await main(['--max-payload', 'lots'], io)).toBe(2)
    expect(io.out).toBe('')
    expect(io.err).toMatch(/^zerostate: .*`--max-payload`.*`lots`.*\n$/)
    expect(io.err.split('\n')).toHaveLength(2)
  })
})

describe('zerostate CLI (real processes)', () => {
  it('--help prints a usage that lists every flag and exits 0', async () => {
    const cli = runCli(['--help'])
    expect(await cli.exited).toEqual({ code: 0, signal: null })
    for (const flag of FLAGS) expect(cli.stdout()).toContain(flag)
    expect(cli.stderrLines()).toEqual([])
  })

  it('exits 2 with one line on stderr naming the flag, for each bad value', async () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], '--port'],
      [['--port', '-1'], '--port'],
      [['--port', '65536'], '--port'],
      [['--heartbeat-interval', '0'], '--heartbeat-interval'],
      [['--heartbeat-interval', '500', '--heartbeat-timeout', '500'], '--heartbeat-timeout'],
      [['--handshake-timeout', '2.5'], '--handshake-timeout'],
      [['--max-payload', '-4'], '--max-payload'],
      [['--bogus'], '--bogus'],
    ]
    // In parallel: each case is a whole process start.
    const results = await Promise.all(
      cases.map(async ([argv, flag]) => {
        const cli = runCli(argv)
        return { argv, flag, exit: await cli.exited, stderr: cli.stderrLines(), stdout: cli.stdout() }
      }),
    )
    for (const { argv, flag, exit, stderr, stdout } of results) {
      const label = JSON.stringify(argv)
      expect(exit, label).toEqual({ code: 2, signal: null })
      expect(stderr, label).toHaveLength(1)
      expect(stderr[0], label).toContain(flag)
      expect(stdout, label).toBe('')
    }
  })

  it('echoes messages and logs connect and disconnect with id, address and reason', async () => {
    const { cli, port } = await startServer()
    const c = await client(port)
    const [, id, state] = await cli.waitForLine(connectLine(c.localPort))
    expect(state).toBe('handshake')

    c.send({ id: 7, data: Buffer.from('hello') })
    const echo = await c.receive()
    expect(echo.id).toBe(7)
    expect(Buffer.from(echo.data).toString()).toBe('hello')

    const big = randomBytes(64 * 1024)
    c.send({ id: -3, data: big })
    c.send({ id: 8, data: new Uint8Array(0) })
    const [first, second] = [await c.receive(), await c.receive()]
    expect(first.id).toBe(-3)
    expect(Buffer.from(first.data).equals(big)).toBe(true)
    expect(second).toMatchObject({ id: 8 })
    expect(second.data.length).toBe(0)

    await c.close()
    const [, reason] = await cli.waitForLine(disconnectLine(id!))
    expect(reason).toBe('client-closed')
  })

  it('stops on SIGTERM with a client connected: the client sees the close, the exit code is 0', async () => {
    const { cli, port } = await startServer()
    const c = await client(port)
    c.send({ id: 1, data: Buffer.from('hi') })
    await c.receive()
    const [, id] = await cli.waitForLine(connectLine(c.localPort))

    cli.child.kill('SIGTERM')
    expect(await c.closed).toBe('server-closed')
    expect(await cli.exited).toEqual({ code: 0, signal: null })
    expect(cli.stderrLines()).toContainEqual(expect.stringMatching(disconnectLine(id!)))
    expect(cli.stderrLines().find((line) => disconnectLine(id!).test(line))).toMatch(/ server-stopping$/)
  })

  it('stops on SIGINT with no session, exit code 0', async () => {
    const { cli } = await startServer()
    cli.child.kill('SIGINT')
    expect(await cli.exited).toEqual({ code: 0, signal: null })
  })

  it('a second signal exits at once, while stop() still waits for a peer that never closes its side', async () => {
    const { cli, port } = await startServer()
    // allowHalfOpen: the peer never answers the server's FIN, so the graceful stop has to wait for it.
    const raw = rawSocket(port, { allowHalfOpen: true })
    await raw.connected
    await cli.waitForLine(connectLine(raw.socket.localPort!))

    cli.child.kill('SIGTERM')
    await cli.waitForLine(/SIGTERM, stopping 1 session/)
    // Past the window in which a repeat counts as a relayed copy of the first signal.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const secondAt = Date.now()
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toEqual({ code: 0, signal: null })
    expect(Date.now() - secondAt).toBeLessThan(1_000)
    expect(cli.stderrLines()).toContain('zerostate: SIGTERM again, exiting without waiting')
    expect(cli.stderrLines()).not.toContain('zerostate: stopped')
  })

  it('treats a signal repeated at once (npm and the process group both relaying Ctrl-C) as one graceful stop', async () => {
    const { cli, port } = await startServer()
    const c = await client(port)
    await cli.waitForLine(connectLine(c.localPort))
    cli.child.kill('SIGINT')
    cli.child.kill('SIGINT')
    expect(await c.closed).toBe('server-closed')
    expect(await cli.exited).toEqual({ code: 0, signal: null })
    expect(cli.stderrLines()).toContain('zerostate: stopped')
    expect(cli.stderrLines().some((line) => line.includes('again'))).toBe(false)
    expect(cli.stderrLines().some((line) => / server-stopping$/.test(line))).toBe(true)
  })

  it('closes a silent peer with handshake-timeout when the handshake is on', async () => {
    const { cli, port } = await startServer(['--handshake-timeout', '200'])
    const raw = rawSocket(port)
    await raw.connected
    const [, id, state] = await cli.waitForLine(connectLine(raw.socket.localPort!))
    expect(state).toBe('handshake')
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 2_000)
    expect(reason).toBe('handshake-timeout')
    await raw.closed
  })

  it('--no-handshake makes a silent peer active at once; it then ends by heartbeat, not handshake, timeout', async () => {
    const { cli, port } = await startServer([
      '--no-handshake',
      '--handshake-timeout',
      '100',
      '--heartbeat-interval',
      '100',
      '--heartbeat-timeout',
      '400',
    ])
    expect(cli.stderrLines()[0]).toContain('handshake off')
    const raw = rawSocket(port)
    await raw.connected
    const [, id, state] = await cli.waitForLine(connectLine(raw.socket.localPort!))
    expect(state).toBe('active')
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 2_000)
    expect(reason).toBe('heartbeat-timeout')
    await raw.closed
    // The server probed the silent peer with heartbeats (zero's keep-alive) before giving up.
    expect(raw.received().indexOf(HEARTBEAT_FRAME)).toBe(0)
  })

  it('closes a peer that sends one frame and then nothing with heartbeat-timeout, after probing it', async () => {
    const { cli, port } = await startServer(['--heartbeat-interval', '100', '--heartbeat-timeout', '400'])
    const raw = rawSocket(port)
    await raw.connected
    const frame = encodeFrame(5, Buffer.from('only frame'))
    raw.socket.write(frame)
    const [, id] = await cli.waitForLine(connectLine(raw.socket.localPort!))
    const connectedAt = Date.now()
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 2_000)
    expect(reason).toBe('heartbeat-timeout')
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(300)
    await raw.closed
    const received = raw.received()
    expect(received.subarray(0, frame.length).equals(frame)).toBe(true) // the echo
    expect(received.subarray(frame.length, frame.length + HEARTBEAT_FRAME.length).equals(HEARTBEAT_FRAME)).toBe(true)
  })

  it('keeps a client that answers heartbeats alive past the heartbeat timeout', async () => {
    const { cli, port } = await startServer(['--heartbeat-interval', '100', '--heartbeat-timeout', '500'])
    // heartbeatInterval 0: the client sends nothing of its own, it only answers the server's heartbeats.
    const c = await client(port, 0)
    c.send({ id: 1, data: Buffer.from('start') })
    await c.receive()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(c.closeReason).toBeNull()
    expect(c.heartbeats).toBeGreaterThan(0)
    c.send({ id: 2, data: Buffer.from('still here') })
    expect(Buffer.from((await c.receive()).data).toString()).toBe('still here')
    expect(cli.stderrLines().some((line) => line.startsWith('disconnect '))).toBe(false)
  })

  it('exits 1 with a message when the port is taken', async () => {
    const { port } = await startServer()
    const second = runCli(['--port', String(port)])
    expect(await second.exited).toEqual({ code: 1, signal: null })
    expect(second.stderrLines().join('\n')).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))
  })
})
