/** The model tests' step check: an actor's snapshot against the state a generated path says. */
import { expect } from 'vitest'
import type { AnyMachineSnapshot } from 'xstate'
import { plain } from './paths.js'

/** The actor's snapshot is the path step's state: value, context and status. `where` is built on failure only. */
export function expectState(actual: AnyMachineSnapshot, expected: AnyMachineSnapshot, where: () => string): void {
  if (plain(actual) === plain(expected)) return
  expect({ value: actual.value, context: actual.context, status: actual.status }, where()).toEqual({
    value: expected.value,
    context: expected.context,
    status: expected.status,
  })
}
