import { describe, expect, it } from 'vitest'
import { newSessionId } from '../src/sessionId.js'

describe('newSessionId', () => {
  it('makes version-4 UUIDs, all different, across many refills of its random pool', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const id = newSessionId()
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      ids.add(id)
    }
    expect(ids.size).toBe(10_000)
  })

  it('uses every hex digit in every free position', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>())
    for (let i = 0; i < 2_000; i++) [...newSessionId()].forEach((char, at) => seen[at]!.add(char))
    const free = seen.filter((_, at) => ![8, 13, 14, 18, 19, 23].includes(at))
    for (const digits of free) expect(digits.size).toBe(16)
    expect([...seen[19]!].sort()).toEqual(['8', '9', 'a', 'b'])
  })
})
