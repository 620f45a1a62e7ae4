import { DEFAULTS } from '../options.js'
import { DEFAULT_HOST, DEFAULT_INSPECT_PORT, DEFAULT_PORT, DEFAULT_WEBSOCKET_PORT } from './args.js'

export const USAGE = `Usage: zerostate [options]
       zerostate machines [--json | --mermaid]
       zerostate timeline <inspection-file.jsonl> [<file> ...]

Runs a zerostate session server (zero's wire format) whose game echoes every
message back to its sender. Logs one line on start and one per connect and
disconnect on stderr, each led by its time (ISO 8601, UTC). SIGINT or SIGTERM
stops it gracefully; a second signal exits at once.

Options:
  --host <host>               address to listen on (default ${DEFAULT_HOST})
  --port <port>               TCP port, 0 picks a free one (default ${DEFAULT_PORT})
  --no-tcp                    no TCP: WebSocket sessions only (with --ws-port)
  --ws-port[=<port>]          also take WebSocket sessions, on this port (default
                              ${DEFAULT_WEBSOCKET_PORT}, 0 picks a free one)
  --ws-path <path>            the path that upgrades (default /)
  --allowed-origin <origin>   let pages from this origin (https://game.example,
                              or *) open sessions; repeatable. Pages from this
                              host and clients with no Origin are always let in
  --heartbeat-interval <ms>   probe a session silent this long, and send a
                              heartbeat to one written nothing to (default ${DEFAULTS.heartbeatInterval})
  --heartbeat-timeout <ms>    close a session silent this long with
                              heartbeat-timeout; above the interval (default ${DEFAULTS.heartbeatTimeout})
  --handshake-timeout <ms>    time a new session has to send its first valid
                              frame, else handshake-timeout (default ${DEFAULTS.handshakeTimeout})
  --max-payload <bytes>       largest payload a frame may declare, else
                              frame-too-large (default ${DEFAULTS.maxPayload})
  --no-handshake              sessions are active on accept, as in zero
  --max-messages-per-second <n>
                              close a session sending faster with
                              rate-limited (default 0, off)
  --resume-grace <ms>         keep a session whose client is lost this long,
                              for the client to resume it (default off)
  --cluster <nats-url>        be a node of a cluster on NATS: unicast and
                              broadcast reach every node's sessions (default off)
  --node <id>                 this node's id in the cluster (default random)
  --inspect[=<port>]          start a Stately inspector relay (default port
                              ${DEFAULT_INSPECT_PORT}, 0 picks a free one) and print the page
                              to open; needs @statelyai/inspect
  --inspect-host <host>       address the relay listens on (default: --host)
  --inspect-url <ws-url>      send inspection to a relay already running
  --inspect-payloads          let frame payloads (credentials included) reach
                              the relay; by default only their length does
  --inspect-file <path>       append inspection as JSON lines to a file
  -h, --help                  show this help and exit

Commands:
  machines                    print the statecharts as JSON for the Stately
                              editor (--json, default) or as Mermaid (--mermaid)
  timeline <file> [<file> ...]
                              per session, its states with times and its close
                              reason, from --inspect-file logs (a cluster's
                              nodes' logs merged)

Exit codes: 0 stopped by a signal, 1 could not start (the port, the inspector
relay or the inspection file), 2 invalid arguments.
`
