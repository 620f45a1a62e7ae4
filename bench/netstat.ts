import { readFileSync } from 'node:fs'

/**
 * Connections the kernel dropped because a listen queue was full (TcpExt ListenOverflows,
 * machine-wide). A dropped SYN is retried after 1 s, which shows up as a login-storm outlier.
 * null where /proc/net/netstat is not readable.
 */
export function listenOverflows(): number | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n')
    for (let i = 0; i + 1 < lines.length; i++) {
      if (!lines[i]!.startsWith('TcpExt:') || !lines[i + 1]!.startsWith('TcpExt:')) continue
      const names = lines[i]!.split(/\s+/)
      const values = lines[i + 1]!.split(/\s+/)
      const at = names.indexOf('ListenOverflows')
      return at < 0 ? null : Number(values[at])
    }
    return null
  } catch {
    return null
  }
}
