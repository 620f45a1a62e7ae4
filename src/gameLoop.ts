import { type Actor, createActor, fromCallback } from 'xstate'
import { type GameLogicEvent, type GameLogicMachine, gameLogicMachine } from '../machines/gameLogic.js'
import { HandlerError, type SessionClosedError } from './errors.js'
import { EventQueue } from './eventQueue.js'
import type { Clock, Inspect } from './options.js'
import type { Message } from './protocol/message.js'
import type { Session } from './session.js'

export type ConnectHandler = (session: Session) => void | Promise<void>
export type MessageHandler = (session: Session, message: Message) => void | Promise<void>
export type DisconnectHandler = (session: Session, error: SessionClosedError) => void | Promise<void>
export type ErrorHandler = (error: HandlerError, session: Session | undefined) => void

const enum Kind {
  Connect,
  Message,
  Disconnect,
}

type Payload = Message | SessionClosedError | null

const WAKE: GameLogicEvent = { type: 'game.wake' }
const DRAINED: GameLogicEvent = { type: 'game.drained' }

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

/**
 * Runs the user's handlers strictly one at a time, in arrival order, inside the game-logic actor.
 * Queueing is O(1) and allocation-free; the actor is only sent an event when it is idle.
 */
export class GameLoop {
  onConnect: ConnectHandler | null = null
  onMessage: MessageHandler | null = null
  onDisconnect: DisconnectHandler | null = null
  onError: ErrorHandler = defaultOnError

  readonly actor: Actor<GameLogicMachine>
  private readonly queue = new EventQueue<Kind, Session, Payload>()
  /** Bumped when a drain actor stops, so a superseded drain never runs another handler. */
  private generation = 0

  constructor(options: { clock: Clock; inspect: Inspect | undefined }) {
    const logic = gameLogicMachine.provide({
      guards: { hasBacklog: () => this.queue.size > 0 },
      actors: {
        drain: fromCallback<GameLogicEvent>(({ sendBack }) => {
          const generation = ++this.generation
          this.drain(generation, () => sendBack(DRAINED))
          return () => {
            if (this.generation === generation) this.generation++
          }
        }),
      },
    })
    this.actor = createActor(logic, { clock: options.clock, inspect: options.inspect, id: 'gameLogic' })
    this.actor.subscribe({ error: (error) => this.onError(new HandlerError('game-logic', error), undefined) })
    this.actor.start()
  }

  /** Nothing queued and no handler running. */
  get idle(): boolean {
    return this.queue.size === 0 && this.actor.getSnapshot().value === 'idle'
  }

  connect(session: Session): void {
    this.enqueue(Kind.Connect, session, null)
  }

  message(session: Session, message: Message): void {
    this.enqueue(Kind.Message, session, message)
  }

  disconnect(session: Session, error: SessionClosedError): void {
    this.enqueue(Kind.Disconnect, session, error)
  }

  /**
   * Resolves once the queue is empty and no handler runs, checked after an I/O turn so that bytes
   * already received by the kernel are read and queued first.
   */
  async whenIdle(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.idle) return
    }
  }

  stop(): void {
    this.actor.stop()
  }

  private enqueue(kind: Kind, session: Session, payload: Payload): void {
    this.queue.push(kind, session, payload)
    // While running, the drain loop picks the event up; waking the actor would be a wasted hop.
    if (this.actor.getSnapshot().value === 'idle') this.actor.send(WAKE)
  }

  private drain(generation: number, done: () => void): void {
    const queue = this.queue
    while (queue.size > 0) {
      if (this.generation !== generation) return
      const result = queue.shift(this.run)
      if (isThenable(result)) {
        result.then(
          () => this.drain(generation, done),
          (error: unknown) => {
            this.report(error, undefined)
            this.drain(generation, done)
          },
        )
        return
      }
    }
    if (this.generation === generation) done()
  }

  /** Runs one event; returns the handler's promise when it is async, undefined otherwise. */
  private readonly run = (kind: Kind, session: Session, payload: Payload): unknown => {
    try {
      let result: unknown
      if (kind === Kind.Message) result = this.onMessage?.(session, payload as Message)
      else if (kind === Kind.Connect) result = this.onConnect?.(session)
      else result = this.onDisconnect?.(session, payload as SessionClosedError)
      if (isThenable(result)) {
        return result.then(undefined, (error: unknown) => this.report(error, session, kind))
      }
    } catch (error) {
      this.report(error, session, kind)
    }
    return undefined
  }

  private report(error: unknown, session: Session | undefined, kind?: Kind): void {
    const name = kind === Kind.Connect ? 'onConnect' : kind === Kind.Disconnect ? 'onDisconnect' : kind === Kind.Message ? 'onMessage' : 'game-logic'
    try {
      this.onError(new HandlerError(name, error), session)
    } catch {
      // An onError that throws must not stop the game; there is nowhere left to report it.
    }
  }
}

function defaultOnError(error: HandlerError, session: Session | undefined): void {
  console.error(`zerostate: ${error.message}${session ? ` (session ${session.id})` : ''}`)
}
