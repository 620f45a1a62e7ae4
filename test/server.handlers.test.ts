/** Several handlers of one kind: all run, in the order added, each awaited; each can be removed. */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, OptionError } from '../src/index.js'
import { frame } from './helpers/frames.js'
import { cleanup, startServer } from './helpers/harness.js'
import { RawPeer } from './helpers/rawPeer.js'
import { waitFor } from './helpers/wait.js'

afterEach(cleanup)

describe('several handlers', () => {
  it('a second onMessage adds to the first: both run, in order, the first awaited before the second', async () => {
    const h = await startServer({ echo: false })
    const log: string[] = []
    h.server.onMessage(async (_session, message) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      log.push(`a${message.id}`)
    })
    h.server.onMessage((_session, message) => void log.push(`b${message.id}`))
    const peer = await RawPeer.open(h.port)
    await peer.write(Buffer.concat([frame(1), frame(2)]))
    await waitFor(() => log.length === 4)
    expect(log).toEqual(['a1', 'b1', 'a2', 'b2'])
  })

  it('the function returned removes the handler, once; the others keep running', async () => {
    const h = await startServer({ echo: false })
    const log: string[] = []
    const removeA = h.server.onMessage(() => void log.push('a'))
    h.server.onMessage(() => void log.push('b'))
    removeA()
    removeA()
    const peer = await RawPeer.open(h.port)
    await peer.write(frame(1))
    await waitFor(() => h.messages.length === 1)
    await waitFor(() => log.length === 1)
    expect(log).toEqual(['b'])
  })

  it('a handler that throws is reported and the next one still runs', async () => {
    const h = await startServer({ echo: false })
    const log: string[] = []
    h.server.onConnect(() => {
      throw new Error('first failed')
    })
    h.server.onConnect(() => void log.push('second'))
    const peer = await RawPeer.open(h.port)
    await h.sessionFor(peer.localPort)
    await waitFor(() => log.length === 1 && h.errors.length === 1)
    expect(h.errors[0]!.error.code).toBe('handler-error')
    expect(h.errors[0]!.error.message).toContain('first failed')
  })

  it('every onError handler hears an error, even after one throws', async () => {
    const h = await startServer({ echo: false })
    const heard: string[] = []
    h.server.onError(() => {
      throw new Error('onError itself failed')
    })
    h.server.onError((error) => void heard.push(error.code))
    h.server.onMessage(() => {
      throw new Error('boom')
    })
    const peer = await RawPeer.open(h.port)
    await peer.write(frame(1))
    await waitFor(() => heard.length === 1)
    expect(heard).toEqual(['handler-error'])
  })

  it('a handler that is not a function is refused with an OptionError at once', () => {
    const server = createServer()
    expect(() => server.onMessage('echo' as never)).toThrow(OptionError)
    expect(() => server.onDisconnect(undefined as never)).toThrow(/`onDisconnect` handler to be a function/)
  })
})
