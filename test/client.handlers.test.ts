/**
 * The client's handlers add up, like the server's: every message-handler hears every message, in
 * the order the handlers were added, and each `onMessage` returns the function that removes its
 * handler; with none left, messages wait for `receive()` again.
 */
import { afterEach, expect, it } from 'vitest'
import type { Message } from '../src/protocol/message.js'
import { cleanup, openClient, startServer } from './helpers/harness.js'
import { waitFor } from './helpers/wait.js'

afterEach(cleanup)

it('every onMessage handler hears every message, each can be removed, and receive() takes over when none is left', async () => {
  const h = await startServer()
  const client = await openClient(h.port)
  const first: string[] = []
  const second: string[] = []
  const text = (message: Message) => Buffer.from(message.data).toString()
  const removeFirst = client.onMessage((message) => first.push(text(message)))
  const removeSecond = client.onMessage((message) => second.push(`${first.length}:${text(message)}`))
  client.send({ id: 1, data: Buffer.from('one') })
  await waitFor(() => second.length === 1)
  expect(first).toEqual(['one'])
  expect(second, 'the second runs after the first').toEqual(['1:one'])
  removeFirst()
  client.send({ id: 1, data: Buffer.from('two') })
  await waitFor(() => second.length === 2)
  expect(first).toEqual(['one'])
  removeSecond()
  client.send({ id: 1, data: Buffer.from('three') })
  expect(text(await client.receive())).toBe('three')
})
