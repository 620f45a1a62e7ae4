import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect as connectSocket, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type CliProcess, spawnCli } from '../stress/child.js'
import { type CliIo, LOG_TIMESTAMP, main, parseCliArgs, USAGE } from '../src/cli.js'
import { type Client, connect } from '../src/client.js'
import { connectWebSocket } from '../src/webSocketClient.js'
import { OptionError } from '../src/errors.js'
import { DEFAULTS } from '../src/options.js'
import { encodeFrame, HEARTBEAT_FRAME } from '../src/protocol/encoder.js'

const FLAGS = [
  '--host',
  '--port',
  '--heartbeat-interval',
  '--heartbeat-timeout',
  '--handshake-timeout',
  '--max-payload',
  '--no-handshake',
  '--max-messages-per-second',
  '--resume-grace',
  '--cluster',
  '--node',
  '--inspect',
  '--inspect-host',
  '--inspect-url',
  '--inspect-payloads',
  '--inspect-file',
  '--help',
]
const MAX = Number.MAX_SAFE_INTEGER

const processes = new Set<CliProcess>()
const sockets = new Set<Socket>()
const clients = new Set<Client>()
const netServers = new Set<NetServer>()

afterEach(() => {
  for (const client of clients) client.reset()
  for (const socket of sockets) socket.destroy()
  for (const cli of processes) cli.kill()
  for (const server of netServers) server.close()
  clients.clear()
  sockets.clear()
  processes.clear()
  netServers.clear()
})

/** Runs `src/cli.ts` from source, as `npm start` does, through the spawner stress/ uses too. */
function runCli(args: string[], nodeArgs: string[] = []): CliProcess {
  const cli = spawnCli(args, undefined, nodeArgs)
  processes.add(cli)
  return cli
}

/** Starts the CLI server on an ephemeral port and reads the port from its start line. */
async function startServer(args: string[] = []): Promise<{ cli: CliProcess; port: number }> {
  const cli = runCli(['--port', '0', ...args])
  // Generous: tsx compiling the sources on a machine busy with the rest of the suite can take seconds.
  const match = await Promise.race([
    cli.waitForLine(/^zerostate listening on 127\.0\.0\.1:(\d+) /, 20_000),
    cli.exited.then((code) => {
      throw new Error(`the CLI exited with ${code} before listening:\n${cli.rawLines.join('\n')}`)
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
const connectLine = (peerPort: number, transport = 'tcp') => new RegExp(`^connect (${SESSION_ID}) ${transport} 127\\.0\\.0\\.1:${peerPort} (\\w+)$`)
const disconnectLine = (id: string, transport = 'tcp') => new RegExp(`^disconnect ${id} ${transport} 127\\.0\\.0\\.1:\\d+ ([\\w-]+)$`)


/** A TCP port on 127.0.0.1 held by someone else for the rest of the test. */
async function takenPort(): Promise<number> {
  const holder = createNetServer()
  netServers.add(holder)
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  return (holder.address() as { port: number }).port
}

const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), 'zerostate-cli-')), name)

/** Node flags that make `@statelyai/inspect` impossible to resolve, as where it is not installed. */
const WITHOUT_STATELY = [
  '--import',
  `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@statelyai/inspect')) {
    const error = new Error("Cannot find package '@statelyai/inspect' imported from " + context.parentURL)
    error.code = 'ERR_MODULE_NOT_FOUND'
    throw error
  }
  return next(specifier, context)
}\`));`,
  )}`,
]

describe('parseCliArgs', () => {
  it('fills in the defaults', () => {
    expect(parseCliArgs([])).toEqual({
      command: 'serve',
      host: '127.0.0.1',
      port: 18787,
      webSocket: null,
      heartbeatInterval: DEFAULTS.heartbeatInterval,
      heartbeatTimeout: DEFAULTS.heartbeatTimeout,
      handshake: true,
      handshakeTimeout: DEFAULTS.handshakeTimeout,
      maxPayload: DEFAULTS.maxPayload,
      maxMessagesPerSecond: 0,
      resumeGrace: null,
      cluster: null,
      inspect: null,
      inspectPayloads: false,
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
        '--inspect-host',
        '127.0.0.2',
        '--inspect-payloads',
        '--inspect-file',
        '/tmp/inspect.jsonl',
      ]),
    ).toEqual({
      command: 'serve',
      host: '0.0.0.0',
      port: 0,
      webSocket: null,
      heartbeatInterval: 100,
      heartbeatTimeout: 400,
      handshake: false,
      handshakeTimeout: 250,
      maxPayload: 65536,
      maxMessagesPerSecond: 500,
      resumeGrace: null,
      cluster: null,
      inspect: { host: '127.0.0.2', port: 18788 },
      inspectPayloads: true,
      inspectFile: '/tmp/inspect.jsonl',
    })
    expect(parseCliArgs(['--inspect=9000'])).toMatchObject({ inspect: { host: '127.0.0.1', port: 9000 } })
    expect(parseCliArgs(['--inspect=0'])).toMatchObject({ inspect: { host: '127.0.0.1', port: 0 } })
    expect(parseCliArgs(['--inspect-url', 'ws://localhost:9000'])).toMatchObject({ inspect: { url: 'ws://localhost:9000' } })
    expect(parseCliArgs(['--max-messages-per-second', '0'])).toMatchObject({ maxMessagesPerSecond: 0 })
    expect(parseCliArgs(['--resume-grace', '30000'])).toMatchObject({ resumeGrace: 30_000 })
    expect(parseCliArgs(['--cluster', 'nats://127.0.0.1:4222', '--node=a'])).toMatchObject({ cluster: { nats: 'nats://127.0.0.1:4222', node: 'a' } })
    expect(() => parseCliArgs(['--node', 'a'])).toThrow('Expected `--node` with `--cluster`')
    expect(() => parseCliArgs(['--cluster', '127.0.0.1:4222'])).toThrow('Expected `--cluster` to be a NATS URL such as nats://127.0.0.1:4222, got `127.0.0.1:4222`')
    expect(() => parseCliArgs(['--cluster', 'nats://x', '--node', 'a.b'])).toThrow('Expected `--node` to be letters, digits, - and _, got `a.b`')
    expect(parseCliArgs(['machines', '--mermaid'])).toEqual({ command: 'machines', format: 'mermaid' })
    expect(parseCliArgs(['timeline', 'log.jsonl'])).toEqual({ command: 'timeline', files: ['log.jsonl'] })
    expect(parseCliArgs(['timeline', 'a.jsonl', 'b.jsonl'])).toEqual({ command: 'timeline', files: ['a.jsonl', 'b.jsonl'] })
  })

  it('reads the WebSocket flags: --ws-port (bare: 18789), --ws-path, --allowed-origin (repeatable), --no-tcp', () => {
    expect(parseCliArgs(['--ws-port'])).toMatchObject({ port: 18787, webSocket: { port: 18789, path: '/', allowedOrigins: [] } })
    expect(
      parseCliArgs(['--ws-port=0', '--ws-path', '/play', '--allowed-origin', 'https://game.example', '--allowed-origin=*', '--no-tcp']),
    ).toMatchObject({ port: null, webSocket: { port: 0, path: '/play', allowedOrigins: ['https://game.example', '*'] } })
  })

  it('refuses --resume-grace that is not a positive integer, and with --no-handshake', () => {
    expect(() => parseCliArgs(['--resume-grace', '0'])).toThrow(`Expected \`--resume-grace\` to be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got \`0\``)
    expect(() => parseCliArgs(['--resume-grace=5000', '--no-handshake'])).toThrow(
      'Expected one of `--resume-grace` and `--no-handshake`: a resuming client presents its token as its first frame',
    )
  })

  it('starts the relay on the game host unless --inspect-host says otherwise', () => {
    expect(parseCliArgs(['--inspect'])).toMatchObject({ inspect: { host: '127.0.0.1', port: 18788 } })
    expect(parseCliArgs(['--host', '::1', '--inspect'])).toMatchObject({ inspect: { host: '::1' } })
    expect(parseCliArgs(['--host', '0.0.0.0', '--inspect', '--inspect-host', '127.0.0.1'])).toMatchObject({ inspect: { host: '127.0.0.1' } })
  })

  it('answers --help and -h before looking at other values', () => {
    expect(parseCliArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseCliArgs(['--port', 'nope', '-h'])).toEqual({ command: 'help' })
  })

  const port = 'an integer from 0 to 65535'
  const positive = `an integer from 1 to ${MAX}`
  const payload = `an integer from 1 to ${0x7fffffff - 8}`
  const offOrPositive = `0 (off) or an integer from 1 to ${MAX}`
  // Every integer flag, each with values of every kind it must refuse, and what the message says it takes.
  const integerFlags: [string, string, string[]][] = [
    ['--port', port, ['-1', '65536', '1e3', '0x10', '', 'abc', '1.5', '99999999999999999999']],
    ['--ws-port', port, ['-1', '65536', '1e3', 'abc', '1.5']],
    ['--inspect', port, ['-1', '65536', '1e3', 'abc', '1.5']],
    ['--heartbeat-interval', positive, ['0', '-1', '5s', '1.5', '', '9007199254740992']],
    ['--heartbeat-timeout', positive, ['0', '-30000', 'x', '2.5']],
    ['--handshake-timeout', positive, ['0', '-1', '1.5', '10s']],
    ['--max-payload', payload, ['0', '-4', String(2 ** 31), 'lots']],
    ['--max-messages-per-second', offOrPositive, ['-1', '-5', '1.5', 'many', '9007199254740992']],
  ]
  it.each(integerFlags.flatMap(([flag, expected, values]) => values.map((value) => [flag, value, expected] as const)))(
    'rejects %s %j, saying it takes %s',
    (flag, value, expected) => {
      // `--inspect` and `--ws-port` take their port only as `--flag=<port>`: a bare one means the default.
      const forms = flag === '--inspect' || flag === '--ws-port' ? [[`${flag}=${value}`]] : [[flag, value], [`${flag}=${value}`]]
      for (const argv of forms) {
        let error: unknown
        try {
          parseCliArgs(argv)
        } catch (thrown) {
          error = thrown
        }
        expect(error, JSON.stringify(argv)).toBeInstanceOf(OptionError)
        expect((error as OptionError).option).toBe(flag)
        expect((error as OptionError).message).toBe(`Expected \`${flag}\` to be ${expected}, got \`${value}\``)
      }
    },
  )

  it.each([
    [['--heartbeat-interval', '1000', '--heartbeat-timeout', '999'], '--heartbeat-timeout', 'Expected `--heartbeat-timeout` to be above `--heartbeat-interval` (1000), got `999`'],
    [['--heartbeat-timeout', '5000'], '--heartbeat-timeout', 'Expected `--heartbeat-timeout` to be above `--heartbeat-interval` (5000), got `5000`'],
    [['--port'], '--port', undefined],
    [['--host', ''], '--host', 'Expected `--host` to be a host name or address, got an empty string'],
    [['--inspect', '--inspect-host', ''], '--inspect-host', 'Expected `--inspect-host` to be a host name or address, got an empty string'],
    [['--inspect-host', '127.0.0.1'], '--inspect-host', undefined],
    [['--inspect-payloads'], '--inspect-payloads', undefined],
    [['--inspect-file', 'x.jsonl', '--inspect-payloads'], '--inspect-payloads', undefined],
    [['--no-handshake=yes'], '--no-handshake', undefined],
    [['--inspect-payloads=yes'], '--inspect-payloads', undefined],
    [['--verbose'], '--verbose', undefined],
    [['serve-forever'], 'serve-forever', 'Unknown command `serve-forever`'],
    [['--inspect-url', 'http://x'], '--inspect-url', 'Expected `--inspect-url` to be a ws:// or wss:// URL, got `http://x`'],
    [['--inspect', '--inspect-url', 'ws://x'], '--inspect', 'Expected one of `--inspect` and `--inspect-url`, got both'],
    [['--inspect-file', ''], '--inspect-file', 'Expected `--inspect-file` to be a path, got an empty string'],
    [['machines', '--json', '--mermaid'], '--mermaid', 'Expected one of `--json` and `--mermaid`, got both'],
    [['timeline'], 'timeline', undefined],
    [['--no-tcp'], '--no-tcp', 'Expected `--no-tcp` with `--ws-port` (a server needs a way in)'],
    [['--no-tcp', '--ws-port', '--port', '0'], '--no-tcp', 'Expected one of `--port` and `--no-tcp`, got both'],
    [['--ws-path', '/x'], '--ws-path', 'Expected `--ws-path` with `--ws-port`'],
    [['--allowed-origin', 'https://a.example'], '--allowed-origin', 'Expected `--allowed-origin` with `--ws-port`'],
    [['--ws-port', '--ws-path', 'play'], '--ws-path', 'Expected `--ws-path` to be a path starting with /, got `play`'],
    [
      ['--ws-port', '--allowed-origin', 'https://a.example/page'],
      '--allowed-origin',
      'Expected `--allowed-origin` to be an origin such as https://game.example (scheme and host, no path) or *, got `https://a.example/page`',
    ],
  ])('rejects %j with an OptionError for %s', (argv, option, message) => {
    expect(() => parseCliArgs(argv)).toThrow(OptionError)
    expect(() => parseCliArgs(argv)).toThrow(option)
    try {
      parseCliArgs(argv)
    } catch (error) {
      expect((error as OptionError).option).toBe(option)
      if (message !== undefined) expect((error as OptionError).message).toBe(message)
    }
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
    expect(io.err).toBe(`zerostate: Expected \`--max-payload\` to be an integer from 1 to ${0x7fffffff - 8}, got \`lots\` (see zerostate --help)\n`)
  })

  it('returns 1 with one timestamped line when the inspection file cannot be opened, before listening', async () => {
    const io = fakeIo()
    expect(await main(['--port', '0', '--inspect-file', '/nonexistent/dir/x.jsonl'], io)).toBe(1)
    const lines = io.err.split('\n').filter((line) => line !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(LOG_TIMESTAMP)
    expect(lines[0]).toMatch(/zerostate: cannot open \/nonexistent\/dir\/x\.jsonl: .*ENOENT/)
  })
})

describe('zerostate CLI (real processes)', () => {
  it('--help prints a usage that lists every flag and exits 0', async () => {
    const cli = runCli(['--help'])
    expect(await cli.exited).toBe(0)
    for (const flag of FLAGS) expect(cli.stdout()).toContain(flag)
    expect(cli.rawLines).toEqual([])
  })

  it('exits 2 with one line on stderr naming the flag, for each bad value', async () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], 'Expected `--port` to be an integer from 0 to 65535, got `abc`'],
      [['--port', '-1'], 'Expected `--port` to be an integer from 0 to 65535, got `-1`'],
      [['--heartbeat-interval', '500', '--heartbeat-timeout', '500'], 'Expected `--heartbeat-timeout` to be above `--heartbeat-interval` (500), got `500`'],
      [['--max-messages-per-second', '-1'], `Expected \`--max-messages-per-second\` to be 0 (off) or an integer from 1 to ${MAX}, got \`-1\``],
      [['--bogus'], '--bogus'],
    ]
    // In parallel: each case is a whole process start.
    const results = await Promise.all(
      cases.map(async ([argv, text]) => {
        const cli = runCli(argv)
        return { argv, text, exit: await cli.exited, stderr: cli.rawLines, stdout: cli.stdout() }
      }),
    )
    for (const { argv, text, exit, stderr, stdout } of results) {
      const label = JSON.stringify(argv)
      expect(exit, label).toBe(2)
      expect(stderr, label).toHaveLength(1)
      expect(stderr[0], label).toContain(text)
      expect(stdout, label).toBe('')
    }
  })

  it('echoes messages and logs connect and disconnect with id, address and reason, each line led by its time', async () => {
    const startedAt = Date.now()
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

    // `2026-12-02T05:49:27.123Z listening ...`: every log line starts with an ISO-8601 time, in order.
    expect(cli.rawLines.length).toBeGreaterThanOrEqual(3)
    const times = cli.rawLines.map((line) => {
      expect(line).toMatch(LOG_TIMESTAMP)
      return Date.parse(line.slice(0, line.indexOf(' ')))
    })
    expect(times[0]).toBeGreaterThanOrEqual(startedAt - 1_000)
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('--ws-port=0 takes WebSocket sessions beside TCP: the start line has the ws:// URL, the log says websocket', async () => {
    const { cli } = await startServer(['--ws-port=0'])
    const [, url] = await cli.waitForLine(/^zerostate listening on 127\.0\.0\.1:\d+ and (ws:\/\/127\.0\.0\.1:\d+\/) /)
    const browser = await connectWebSocket({ url: url!, WebSocket, heartbeatInterval: 0 })
    browser.send({ id: 3, data: Buffer.from('over ws') })
    const echo = await browser.receive()
    expect([echo.id, Buffer.from(echo.data).toString()]).toEqual([3, 'over ws'])
    const [, id] = await cli.waitForLine(new RegExp(`^connect (${SESSION_ID}) websocket 127\\.0\\.0\\.1:\\d+ handshake$`))
    await browser.close()
    const [, reason] = await cli.waitForLine(disconnectLine(id!, 'websocket'))
    expect(reason).toBe('client-closed')
  })

  it('--no-tcp listens on WebSocket alone', async () => {
    const cli = runCli(['--no-tcp', '--ws-port=0'])
    const [, url] = await cli.waitForLine(/^zerostate listening on (ws:\/\/127\.0\.0\.1:\d+\/) /, 20_000)
    const browser = await connectWebSocket({ url: url!, WebSocket, heartbeatInterval: 0 })
    browser.send({ id: 4, data: new Uint8Array(0) })
    expect((await browser.receive()).id).toBe(4)
    await browser.close()
  })

  it('stops on SIGTERM with a client connected: the client sees the close, the exit code is 0', async () => {
    const { cli, port } = await startServer()
    const c = await client(port)
    c.send({ id: 1, data: Buffer.from('hi') })
    await c.receive()
    const [, id] = await cli.waitForLine(connectLine(c.localPort))

    cli.child.kill('SIGTERM')
    expect(await c.closed).toBe('server-closed')
    expect(await cli.exited).toBe(0)
    expect(cli.lines.find((line) => disconnectLine(id!).test(line))).toMatch(/ server-stopping$/)
    expect(cli.lines.at(-1)).toBe('zerostate: stopped')
  })

  it('stops on SIGINT with no session, exit code 0', async () => {
    const { cli } = await startServer()
    cli.child.kill('SIGINT')
    expect(await cli.exited).toBe(0)
  })

  it('a second signal exits at once, while stop() still waits for a peer that never closes its side', async () => {
    const { cli, port } = await startServer()
    // allowHalfOpen: the peer never answers the server's FIN, so the graceful stop has to wait for it.
    const raw = rawSocket(port, { allowHalfOpen: true })
    await raw.connected
    await cli.waitForLine(connectLine(raw.socket.localPort!))

    cli.child.kill('SIGTERM')
    await cli.waitForLine(/SIGTERM, stopping 1 session/)
    // The second signal goes just past the window in which a repeat counts as a relayed copy of
    // the first, timed from the stop line's own timestamp (the window opened before it was written).
    const stopLine = cli.rawLines.find((line) => line.includes('SIGTERM, stopping'))!
    const windowEnds = Date.parse(stopLine.slice(0, stopLine.indexOf(' '))) + 300
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEnds - Date.now()) + 20))
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    // It exited on the second signal, not at the end of the graceful stop, which the peer holds up.
    expect(cli.lines).toContain('zerostate: SIGTERM again, exiting without waiting')
    expect(cli.lines).not.toContain('zerostate: stopped')
  })

  it('treats a signal repeated at once (npm and the process group both relaying Ctrl-C) as one graceful stop', async () => {
    const { cli, port } = await startServer()
    const c = await client(port)
    await cli.waitForLine(connectLine(c.localPort))
    cli.child.kill('SIGINT')
    cli.child.kill('SIGINT')
    expect(await c.closed).toBe('server-closed')
    expect(await cli.exited).toBe(0)
    expect(cli.lines).toContain('zerostate: stopped')
    expect(cli.lines.some((line) => line.includes('again'))).toBe(false)
    expect(cli.lines.some((line) => / server-stopping$/.test(line))).toBe(true)
  })

  // Deadlines are checked by what ends the session, never by how soon: a loaded machine makes
  // every timer late, and silence only gets longer.
  it('closes a silent peer with handshake-timeout when the handshake is on', async () => {
    const { cli, port } = await startServer(['--handshake-timeout', '200'])
    const raw = rawSocket(port)
    await raw.connected
    const [, id, state] = await cli.waitForLine(connectLine(raw.socket.localPort!))
    expect(state).toBe('handshake')
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 20_000)
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
    expect(cli.lines[0]).toContain('handshake off')
    const raw = rawSocket(port)
    await raw.connected
    const [, id, state] = await cli.waitForLine(connectLine(raw.socket.localPort!))
    expect(state).toBe('active')
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 20_000)
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
    const [, reason] = await cli.waitForLine(disconnectLine(id!), 20_000)
    expect(reason).toBe('heartbeat-timeout')
    await raw.closed
    const received = raw.received()
    expect(received.subarray(0, frame.length).equals(frame)).toBe(true) // the echo
    expect(received.subarray(frame.length, frame.length + HEARTBEAT_FRAME.length).equals(HEARTBEAT_FRAME)).toBe(true)
  })

  it('keeps a client that answers heartbeats alive past the heartbeat timeout', async () => {
    // The timeout is six intervals: the client's answers may be late by most of a second and still count.
    const { cli, port } = await startServer(['--heartbeat-interval', '250', '--heartbeat-timeout', '1500'])
    // heartbeatInterval 0: the client sends nothing of its own, it only answers the server's heartbeats.
    const c = await client(port, 0)
    c.send({ id: 1, data: Buffer.from('start') })
    await c.receive()
    await new Promise((resolve) => setTimeout(resolve, 1_800))
    expect(c.closeReason).toBeNull()
    expect(c.heartbeats).toBeGreaterThan(0)
    c.send({ id: 2, data: Buffer.from('still here') })
    expect(Buffer.from((await c.receive()).data).toString()).toBe('still here')
    expect(cli.lines.some((line) => line.startsWith('disconnect '))).toBe(false)
  })

  it('exits 1 with a message when the port is taken', async () => {
    const port = await takenPort()
    const cli = runCli(['--port', String(port)])
    expect(await cli.exited).toBe(1)
    expect(cli.rawLines).toHaveLength(1)
    expect(cli.lines[0]).toMatch(new RegExp(`^zerostate: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))
  })
})

describe('zerostate CLI inspection (real processes)', () => {
  it('exits 1 with one line, before the game port listens, when the inspector port is taken', async () => {
    const port = await takenPort()
    const cli = runCli(['--port', '0', `--inspect=${port}`])
    expect(await cli.exited).toBe(1)
    expect(cli.rawLines).toHaveLength(1)
    expect(cli.rawLines[0]).toMatch(LOG_TIMESTAMP)
    expect(cli.lines[0]).toMatch(new RegExp(`^zerostate: cannot start the inspector relay on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))
  })

  it('--inspect=0 picks a free port, prints a page URL with it, and the page and the stream are served there', async () => {
    const { cli, port } = await startServer(['--inspect=0'])
    const [, pageUrl, relayPort] = await cli.waitForLine(/^zerostate inspector: open (http:\/\/127\.0\.0\.1:(\d+)) .*\(payload bytes left out\)$/)
    expect(Number(relayPort)).toBeGreaterThan(0)
    expect(Number(relayPort)).not.toBe(port)

    const page = await new Promise<string>((resolve, reject) => {
      request(pageUrl!, (response) => {
        let body = ''
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve(body))
      })
        .on('error', reject)
        .end()
    })
    expect(page).toContain('https://stately.ai/inspect')

    // A viewer of the relay sees the sessions of the game.
    const viewer = new WebSocket(`ws://127.0.0.1:${relayPort}`)
    const received: { type: string; name?: string }[] = []
    viewer.on('message', (data) => received.push(JSON.parse(String(data))))
    await new Promise((resolve, reject) => viewer.once('open', resolve).once('error', reject))
    const c = await client(port)
    c.send({ id: 1, data: Buffer.from('hello') })
    await c.receive()
    await waitUntil(() => received.some((event) => event.type === '@xstate.actor' && event.name?.startsWith('session:') === true))
    viewer.close()
  })

  it('exits 1 with one line saying how to install @statelyai/inspect when it is missing', async () => {
    const cli = runCli(['--port', '0', '--inspect=0'], WITHOUT_STATELY)
    expect(await cli.exited).toBe(1)
    expect(cli.rawLines).toHaveLength(1)
    expect(cli.lines[0]).toBe('zerostate: --inspect needs @statelyai/inspect, which is not installed: npm install @statelyai/inspect')
  })

  it('without --inspect, serves with @statelyai/inspect missing', async () => {
    const cli = runCli(['--port', '0'], WITHOUT_STATELY)
    await cli.waitForLine(/^zerostate listening on /, 20_000)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })

  it('exits 1 with one line, before listening, when the --inspect-file cannot be opened', async () => {
    const cli = runCli(['--port', '0', '--inspect-file', '/nonexistent/dir/x.jsonl'])
    expect(await cli.exited).toBe(1)
    expect(cli.rawLines).toHaveLength(1)
    expect(cli.lines[0]).toMatch(/^zerostate: cannot open \/nonexistent\/dir\/x\.jsonl: .*ENOENT/)
  })

  it('an --inspect-file that fails to write (/dev/full) is reported once and the server keeps serving', async () => {
    const { cli, port } = await startServer(['--inspect-file', '/dev/full'])
    const c = await client(port)
    for (const id of [1, 2, 3]) {
      c.send({ id, data: Buffer.from(`message ${id}`) })
      expect((await c.receive()).id).toBe(id)
    }
    await cli.waitForLine(/^zerostate: cannot write \/dev\/full, no longer writing inspection to it: .*ENOSPC/)
    const second = await client(port)
    second.send({ id: 9, data: Buffer.from('after the failure') })
    expect(Buffer.from((await second.receive()).data).toString()).toBe('after the failure')
    expect(cli.lines.filter((line) => line.includes('/dev/full') && line.includes('cannot'))).toHaveLength(1)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })

  it('an --inspect-file records the sessions, and timeline reads it', async () => {
    const path = tempFile('sessions.jsonl')
    const { cli, port } = await startServer(['--inspect-file', path])
    const c = await client(port)
    c.send({ id: 1, data: Buffer.from('hello') })
    await c.receive()
    await c.close()
    await cli.waitForLine(/^disconnect /)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    expect(readFileSync(path, 'utf8')).toContain('"session:')
    const timeline = runCli(['timeline', path])
    expect(await timeline.exited).toBe(0)
    expect(timeline.stdout()).toMatch(/closed \(client-closed\)/)
  })
})

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
