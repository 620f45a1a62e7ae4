import type { InspectionEvent, Observer } from 'xstate'
import { type FileInspector, openFileInspector } from '../inspect/fileInspector.js'
import { type RelayInspector, startRelayInspector } from '../inspect/relayInspector.js'
import { importStatelyInspect, INSTALL_STATELY_INSPECT } from '../inspect/statelyInspect.js'
import type { Address, ListenOptions } from '../listenOptions.js'
import { createServer } from '../server.js'
import { type ServeSettings, serverOptions } from './args.js'
import type { CliIo } from './io.js'
import { createLog, type Log } from './log.js'
import { onStopSignals } from './signals.js'

/**
 * The default command: an echo game on a zerostate server, logged on stderr. Everything that can
 * fail to start (the inspector relay, the inspection file, the port) is tried before the server
 * says it listens, and each failure is one line and exit code 1.
 */
export async function serve(settings: ServeSettings, io: CliIo): Promise<number> {
  const log = createLog(io)
  const inspection = await startInspection(settings, log)
  if (inspection === null) return 1

  const server = createServer({ ...serverOptions(settings), inspect: inspection.inspect })
  server.onConnect((session) => log(`connect ${session.id} ${session.transport} ${session.remoteAddress} ${session.state}`))
  server.onMessage((session, message) => {
    session.send(message)
  })
  server.onDisconnect((session, error) => log(`disconnect ${session.id} ${session.transport} ${session.remoteAddress} ${error.code}`))
  server.onError((error, session) => log(`error ${session?.id ?? '-'} ${error.message}`))

  // Signal handlers go in before anything is printed: the log is written from libuv's thread pool,
  // so a supervisor can read the start line and signal us before this thread runs another line.
  let finish: (code: number) => void = () => {}
  const exitCode = new Promise<number>((resolve) => {
    finish = (code) => {
      removeSignals()
      void inspection.close().finally(() => resolve(code))
    }
  })
  const removeSignals = onStopSignals(io.signals, {
    stop(signal) {
      log(`zerostate: ${signal}, stopping ${server.connectionCount} session(s)`)
      server.stop().then(
        () => {
          log('zerostate: stopped')
          finish(0)
        },
        (error: unknown) => {
          log(`zerostate: stop failed: ${message(error)}`)
          finish(1)
        },
      )
    },
    force(signal) {
      log(`zerostate: ${signal} again, exiting without waiting`)
      finish(0)
    },
  })

  let address: Address
  const { host, port, webSocket } = settings
  try {
    address = await server.listen({ host, port: port ?? false, webSocket: webSocket ?? false } as ListenOptions & { port: false })
  } catch (error) {
    const wanted = [port === null ? null : formatAddress({ host, port }), webSocket === null ? null : `ws://${formatAddress({ host, port: webSocket.port })}${webSocket.path}`]
    log(`zerostate: cannot listen on ${wanted.filter((where) => where !== null).join(' and ')}: ${message(error)}`)
    // The server never listened, so there is nothing to drain; the bound only guards against a stuck stop.
    await Promise.race([server.stop(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    finish(1)
    return exitCode
  }
  const handshake = settings.handshake ? `handshake on, ${settings.handshakeTimeout} ms` : 'handshake off'
  const resume = settings.resumeGrace === null ? '' : `, resume within ${settings.resumeGrace} ms`
  const node = settings.cluster === null ? '' : `, node ${server.node} of the cluster on ${settings.cluster.nats}`
  const where = [address.port === null ? null : formatAddress({ host: address.host, port: address.port }), address.webSocket?.url ?? null]
  log(
    `zerostate listening on ${where.filter((at) => at !== null).join(' and ')} ` +
      `(heartbeat ${settings.heartbeatInterval}/${settings.heartbeatTimeout} ms, ${handshake}, max payload ${settings.maxPayload} bytes${resume}${node})`,
  )
  const payloads = settings.inspectPayloads ? 'with payload bytes' : 'payload bytes left out'
  if (inspection.relay?.relay) {
    log(`zerostate inspector: open ${inspection.relay.relay.pageUrl} to watch every session in the Stately inspector (${payloads})`)
  } else if (inspection.relay) {
    log(`zerostate inspector: sending to ${inspection.relay.url} (${payloads})`)
  }
  if (settings.inspectFile !== null) {
    log(`zerostate inspector: writing ${settings.inspectFile} (read it with: zerostate timeline ${settings.inspectFile})`)
  }
  return exitCode
}

interface Inspection {
  inspect: Observer<InspectionEvent> | undefined
  relay: RelayInspector | null
  close(): Promise<void>
}

/** Starts what `--inspect*` asks for, or logs why it cannot and resolves null. */
async function startInspection(settings: ServeSettings, log: Log): Promise<Inspection | null> {
  let relay: RelayInspector | null = null
  if (settings.inspect !== null) {
    const stately = await importStatelyInspect()
    if (stately === null) {
      log(`zerostate: --inspect${'url' in settings.inspect ? '-url' : ''} needs @statelyai/inspect, which is not installed: ${INSTALL_STATELY_INSPECT}`)
      return null
    }
    try {
      relay = await startRelayInspector(settings.inspect, stately, settings.cluster === null ? {} : { node: settings.cluster.node })
    } catch (error) {
      log(`zerostate: cannot start the inspector relay on ${formatAddress(settings.inspect as { host: string; port: number })}: ${message(error)}`)
      return null
    }
  }
  let file: FileInspector | null = null
  if (settings.inspectFile !== null) {
    const path = settings.inspectFile
    try {
      file = await openFileInspector(path, {
        onError: (error) => log(`zerostate: cannot write ${path}, no longer writing inspection to it: ${error.message}`),
        ...(settings.cluster === null ? {} : { node: settings.cluster.node }),
      })
    } catch (error) {
      log(`zerostate: cannot open ${path}: ${message(error)}`)
      await relay?.stop()
      return null
    }
  }
  const observers = [relay?.inspect, file?.inspect].filter((observer) => observer !== undefined)
  return {
    inspect:
      observers.length === 0 ? undefined : observers.length === 1 ? observers[0] : { next: (event) => observers.forEach((observer) => observer.next?.(event)) },
    relay,
    close: async () => {
      await Promise.all([relay?.stop(), file?.close()])
    },
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function formatAddress({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
