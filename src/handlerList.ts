import { OptionError } from './errors.js'

/**
 * The handlers registered for one kind of game event, in registration order. `run` is what the
 * game loop calls: null with none, the handler itself with one (so the usual single handler costs
 * nothing extra), and with several a function that runs them one after another, awaiting each
 * one's promise before the next starts. A handler that throws or rejects is reported through
 * `fail` and the next one still runs.
 *
 * The list is copied on change, so an event already running keeps the handlers it started with.
 */
export class HandlerList<Args extends unknown[]> {
  run: ((...args: Args) => unknown) | null = null
  private handlers: readonly ((...args: Args) => unknown)[] = []

  constructor(
    /** The registering method, for the error a non-function gets: `onMessage`. */
    private readonly name: string,
    private readonly fail: (error: unknown, args: Args) => void,
  ) {}

  get size(): number {
    return this.handlers.length
  }

  /** Adds a handler; the function returned removes it (once, whenever called). */
  add(handler: (...args: Args) => unknown): () => void {
    if (typeof handler !== 'function') throw new OptionError(`Expected the \`${this.name}\` handler to be a function, got ${typeof handler}`, this.name)
    this.handlers = [...this.handlers, handler]
    this.compose()
    let registered = true
    return () => {
      if (!registered) return
      registered = false
      const at = this.handlers.indexOf(handler)
      this.handlers = this.handlers.filter((_, i) => i !== at)
      this.compose()
    }
  }

  private compose(): void {
    const handlers = this.handlers
    const fail = this.fail
    if (handlers.length === 0) this.run = null
    else if (handlers.length === 1) this.run = handlers[0]!
    else this.run = (...args: Args) => runFrom(handlers, 0, args, fail)
  }
}

function runFrom<Args extends unknown[]>(
  handlers: readonly ((...args: Args) => unknown)[],
  start: number,
  args: Args,
  fail: (error: unknown, args: Args) => void,
): unknown {
  for (let i = start; i < handlers.length; i++) {
    let result: unknown
    try {
      result = handlers[i]!(...args)
    } catch (error) {
      fail(error, args)
      continue
    }
    if (isThenable(result)) {
      const next = () => runFrom(handlers, i + 1, args, fail)
      return Promise.resolve(result).then(next, (error: unknown) => {
        fail(error, args)
        return next()
      })
    }
  }
  return undefined
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}
