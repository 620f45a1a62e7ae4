/**
 * `npm run demo` as a user starts it: a child process (`npm run demo -- --port 0 --bots 2`) that
 * prints the page's URL, serves the page there, and lets two bots play; a TCP client watching
 * the room sees them ride. SIGTERM stops it, and it exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { afterEach, expect, it } from 'vitest'
import { frame, parse } from '../../examples/arena/arenaMessages.js'
import { HelloSchema, Phase, ReadySchema, SeatState } from '../../examples/arena/gen/arena_pb.js'
import { type Client, connect } from '../../src/index.js'
import { REPO_ROOT } from '../../stress/child.js'
import { waitFor } from '../helpers/wait.js'

let child: ChildProcess | undefined
let watcher: Client | undefined
afterEach(() => {
  watcher?.reset()
  // npm and what it started are one process group: nothing outlives a failed test.
  if (child?.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
})

it('npm run demo -- --bots 2 serves the page, two bots play, and SIGTERM stops it with exit code 0', async () => {
  child = spawn('npm', ['run', 'demo', '--', '--port', '0', '--bots', '2'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const exited = new Promise<number | string>((resolve) => child!.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const started = /^arena: open (http:\/\/127\.0\.0\.1:\d+\/) to play \(bots connect over TCP to 127\.0\.0\.1:(\d+)\)$/m
  await waitFor(() => /^arena: 2 bot\(s\) playing$/m.test(stdout), { timeout: 20_000, message: () => `no start lines; stdout:\n${stdout}\nstderr:\n${stderr}` })
  const [, pageUrl, tcpPort] = started.exec(stdout)!

  // The page and its bundle come from the printed URL.
  const html = await fetch(pageUrl!).then((response) => response.text())
  expect(html).toContain('<script type="module" src="arena.js"></script>')
  const script = await fetch(new URL('arena.js', pageUrl)).then((response) => response.headers.get('content-type'))
  expect(script).toBe('text/javascript; charset=utf-8')

  // A watcher over TCP is seated too; it says Ready so that it never holds a round up, and it
  // records the bots' heads at each step. The demo has resume on, so the server seats a session
  // at its first frame (which might have been a RESUME): the watcher says Hello, as every arena
  // client does, once its handler is in place.
  watcher = await connect({ port: Number(tcpPort) })
  const client = watcher
  let me = ''
  let botSlots: number[] = []
  const heads = new Map<number, string[]>()
  client.onMessage((raw) => {
    const message = parse(raw)
    if (message?.$typeName === 'zerostate.arena.v1.Welcome') me = message.playerId
    if (message?.$typeName === 'zerostate.arena.v1.RoomState') {
      if (message.phase === Phase.LOBBY && message.players.find((player) => player.id === me)?.seat === SeatState.JOINED) client.send(frame(ReadySchema))
      if (message.phase === Phase.PLAYING) {
        botSlots = message.players.filter((player) => player.name.startsWith('bot ') && player.seat === SeatState.PLAYING).map((player) => player.slot)
      }
    }
    if (message?.$typeName === 'zerostate.arena.v1.Step') {
      for (const cycle of message.cycles) if (cycle.alive) heads.set(cycle.slot, [...(heads.get(cycle.slot) ?? []), `${cycle.x},${cycle.y}`])
    }
  })
  client.send(frame(HelloSchema, { name: 'watcher' }))
  // Two bots riding: each bot's head has moved through five cells of one round.
  await waitFor(() => botSlots.length === 2 && botSlots.every((slot) => new Set(heads.get(slot)).size >= 5), {
    timeout: 15_000,
    message: () => `bots riding in ${JSON.stringify(botSlots)}, heads ${JSON.stringify([...heads])}`,
  })

  child.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(stdout).toMatch(/^arena: SIGTERM, stopping\narena: stopped$/m)
}, 40_000)
