/**
 * The guides in docs/ stay true: every file they quote is quoted as it is, and the example server
 * they show runs and plays a game over TCP.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { BOARD, MOVE, RESULT } from '../examples/tic-tac-toe/ticTacToeRoom.js'
import { type Client, connect } from '../src/client.js'
import { ROOM_CONTROL_IDS } from '../src/rooms/roomControl.js'
import { type CliProcess, spawnCli } from '../stress/child.js'

const root = new URL('..', import.meta.url)
const docs = readdirSync(new URL('docs/', root)).filter((name) => name.endsWith('.md'))

describe.each(docs)('docs/%s', (name) => {
  const text = readFileSync(new URL(`docs/${name}`, root), 'utf8')
  const quotes = [...text.matchAll(/<!-- file: (\S+) -->\n```\w*\n([\s\S]*?)```\n/g)]
  it.each(quotes.map(([, path, body]) => [path!, body!] as const))('quotes %s as it is', (path, body) => {
    expect(body).toBe(readFileSync(new URL(path, root), 'utf8'))
  })
})

const processes: CliProcess[] = []
const clients: Client[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.reset()
  for (const child of processes.splice(0)) child.child.kill('SIGKILL')
})

it('the tic-tac-toe example server starts and two TCP clients play it to a result', async () => {
  const example = spawnCli([], undefined, [], { script: 'examples/tic-tac-toe/server.ts', env: { PORT: '0' }, stream: 'stdout' })
  processes.push(example)
  const [, port] = await example.waitForLine(/^tic-tac-toe on 127\.0\.0\.1:(\d+) and ws:\/\/127\.0\.0\.1:\d+\/$/, 20_000)
  const x = await connect({ port: Number(port), heartbeatInterval: 0 })
  const o = await connect({ port: Number(port), heartbeatInterval: 0 })
  clients.push(x, o)
  const next = async (client: Client, id: number) => {
    for (;;) {
      const message = await client.receive()
      if (message.id === id) return message
    }
  }
  const join = { id: ROOM_CONTROL_IDS.JOIN, data: new TextEncoder().encode(JSON.stringify({ name: 'tictactoe' })) }
  x.send(join)
  await next(x, ROOM_CONTROL_IDS.JOINED)
  o.send(join)
  await next(o, BOARD)
  for (const [client, cell] of [
    [x, 4],
    [o, 0],
    [x, 2],
    [o, 1],
    [x, 6],
  ] as const) {
    client.send({ id: MOVE, data: Uint8Array.from([cell]) })
    await next(o, BOARD)
  }
  expect([...(await next(o, RESULT)).data]).toEqual([1])
})

it('docs/browser.md lists the close code of every close reason, as src/transport/closeCodes.ts maps them', async () => {
  const { WEBSOCKET_CLOSE_CODES } = await import('../src/transport/closeCodes.js')
  const text = readFileSync(new URL('docs/browser.md', root), 'utf8')
  const table = text.slice(text.indexOf('<!-- close codes -->'))
  const rows = Object.fromEntries([...table.matchAll(/^\| `([a-z-]+)` \| (\d+) \|$/gm)].map(([, reason, code]) => [reason, Number(code)]))
  expect(rows).toEqual({ ...WEBSOCKET_CLOSE_CODES })
})
