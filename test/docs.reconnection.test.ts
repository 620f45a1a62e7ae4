/**
 * docs/reconnection.md stays true: its example server and client run as a user would run them
 * (child processes), and through a proxy that cuts the connection the client reports the drop,
 * comes back and loses no ping and no echo; the timeline it shows is what `zerostate timeline`
 * prints for such a drop and resume (ids, ports and times aside).
 */
import { readFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { afterEach, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { connectWebSocket } from '../src/webSocketClient.js'
import { createServer } from '../src/server.js'
import { fileInspectorOn } from '../src/inspect/fileInspector.js'
import { formatTimeline } from '../src/inspect/timeline.js'
import { type CliProcess, spawnCli } from '../stress/child.js'
import { CutProxy } from './helpers/cutProxy.js'
import { waitFor } from './helpers/wait.js'

const doc = readFileSync(new URL('../docs/reconnection.md', import.meta.url), 'utf8')
const processes: CliProcess[] = []
const proxies: CutProxy[] = []

afterEach(async () => {
  for (const child of processes.splice(0)) child.child.kill('SIGKILL')
  for (const proxy of proxies.splice(0)) await proxy.close()
})

it('the example client rides out a cut connection to the example server: dropped, open, every ping echoed once and in order', async () => {
  const server = spawnCli([], undefined, [], { script: 'examples/resume/server.ts', env: { PORT: '0' }, stream: 'stdout' })
  processes.push(server)
  const [, port] = await server.waitForLine(/^resumable echo on 127\.0\.0\.1:(\d+)$/, 20_000)
  const proxy = await CutProxy.open(Number(port))
  proxies.push(proxy)
  const client = spawnCli([], undefined, [], { script: 'examples/resume/client.ts', env: { PORT: String(proxy.port), EVERY: '20' }, stream: 'stdout' })
  processes.push(client)
  await client.waitForLine(/^echo: ping 3$/, 20_000)
  proxy.cut()
  await client.waitForLine(/^connection dropped$/)
  await client.waitForLine(/^connection open$/)
  const [, last] = await client.waitForLine(/^echo: ping (\d+)$/)
  await client.waitForLine(new RegExp(`^echo: ping ${Number(last) + 5}$`))
  client.child.kill('SIGTERM')
  await server.waitForLine(/^[0-9a-f-]{36} ended: client-closed$/)
  const echoes = client.lines.filter((line) => line.startsWith('echo: ')).map((line) => Number(line.slice('echo: ping '.length)))
  expect(echoes, 'every ping echoed once, in order').toEqual(echoes.map((_, i) => i))
  expect(client.lines.filter((line) => line.startsWith('connection '))).toEqual(['connection dropped', 'connection open', 'connection closed'])
}, 60_000)

it('shows the timeline zerostate timeline prints for a drop and resume', async () => {
  const block = /<!-- timeline -->\n```text\n([\s\S]*?)```\n/.exec(doc)
  expect(block, 'docs/reconnection.md has a <!-- timeline --> block').not.toBeNull()
  const stream = new PassThrough()
  let jsonl = ''
  stream.on('data', (chunk: Buffer) => (jsonl += chunk.toString()))
  const inspector = fileInspectorOn(stream)
  const server = createServer({ resume: { grace: 30_000 }, inspect: inspector.inspect })
  server.onMessage((session, message) => void session.send(message))
  const address = await server.listen({ port: false, webSocket: { port: 0 } })
  const proxy = await CutProxy.open(address.webSocket.port)
  proxies.push(proxy)
  const client = await connectWebSocket({ url: `ws://127.0.0.1:${proxy.port}/`, WebSocket, resume: true, heartbeatInterval: 0 })
  client.send({ id: 1, data: Buffer.from('hello') })
  await client.receive()
  proxy.cut()
  await waitFor(() => client.status === 'dropped')
  await waitFor(() => client.status === 'open')
  await client.close()
  await server.stop()
  await inspector.close()
  const mask = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => line.replace(/[0-9a-f-]{36}/g, '<id>').replace(/:\d+/g, ':<port>').replace(/\+\d+ ms/, '+<t> ms').replace(/^ +/, ''))
  expect(mask(formatTimeline(jsonl))).toEqual(mask(block![1]!))
})
