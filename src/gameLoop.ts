import { type Actor, createActor } from 'xstate'
import { type GameLogicEvent, type GameLogicMachine, gameLogicMachine } from '../machines/gameLogic.js'
import { HandlerError, HandlerTimeoutError, type SessionClosedError, type ZerostateError } from './errors.js'
import { EventQueue } from './eventQueue.js'
import { HandlerList, isThenable } from './handlerList.js'
import type { Clock, Inspect } from './options.js'
import type { Message } from './protocol/message.js'
import type { Session } from './session.js'

export type ConnectHandler = (session: Session) => void | Promise<void>
export type MessageHandler = (session: Session, message: Message) => void | Promise<void>
export type DisconnectHandler = (session: Session, error: SessionClosedError) => void | Promise<void>
/** Gets a `HandlerError` (code `handler-error`) or a `HandlerTimeoutError` (code `handler-timeout`). */
export type ErrorHandler = (error: ZerostateError, session: Session | undefined) => void

const enum Kind {
  Connect,
  Message,
  Disconnect,
  Task,
}

const HANDLER_NAMES = ['onConnect', 'onMessage', 'onDisconnect', 'task'] as const

type Payload = Message | SessionClosedError | (() => unknown) | null

/**
 * Where messages go before `onMessage`: the rooms. It takes a message its session's room (or the
 * room control protocol) claims, and hears every disconnect before `onDisconnect` runs.
 */
export interface MessageRouter {
  route(session: Session, message: Message): boolean
  disconnected(session: Session, error: SessionClosedError): void
}

const WAKE: GameLogicEvent = { type: 'game.wake' }
const DRAINED: GameLogicEvent = { type: 'game.drained' }
const SLOW: GameLogicEvent = { type: 'handler.slow' }
const SETTLED: GameLogicEvent = { type: 'handler.settled' }
const TIMEOUT: GameLogicEvent = { type: 'handler.timeout' }

/**
 * Queued events a drain runs per event-loop turn while connections are being accepted. Node
 * accepts one connection per turn, so a login storm is let in only as fast as the loop turns: long
 * turns under a saturating load would keep new players in the kernel's accept queue for seconds.
 * Short turns while connections arrive let them in quickly; the established sessions' messages
 * wait a few turns more, in order.
 */
const ADMISSION_BUDGET = 16

/** A handler pending this long (or half its timeout, if less) shows as `running.stalled`. */
const SLOW_AFTER_MS = 1_000

export interface GameLoopOptions {
  clock: Clock
  inspect: Inspect | undefined
  handlerTimeout: number
  /** Queue length at which the game asks the server to stop reading sockets. */
  maxPending: number
  /** Called once the queue has drained to half of `maxPending` after reaching it. */
  onRelief: () => void
}

/**
 * Runs the user's handlers strictly one at a time, in arrival order, inside the game-logic actor.
 * Queueing is O(1) and allocation-free; the actor is only sent an event when it is idle.
 */
export class GameLoop {
  readonly connects = new HandlerList<Parameters<ConnectHandler>>('onConnect', (error, [session]) => this.failed(Kind.Connect, error, session))
  readonly messages = new HandlerList<Parameters<MessageHandler>>('onMessage', (error, [session]) => this.failed(Kind.Message, error, session))
  readonly disconnects = new HandlerList<Parameters<DisconnectHandler>>('onDisconnect', (error, [session]) => this.failed(Kind.Disconnect, error, session))
  /** An onError that throws must not stop the game; there is nowhere left to report it. */
  readonly errors = new HandlerList<Parameters<ErrorHandler>>('onError', () => {})

  readonly actor: Actor<GameLogicMachine>
  /** Null until the server has rooms, so a server without them pays one null check per message. */
  router: MessageRouter | null = null
  private readonly queue = new EventQueue<Kind, Session | undefined, Payload>()
  private readonly options: GameLoopOptions
  /** Bumped whenever a drain starts or stops, so a superseded drain never runs another handler. */
  private generation = 0
  /** When the pending async handler started, or -1 when none is pending. */
  private pendingSince = -1
  private pendingKind = Kind.Message
  private pendingSession: Session | undefined = undefined
  private backlogged = false
  private wakeScheduled = false
  /**
   * A drain runs or is scheduled. While `running` and not draining, the game is quiet: a new event
   * schedules a drain without a transition, and the sweep reports `game.drained` if it stays quiet.
   */
  private draining = false
  /** A connection was accepted since the last drain began. */
  private admitting = false

  constructor(options: GameLoopOptions) {
    this.options = options
    const logic = gameLogicMachine.provide({
      actions: {
        abandonHandler: () => this.abandon(),
        // After the transition, not inside it: handlers then see the actor in `running`.
        startDrain: () => {
          const generation = ++this.generation
          this.draining = true
          queueMicrotask(() => this.drain(generation))
        },
        stopDrain: () => {
          this.generation++
          this.draining = false
        },
      },
      guards: { hasBacklog: () => this.queue.size > 0 },
    })
    this.actor = createActor(logic, { clock: options.clock, inspect: options.inspect, id: 'gameLogic' })
    this.actor.subscribe({ error: (error) => this.report(new HandlerError('game-logic', error), undefined) })
    this.actor.start()
  }

  /**
   * Nothing queued and no handler running (the actor may still be `running` until the next sweep).
   * A scheduled wake needs no check: it follows an event queued while idle, which stays queued until it runs.
   */
  get idle(): boolean {
    return this.queue.size === 0 && !this.draining
  }

  /** True while the queue is at its bound: sessions should stop reading until `onRelief`. */
  get full(): boolean {
    return this.backlogged
  }

  /** A session was accepted: it is queued, and the drains stay short while others may follow. */
  connect(session: Session): void {
    this.admitting = true
    this.enqueue(Kind.Connect, session, null)
  }

  message(session: Session, message: Message): void {
    this.enqueue(Kind.Message, session, message)
  }

  disconnect(session: Session, error: SessionClosedError): void {
    this.enqueue(Kind.Disconnect, session, error)
  }

  /** Runs `task` in its turn, serialized with every handler (room ticks). */
  task(task: () => unknown): void {
    this.enqueue(Kind.Task, undefined, task)
  }

  /**
   * Called by the server's sweep: flags a slow handler, abandons one past its timeout, and sends a
   * game quiet since its last drain to `idle`.
   */
  sweep(now: number): void {
    if (this.pendingSince < 0) {
      this.settleIfQuiet()
      return
    }
    const pending = now - this.pendingSince
    const { handlerTimeout } = this.options
    if (pending >= handlerTimeout) this.actor.send(TIMEOUT)
    else if (pending >= Math.min(SLOW_AFTER_MS, handlerTimeout / 2)) this.actor.send(SLOW)
  }

  /**
   * Resolves once the queue is empty and no handler runs, checked after an I/O turn so that bytes
   * already received by the kernel are read and queued first.
   */
  async whenIdle(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.idle) return this.settleIfQuiet()
    }
  }

  /** `running` with nothing to do goes `idle`: from the sweep, or when the server waits for quiet. */
  private settleIfQuiet(): void {
    if (this.idle && this.actor.getSnapshot().value !== 'idle') this.actor.send(DRAINED)
  }

  private enqueue(kind: Kind, session: Session | undefined, payload: Payload): void {
    this.queue.push(kind, session, payload)
    if (this.queue.size >= this.options.maxPending) this.backlogged = true
    // While a drain runs, it picks the event up (by the next turn at the latest). A quiet
    // `running` game resumes draining without a transition, so a server whose messages each come
    // in an event-loop turn of their own pays no actor hop per message either.
    // Both wait for the end of the event loop's I/O phase: every socket read in it is queued
    // first and one drain runs them all, and no handler runs inside a connection actor's action,
    // where it would see that actor's old state.
    if (this.draining || this.wakeScheduled) return
    if (this.actor.getSnapshot().value === 'idle') {
      this.wakeScheduled = true
      setImmediate(this.wake)
    } else {
      this.draining = true
      setImmediate(this.resume, this.generation)
    }
  }

  private readonly resume = (generation: number): void => {
    if (this.generation === generation) this.drain(generation)
  }

  private readonly wake = (): void => {
    this.wakeScheduled = false
    if (this.queue.size > 0 && this.actor.getSnapshot().value === 'idle') this.actor.send(WAKE)
  }

  private drain(generation: number): void {
    const queue = this.queue
    // What is left over runs on the next turns, from the quiet check below.
    let budget = this.admitting ? ADMISSION_BUDGET : Number.POSITIVE_INFINITY
    this.admitting = false
    while (queue.size > 0 && budget-- > 0) {
      if (this.generation !== generation) return
      const result = queue.shift(this.run)
      if (this.backlogged && queue.size <= this.options.maxPending >> 1) {
        this.backlogged = false
        this.options.onRelief()
      }
      if (isThenable(result)) {
        this.pendingSince = this.options.clock.now()
        const settle = () => {
          // An abandoned handler's late result is ignored: the game has moved on.
          if (this.generation !== generation) return
          this.pendingSince = -1
          if (this.actor.getSnapshot().matches({ running: 'stalled' })) this.actor.send(SETTLED)
          this.drain(generation)
        }
        const kind = this.pendingKind
        const session = this.pendingSession
        result.then(settle, (error: unknown) => {
          if (this.generation === generation) this.failed(kind, error, session)
          settle()
        })
        return
      }
    }
    // Quiet only after a whole event-loop turn with nothing new: under steady load a drain goes on
    // from turn to turn for one setImmediate each.
    if (this.generation === generation) setImmediate(this.continueDrain, generation)
  }

  private readonly continueDrain = (generation: number): void => {
    if (this.generation !== generation) return
    if (this.queue.size > 0) this.drain(generation)
    else this.draining = false
  }

  /** Runs one event; returns the handler's result so that a promise can be awaited. */
  private readonly run = (kind: Kind, session: Session | undefined, payload: Payload): unknown => {
    this.pendingKind = kind
    this.pendingSession = session
    try {
      if (kind === Kind.Message) {
        if (this.router !== null && this.router.route(session!, payload as Message)) return undefined
        return this.messages.run?.(session!, payload as Message)
      }
      if (kind === Kind.Connect) return this.connects.run?.(session!)
      if (kind === Kind.Task) return (payload as () => unknown)()
      this.router?.disconnected(session!, payload as SessionClosedError)
      return this.disconnects.run?.(session!, payload as SessionClosedError)
    } catch (error) {
      this.failed(kind, error, session)
      return undefined
    }
  }

  /** The `abandonHandler` action: runs before the drain restarts, on a handler past its timeout. */
  private abandon(): void {
    this.pendingSince = -1
    this.report(new HandlerTimeoutError(HANDLER_NAMES[this.pendingKind], this.options.handlerTimeout), this.pendingSession)
  }

  private failed(kind: Kind, error: unknown, session: Session | undefined): void {
    this.report(new HandlerError(HANDLER_NAMES[kind], error), session)
  }

  /** Hands an error to the `onError` handlers (or `console.error` without one). */
  report(error: ZerostateError, session: Session | undefined): void {
    const run = this.errors.run ?? defaultOnError
    try {
      run(error, session)
    } catch {
      // An onError that throws must not stop the game; there is nowhere left to report it.
    }
  }
}

function defaultOnError(error: ZerostateError, session: Session | undefined): void {
  console.error(`zerostate: ${error.message}${session ? ` (session ${session.id})` : ''}`)
}
