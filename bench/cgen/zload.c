/*
 * zload: the bench's compiled load generator. One thread, one epoll set, non-blocking sockets,
 * every frame encoded once before the first connect. It drives one load against one server and
 * reports on stdout, one JSON object per line; bench/load/cgen.ts builds it (cc -O2), pins it to
 * the generator's core and talks to it over stdin and stdout.
 *
 * Why C: the Node generators (bench/load/) saturate their core near 700k msg/s, below what the
 * node:net ceiling echoes, so the ceiling's figures measured the generator; Colyseus' SDK saturated
 * its core below what Colyseus echoes. Here a message costs the generator its share of one read and
 * one write per connection per round, nothing more.
 *
 * Usage: zload MODE PROTO PORT [key=value ...]
 *   MODE   echo     conns x inflight frames of size bytes each, closed loop: each read's echoes are
 *                   answered with as many new frames in one write (throughput; the storm's load)
 *          latency  conns x 1 frame in flight; opens concurrency at a time, each awaiting its first
 *                   echo, starts every loop once all have had one; round trips sampled in a window
 *          connect  count sessions, concurrency awaiting their first echo at a time, each sending
 *                   one frame of size bytes; they stay open, answering heartbeats, until stop
 *   PROTO  tcp       zero frames on the socket
 *          ws        zero frames in binary WebSocket messages on path /
 *          colyseus  Colyseus 0.18's protocol, as its SDK (@colyseus/sdk) speaks it: a session is
 *                    `client.joinOrCreate("echo")` (an HTTP matchmaking request, then the WebSocket
 *                    its reply names, the JOIN_ROOM handshake and its acknowledgement), a "frame"
 *                    is one `room.sendBytes(1, size bytes)` message, its echo one whole message
 *                    `client.sendBytes(1, ...)` of the server's (bench/colyseus-server.ts)
 *   keys   conns inflight size count concurrency timeout (ms the opening may take) sources (spread
 *          connections over source addresses 127.0.0.1 .. 127.0.0.N; 0: the kernel's choice)
 * Commands on stdin: "measure WARMUP_MS DURATION_MS" (echo, latency), "stop". End of input: stop.
 * Events on stdout: ready (echo: every connection open with its frames sent; latency: every loop
 *   started), measured, connected (connect: the count-th first echo), stopped, error (then exit 1).
 *
 * zero's frame: size (int32 LE: the bytes after it), id (int32 LE), data, Adler-32 of id and data
 * (uint32 LE); src/protocol/frameWriter.ts. Echoes are counted, not checked: the servers check.
 * Heartbeats (id 0) are answered with one, as zerostate's clients and the Node loads do; WebSocket
 * pings with a pong (Colyseus' ws transport pings every 3 s and drops a client two pings behind).
 *
 * Colyseus (node_modules/@colyseus/sdk/src/Client.ts, Room.ts, HTTP.ts; @colyseus/core
 * src/Protocol.ts, Room.ts, router/default_routes.ts; @colyseus/ws-transport): a message's first
 * byte is its protocol code, a number after it is msgpack (1: one byte). A session:
 *   1. POST /matchmake/joinOrCreate/echo, body "{}", on an HTTP/1.1 keep-alive connection: the
 *      SDK's fetch (undici) keeps a pool per origin, sends on an idle connection or opens one more
 *      when none is idle; so does this, each connection carrying one request at a time. The reply
 *      is the seat reservation, JSON: {"name","sessionId","roomId","processId",...}.
 *   2. The WebSocket GET /PROCESSID/ROOMID?sessionId=SESSIONID (Client.buildEndpoint).
 *   3. The server's JOIN_ROOM [10, reconnection token, serializer, handshake]; the client answers
 *      [10] (Room.#dispatchFrame), and only then does the server send the room's messages.
 *   4. sendBytes: [17 ROOM_DATA_BYTES, 1, bytes], one WebSocket message per call; the server's
 *      sendBytes arrives as the same bytes. ERROR [11, code, message] and LEAVE_ROOM [12] end it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 8
#define CHECKSUM_SIZE 4
#define ECHO_ID 1
#define HEARTBEAT_ID 0
/* One read takes everything a connection has pending in these loads (16 x 76 B in flight). */
#define READ_BUFFER (256 * 1024)
#define MAX_EVENTS 512
#define HTTP_MAX 1024
#define STDIN_TAG UINT64_MAX
/* epoll tags: a connection's index, or this bit and a matchmaking connection's index. */
#define HTTP_TAG (1ULL << 32)
#define MS 1000000LL

/* Colyseus 0.18 (@colyseus/shared-types src/Protocol.ts): the codes in a message's first byte. */
#define CY_JOIN_ROOM 10
#define CY_ERROR 11
#define CY_LEAVE_ROOM 12
#define CY_ROOM_DATA_BYTES 17
#define CY_CODE_MASK 0x1f
/* The room the sessions join and the type of its echoed messages: COLYSEUS_ROOM and ECHO_TYPE in
 * bench/colyseus-server.ts. */
#define CY_ROOM "echo"
#define CY_ECHO_TYPE 1
/* A seat reservation's reply: headers and JSON; the SDK's is ~0.5 KiB. */
#define MATCHMAKE_REPLY_MAX 4096
/* The first bytes of each Colyseus message kept to read it (an ERROR's text). */
#define MSG_HEAD 128
/* A matchmaking request sent on a kept-alive connection the server closed meanwhile is resent. */
#define MATCHMAKE_RETRIES 3

enum mode { MODE_ECHO, MODE_LATENCY, MODE_CONNECT };
enum proto { PROTO_TCP, PROTO_WS, PROTO_COLYSEUS };
/* Colyseus: S_MATCHMAKING (its request out, no socket of its own yet), then S_CONNECTING,
 * S_UPGRADING, S_JOINING (upgraded, awaiting JOIN_ROOM), S_OPEN. */
enum state { S_IDLE, S_MATCHMAKING, S_CONNECTING, S_UPGRADING, S_JOINING, S_OPEN, S_CLOSED };
enum hstate { H_CLOSED, H_CONNECTING, H_IDLE, H_BUSY };

/* Per connection; the zero scanner, the WebSocket deframer and the write queue keep their place
 * across reads, so a frame or a header may be split at any byte. */
struct conn {
    int fd;
    uint8_t state;
    bool echoed;      /* had its first echo */
    bool want_out;    /* EPOLLOUT registered: the write queue is not empty */
    /* zero frames: bytes of the current frame still to skip after its header, or a header's bytes */
    uint32_t skip;
    int32_t id;
    uint8_t head[HEADER_SIZE];
    uint8_t head_fill;
    /* WebSocket frames from the server: header bytes, then ws_left payload bytes of opcode ws_op */
    uint8_t ws_head[10];
    uint8_t ws_head_fill;
    uint8_t ws_op;
    bool ws_in_payload;
    uint64_t ws_left;
    uint8_t ctl[125];
    uint8_t ctl_fill;
    bool ws_fin;
    /* Colyseus: the current message's first bytes, and the matchmaking requests resent */
    uint8_t msg[MSG_HEAD];
    uint8_t msg_fill;
    uint8_t retries;
    /* the upgrade response, until its blank line (Colyseus: the upgrade request before it) */
    char *http;
    uint16_t http_fill;
    /* bytes a write did not take, sent on EPOLLOUT */
    uint8_t *out;
    size_t out_len, out_cap;
    int64_t sent_at;
};

static struct {
    enum mode mode;
    enum proto proto;
    int port;
    int conns, inflight, size, count, concurrency, sources;
    int64_t timeout_ms;
} opt = { .conns = 100, .inflight = 16, .size = 64, .count = 1000, .concurrency = 256, .timeout_ms = 30000 };

static struct conn *conns;
static int total;          /* connections this load opens */
static int started;        /* connections opened so far */
static int opened;         /* echo: connections open with their first frames sent */
static int first_echoes;   /* latency, connect: connections past their first echo */
static int ep;
static uint8_t *rbuf;
static bool stopping;
static bool ready;

static uint64_t received;  /* data frames echoed, all connections */
static uint64_t reads, writes;  /* read and send calls that moved bytes: frames per call show the batching */
static uint64_t heartbeats;
static int unexpected;     /* connections closed by the other side after opening */
static char first_error[160];

/* Colyseus' matchmaking connections, as the SDK's fetch pools them: one request at a time each,
 * kept alive after it; a request goes to an idle one, or to a new one when none is idle. Busy and
 * idle ones never outnumber the sessions matchmaking at once, so the pool has that many slots. */
struct hconn {
    int fd;
    uint8_t state;
    bool reused;      /* has carried a reply before: the server may close it while idle */
    int session;      /* the connection whose request it carries */
    size_t fill;
    char reply[MATCHMAKE_REPLY_MAX + 1];
};
static struct hconn *hconns;
static int hconn_count;
static int *idle_hc, n_idle_hc;  /* kept-alive connections, free to carry a request */
static int *free_hc, n_free_hc;  /* closed slots */
static uint64_t matchmakes, matchmake_connections, pings;

static int64_t start_ns, ready_ns, open_deadline_ns;
static double start_epoch_ms;
static int64_t start_cpu_us;

/* The measurement window: opens at win_open_ns, closes at win_close_ns (0: none asked for). */
static int64_t win_open_ns, win_close_ns;
static bool win_opened;
static uint64_t win_received, win_reads, win_writes;
static int64_t win_cpu_us, win_start_ns;
static double *samples;
static size_t nsamples, samples_cap;

/* Precomputed sends: data[n] holds n data frames (TCP: a prefix of one burst; WebSocket: one
 * masked binary message per n), beat one heartbeat. */
struct bytes { uint8_t *p; size_t len; };
static struct bytes *data_msgs;
static struct bytes beat_msg;
static struct bytes join_ack;  /* Colyseus: [JOIN_ROOM], the acknowledgement of the handshake */
static char matchmake_req[512];
static size_t matchmake_len;
static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };
static const char WS_KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
/* base64(SHA-1(WS_KEY + RFC 6455's GUID)): the answer a server must give that key. */
static const char WS_ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
static char upgrade_req[256];
static size_t upgrade_len;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double epoch_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int64_t cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void emit(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    putchar('\n');
    fflush(stdout);
}

/* A JSON string of `text` (ours or strerror's: quotes, backslashes and control bytes escaped). */
static const char *json_string(const char *text, char *out, size_t cap) {
    size_t j = 0;
    out[j++] = '"';
    for (const char *s = text; *s && j + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { out[j++] = '\\'; out[j++] = (char)ch; }
        else if (ch < 0x20) j += (size_t)snprintf(out + j, cap - j, "\\u%04x", ch);
        else out[j++] = (char)ch;
    }
    out[j++] = '"';
    out[j] = 0;
    return out;
}

static void fail(const char *fmt, ...) {
    char text[400], quoted[900];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    emit("{\"event\":\"error\",\"message\":%s}", json_string(text, quoted, sizeof quoted));
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) fail("out of memory (%zu bytes)", n);
    return p;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static int32_t get32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) { a = (a + p[i]) % 65521; b = (b + a) % 65521; }
    return b << 16 | a;
}

/* One zero frame at p: 12 + n bytes. */
static size_t write_frame(uint8_t *p, int32_t id, uint8_t fill, size_t n) {
    put32(p, (uint32_t)(n + 8));
    put32(p + 4, (uint32_t)id);
    memset(p + HEADER_SIZE, fill, n);
    put32(p + HEADER_SIZE + n, adler32(p + 4, 4 + n));
    return HEADER_SIZE + n + CHECKSUM_SIZE;
}

/* A masked client message (RFC 6455 5.2) at out, n + 14 bytes at most: FIN and `opcode`, the
 * length, the mask, the payload. Returns its length. */
static size_t ws_encode(uint8_t *out, uint8_t opcode, const uint8_t *payload, size_t n) {
    uint8_t *p = out;
    *p++ = (uint8_t)(0x80 | opcode);
    if (n < 126) *p++ = (uint8_t)(0x80 | n);
    else if (n < 65536) { *p++ = 0x80 | 126; *p++ = (uint8_t)(n >> 8); *p++ = (uint8_t)n; }
    else { *p++ = 0x80 | 127; for (int s = 56; s >= 0; s -= 8) *p++ = (uint8_t)((uint64_t)n >> s); }
    memcpy(p, MASK, 4);
    p += 4;
    for (size_t i = 0; i < n; i++) p[i] = payload[i] ^ MASK[i & 3];
    return (size_t)(p - out) + n;
}

static struct bytes ws_message(uint8_t opcode, const uint8_t *payload, size_t n) {
    struct bytes m = { xmalloc(n + 14), 0 };
    m.len = ws_encode(m.p, opcode, payload, n);
    return m;
}

/* Colyseus: one sendBytes message, [ROOM_DATA_BYTES, type, bytes] (Room.sendBytes; a type below
 * 128 is one msgpack byte), in one masked WebSocket message; data[n] is n such messages end to end,
 * as n sendBytes calls put them on the wire. Also the handshake's acknowledgement and the
 * matchmaking request, the same for every session: undici's (Node 20's fetch) headers, in its
 * order, as captured from the SDK's request, and the SDK's body for joinOrCreate without options. */
static void precompute_colyseus(int k) {
    size_t body = (size_t)opt.size + 2;
    uint8_t *message = xmalloc(body);
    message[0] = CY_ROOM_DATA_BYTES;
    message[1] = CY_ECHO_TYPE;
    memset(message + 2, 0x61, (size_t)opt.size);
    struct bytes one = ws_message(0x2, message, body);
    uint8_t *all = xmalloc(one.len * (size_t)k);
    for (int i = 0; i < k; i++) memcpy(all + one.len * (size_t)i, one.p, one.len);
    for (int n = 1; n <= k; n++) data_msgs[n] = (struct bytes){ all, one.len * (size_t)n };
    const uint8_t ack = CY_JOIN_ROOM;
    join_ack = ws_message(0x2, &ack, 1);
    beat_msg = (struct bytes){ NULL, 0 };
    matchmake_len = (size_t)snprintf(matchmake_req, sizeof matchmake_req,
        "POST /matchmake/joinOrCreate/" CY_ROOM " HTTP/1.1\r\nhost: 127.0.0.1:%d\r\nconnection: keep-alive\r\n"
        "Accept: application/json\r\nContent-Type: application/json\r\naccept-language: *\r\nsec-fetch-mode: cors\r\n"
        "user-agent: node\r\naccept-encoding: gzip, deflate\r\ncontent-length: 2\r\n\r\n{}", opt.port);
}

static void precompute(void) {
    int k = opt.mode == MODE_ECHO ? opt.inflight : 1;
    data_msgs = xmalloc(sizeof(struct bytes) * (size_t)(k + 1));
    if (opt.proto == PROTO_COLYSEUS) return precompute_colyseus(k);
    size_t frame = (size_t)opt.size + HEADER_SIZE + CHECKSUM_SIZE;
    uint8_t *burst = xmalloc(frame * (size_t)k);
    for (int i = 0; i < k; i++) write_frame(burst + frame * (size_t)i, ECHO_ID, 0x61, (size_t)opt.size);
    uint8_t beat[HEADER_SIZE + CHECKSUM_SIZE];
    write_frame(beat, HEARTBEAT_ID, 0, 0);
    for (int n = 1; n <= k; n++) {
        if (opt.proto == PROTO_TCP) data_msgs[n] = (struct bytes){ burst, frame * (size_t)n };
        else data_msgs[n] = ws_message(0x2, burst, frame * (size_t)n);
    }
    if (opt.proto == PROTO_TCP) {
        beat_msg = (struct bytes){ xmalloc(sizeof beat), sizeof beat };
        memcpy(beat_msg.p, beat, sizeof beat);
    } else {
        beat_msg = ws_message(0x2, beat, sizeof beat);
        upgrade_len = (size_t)snprintf(upgrade_req, sizeof upgrade_req,
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", opt.port, WS_KEY);
    }
}

static void set_events(struct conn *c, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(c - conns) };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
}

/* Sends with a TCP reset, so that no port of ours sits in TIME_WAIT (a run opens ~100k). */
static void reset_fd(int fd) {
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void reset_conn(struct conn *c) {
    if (c->fd >= 0) reset_fd(c->fd);
    c->state = S_CLOSED;
}

/* The other side closed it, or it failed. Before it counted as open, the load cannot be what was
 * asked for: that ends the run. After, it is counted and reported with the figures. */
static void conn_lost(struct conn *c, const char *why) {
    if (c->state == S_CLOSED) return;
    bool counted = opt.mode == MODE_ECHO ? c->state == S_OPEN : c->echoed;
    if (c->fd >= 0) close(c->fd);
    c->state = S_CLOSED;
    if (stopping) return;
    if (!counted) fail("connection %d failed before it was open (%s)", (int)(c - conns), why);
    if (unexpected++ == 0) snprintf(first_error, sizeof first_error, "connection %d: %s", (int)(c - conns), why);
}

static void queue_bytes(struct conn *c, const uint8_t *p, size_t len) {
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) cap *= 2;
        uint8_t *grown = realloc(c->out, cap);
        if (!grown) fail("out of memory for a write queue");
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    if (!c->want_out) {
        c->want_out = true;
        set_events(c, EPOLLIN | EPOLLOUT);
    }
}

/* Writes at once if nothing is queued; what the socket does not take waits for EPOLLOUT. */
static void conn_send(struct conn *c, const uint8_t *p, size_t len) {
    if (c->state == S_CLOSED) return;
    if (c->out_len == 0) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        writes++;
        if (w == (ssize_t)len) return;
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) return conn_lost(c, strerror(errno));
            w = 0;
        }
        p += w;
        len -= (size_t)w;
    }
    queue_bytes(c, p, len);
}

static void flush_out(struct conn *c) {
    ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    writes++;
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) conn_lost(c, strerror(errno));
        return;
    }
    memmove(c->out, c->out + w, c->out_len - (size_t)w);
    c->out_len -= (size_t)w;
    if (c->out_len == 0) {
        c->want_out = false;
        set_events(c, EPOLLIN);
    }
}

static void send_frames(struct conn *c, uint32_t n) {
    int k = opt.mode == MODE_ECHO ? opt.inflight : 1;
    while (n > 0) {
        uint32_t take = n < (uint32_t)k ? n : (uint32_t)k;
        conn_send(c, data_msgs[take].p, data_msgs[take].len);
        n -= take;
    }
}

/* A non-blocking socket connecting to the server from source address `index` % sources, in the
 * epoll set under `tag`. Done or not, EPOLLOUT says when: on_connected / on_http_connected. */
static int connect_socket(int index, uint64_t tag, const char *what) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s (%s %d)", strerror(errno), what, index);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.sources > 0) {
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(index % opt.sources)) };
        if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) fail("bind: %s (%s %d)", strerror(errno), what, index);
    }
    struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port), .sin_addr.s_addr = htonl(0x7f000001u) };
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = tag };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        fail("connect: %s (%s %d)", strerror(errno), what, index);
    }
    return fd;
}

/* The connection's own socket: TCP, the WebSocket, or Colyseus' WebSocket once matchmade. */
static void open_conn(int index) {
    struct conn *c = &conns[index];
    c->fd = connect_socket(index, (uint64_t)index, "connection");
    c->state = S_CONNECTING;
    c->want_out = true;
}

static void http_send(int h);

/* Colyseus: the session's matchmaking request, on a kept-alive connection if one is idle, else on
 * a new one (which sends it once connected), as undici's pool does. */
static void matchmake(struct conn *c) {
    c->state = S_MATCHMAKING;
    c->fd = -1;
    matchmakes++;
    int h;
    if (n_idle_hc > 0) {
        h = idle_hc[--n_idle_hc];
        hconns[h].state = H_BUSY;
        hconns[h].session = (int)(c - conns);
        return http_send(h);
    }
    if (n_free_hc == 0) fail("no matchmaking connection slot free (connection %d)", (int)(c - conns));
    h = free_hc[--n_free_hc];
    struct hconn *hc = &hconns[h];
    hc->fd = connect_socket(h, HTTP_TAG | (uint64_t)h, "matchmaking connection");
    hc->state = H_CONNECTING;
    hc->reused = false;
    hc->session = (int)(c - conns);
    matchmake_connections++;
}

static void open_next(void) {
    if (started >= total) return;
    int index = started++;
    if (opt.proto == PROTO_COLYSEUS) matchmake(&conns[index]);
    else open_conn(index);
}

/* Closes a matchmaking connection (a reset: no TIME_WAIT of ours) and frees its slot; an idle
 * one leaves the idle stack (swap-removed: its order does not matter). */
static void http_close(int h) {
    if (hconns[h].state == H_IDLE) {
        for (int i = 0; i < n_idle_hc; i++) {
            if (idle_hc[i] == h) { idle_hc[i] = idle_hc[--n_idle_hc]; break; }
        }
    }
    reset_fd(hconns[h].fd);
    hconns[h].state = H_CLOSED;
    free_hc[n_free_hc++] = h;
}

/* A matchmaking connection closed by the server or failed. Idle: its slot is freed. Carrying a
 * request: a kept-alive connection closed before any byte of its reply is the server's keep-alive
 * timeout crossing the request (undici resends then too), so it is resent; anything else fails
 * the session, which is not open yet: that ends the run. */
static void http_lost(int h, const char *why) {
    struct hconn *hc = &hconns[h];
    bool carrying = hc->state == H_BUSY || hc->state == H_CONNECTING;
    bool resend = hc->state == H_BUSY && hc->reused && hc->fill == 0;
    http_close(h);
    if (!carrying || stopping) return;
    struct conn *c = &conns[hc->session];
    if (resend && c->retries++ < MATCHMAKE_RETRIES) return matchmake(c);
    char text[200];
    snprintf(text, sizeof text, "matchmaking: %s", why);
    conn_lost(c, text);
}

static void http_send(int h) {
    struct hconn *hc = &hconns[h];
    hc->fill = 0;
    ssize_t w = send(hc->fd, matchmake_req, matchmake_len, MSG_NOSIGNAL);
    writes++;
    if (w < 0) return http_lost(h, strerror(errno));
    /* Half a kilobyte into a socket with nothing else outstanding: its send buffer takes it all. */
    if ((size_t)w != matchmake_len) fail("matchmaking request: %zd of %zu bytes sent", w, matchmake_len);
}

/* A slot closed and reopened within one epoll_wait batch may see its old socket's events: a
 * connect has completed when EPOLLOUT says so, or failed when SO_ERROR does. */
static void on_http_connected(int h, uint32_t ev) {
    struct hconn *hc = &hconns[h];
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(hc->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
    if (error) return http_lost(h, strerror(error));
    if (!(ev & EPOLLOUT)) return;
    struct epoll_event in = { .events = EPOLLIN, .data.u64 = HTTP_TAG | (uint64_t)h };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, hc->fd, &in) < 0) fail("epoll_ctl: %s", strerror(errno));
    hc->state = H_BUSY;
    http_send(h);
}

/* The value of header `name` in a response's head, or NULL; case-insensitive, as HTTP's names. */
static const char *header_value(const char *head, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ') v++;
            return v;
        }
    }
    return NULL;
}

/* A string field of the seat reservation (JSON.stringify's: no spaces) into out; the ids are
 * nanoid's, [A-Za-z0-9_-], which the server's URL pattern for the WebSocket requires too. */
static bool json_id(const char *json, const char *key, char *out, size_t cap) {
    char pattern[40];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return false;
    p += strlen(pattern);
    size_t n = 0;
    for (; p[n] != '"'; n++) {
        char ch = p[n];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok || n + 1 >= cap) return false;
    }
    memcpy(out, p, n);
    out[n] = 0;
    return n > 0;
}

/* A whole reply: the seat reservation becomes the session's upgrade request (held in c->http until
 * its socket connects, then the buffer takes the upgrade response), the connection goes back to
 * the pool, kept alive unless the server said close, and the session's WebSocket connects. */
static void on_matchmade(int h, const char *head, const char *body) {
    struct hconn *hc = &hconns[h];
    struct conn *c = &conns[hc->session];
    if (strncmp(head, "HTTP/1.1 200", 12) != 0) {
        char why[300];
        snprintf(why, sizeof why, "%.*s: %.160s", (int)strcspn(head, "\r"), head, body);
        return http_lost(h, why);
    }
    const char *connection = header_value(head, "connection");
    bool keep = !(connection && strncasecmp(connection, "close", 5) == 0);
    char session[64], room[64], process[64];
    if (!json_id(body, "sessionId", session, sizeof session) || !json_id(body, "roomId", room, sizeof room) ||
        !json_id(body, "processId", process, sizeof process)) {
        char why[300];
        snprintf(why, sizeof why, "no sessionId, roomId and processId in the seat reservation: %.200s", body);
        return http_lost(h, why);
    }
    /* The SDK would connect to publicAddress instead of its endpoint: not this bench's server. */
    if (strstr(body, "\"publicAddress\"")) return http_lost(h, "the seat reservation names a publicAddress");
    if (keep) {
        hc->state = H_IDLE;
        hc->reused = true;
        hc->fill = 0;
        idle_hc[n_idle_hc++] = h;
    } else {
        http_close(h);
    }
    c->http = xmalloc(HTTP_MAX);
    /* ws 8's handshake (the SDK's WebSocket on Node 20), with a fixed key: its accept is checked. */
    int n = snprintf(c->http, HTTP_MAX,
        "GET /%s/%s?sessionId=%s HTTP/1.1\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "Host: 127.0.0.1:%d\r\n\r\n", process, room, session, WS_KEY, opt.port);
    c->http_fill = (uint16_t)n;
    open_conn((int)(c - conns));
}

/* Reads a matchmaking reply: its head to the blank line, then content-length bytes of JSON. */
static void on_http_readable(int h) {
    struct hconn *hc = &hconns[h];
    ssize_t n = read(hc->fd, hc->reply + hc->fill, MATCHMAKE_REPLY_MAX - hc->fill);
    if (n == 0) return http_lost(h, "closed by the server");
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return http_lost(h, strerror(errno));
    }
    reads++;
    if (hc->state != H_BUSY) return http_lost(h, "bytes on an idle matchmaking connection");
    hc->fill += (size_t)n;
    hc->reply[hc->fill] = 0;
    char *end = strstr(hc->reply, "\r\n\r\n");
    if (!end) {
        if (hc->fill == MATCHMAKE_REPLY_MAX) http_lost(h, "reply head over 4 KiB");
        return;
    }
    *end = 0;
    const char *length = header_value(hc->reply, "content-length");
    if (!length) return http_lost(h, "reply without content-length");
    size_t want = (size_t)strtoul(length, NULL, 10);
    char *body = end + 4;
    size_t have = hc->fill - (size_t)(body - hc->reply);
    if (have < want) {
        *end = '\r';
        if ((size_t)(body - hc->reply) + want > MATCHMAKE_REPLY_MAX) http_lost(h, "reply over 4 KiB");
        return;
    }
    body[want] = 0;
    on_matchmade(h, hc->reply, body);
}

static void start_loops(void) {
    int64_t t = now_ns();
    for (int i = 0; i < total; i++) {
        conns[i].sent_at = t;
        send_frames(&conns[i], 1);
    }
    ready_ns = now_ns();
    ready = true;
    emit("{\"event\":\"ready\"}");
}

/* Open: TCP connected, or WebSocket upgraded. */
static void on_open(struct conn *c) {
    c->state = S_OPEN;
    if (opt.mode == MODE_ECHO) {
        send_frames(c, (uint32_t)opt.inflight);
        if (++opened == total) {
            ready_ns = now_ns();
            ready = true;
            emit("{\"event\":\"ready\"}");
        }
    } else {
        send_frames(c, 1);
    }
}

static void on_connected(struct conn *c) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
    if (error) return conn_lost(c, strerror(error));
    c->want_out = false;
    set_events(c, EPOLLIN);
    if (opt.proto == PROTO_TCP) return on_open(c);
    c->state = S_UPGRADING;
    if (opt.proto == PROTO_WS) {
        c->http = xmalloc(HTTP_MAX);
        return conn_send(c, (const uint8_t *)upgrade_req, upgrade_len);
    }
    /* Colyseus: the request on_matchmade wrote; conn_send copies what the socket does not take. */
    conn_send(c, (const uint8_t *)c->http, c->http_fill);
    c->http_fill = 0;
}

static void sample(struct conn *c, int64_t t) {
    if (!win_opened || nsamples == 0x7fffffff) return;
    if (nsamples == samples_cap) {
        samples_cap = samples_cap ? samples_cap * 2 : 1 << 16;
        double *grown = realloc(samples, samples_cap * sizeof *samples);
        if (!grown) fail("out of memory for samples");
        samples = grown;
    }
    samples[nsamples++] = (double)(t - c->sent_at) / 1e6;
}

/* What a read completed: `frames` echoes and `beats` heartbeats. */
static void on_frames(struct conn *c, uint32_t frames, uint32_t beats) {
    heartbeats += beats;
    for (uint32_t i = 0; i < beats; i++) conn_send(c, beat_msg.p, beat_msg.len);
    if (frames == 0) return;
    if (opt.mode == MODE_ECHO) {
        received += frames;
        send_frames(c, frames);
        return;
    }
    bool first = !c->echoed;
    c->echoed = true;
    if (opt.mode == MODE_CONNECT) {
        if (!first) return;
        if (++first_echoes == total) {
            int64_t t = now_ns();
            ready = true;
            emit("{\"event\":\"connected\",\"count\":%d,\"startedAt\":%.3f,\"doneAt\":%.3f,\"generatorCpu\":%.4f}", total,
                 start_epoch_ms, start_epoch_ms + (double)(t - start_ns) / 1e6, (double)(cpu_us() - start_cpu_us) * 1000.0 / (double)(t - start_ns));
        } else open_next();
        return;
    }
    /* Latency: held after the first echo until every connection has had one; then looping. */
    if (first) {
        if (++first_echoes == total) start_loops();
        else open_next();
        return;
    }
    int64_t t = now_ns();
    sample(c, t);
    c->sent_at = t;
    send_frames(c, 1);
}

/* Counts the zero frames in `n` bytes without copying them; only a split header is copied. */
static bool scan(struct conn *c, const uint8_t *p, size_t n, uint32_t *frames, uint32_t *beats) {
    size_t i = 0;
    while (i < n) {
        if (c->skip > 0) {
            size_t take = c->skip < n - i ? c->skip : n - i;
            c->skip -= (uint32_t)take;
            i += take;
            if (c->skip > 0) break;
            if (c->id == HEARTBEAT_ID) (*beats)++;
            else (*frames)++;
            continue;
        }
        int32_t size;
        if (c->head_fill == 0 && n - i >= HEADER_SIZE) {
            size = get32(p + i);
            c->id = get32(p + i + 4);
            i += HEADER_SIZE;
        } else {
            size_t want = (size_t)(HEADER_SIZE - c->head_fill);
            size_t take = want < n - i ? want : n - i;
            memcpy(c->head + c->head_fill, p + i, take);
            c->head_fill += (uint8_t)take;
            i += take;
            if (c->head_fill < HEADER_SIZE) break;
            c->head_fill = 0;
            size = get32(c->head);
            c->id = get32(c->head + 4);
        }
        if (size < 8) return false;
        /* The size field counts the id (read), the data and the checksum: at least 4 to skip. */
        c->skip = (uint32_t)size - 4;
    }
    return true;
}

/* A Colyseus ERROR's text: [ERROR, code, message], numbers and strings as @colyseus/schema encodes
 * them (msgpack's tags, little-endian). Only its first MSG_HEAD bytes are kept. */
static const char *colyseus_error(const struct conn *c) {
    static char text[200];
    const uint8_t *m = c->msg, *end = c->msg + c->msg_fill;
    const uint8_t *p = m + 1;
    long code = -1;
    if (p < end && *p < 0x80) code = *p++;
    else if (p + 1 < end && *p == 0xcc) { code = p[1]; p += 2; }
    else if (p + 2 < end && *p == 0xcd) { code = p[1] | p[2] << 8; p += 3; }
    size_t len = 0;
    if (p < end && (*p & 0xe0) == 0xa0) len = *p++ & 0x1f;
    else if (p + 1 < end && *p == 0xd9) { len = p[1]; p += 2; }
    if (len > (size_t)(end - p)) len = (size_t)(end - p);
    snprintf(text, sizeof text, "Colyseus ERROR %ld: %.*s", code, (int)len, (const char *)p);
    return text;
}

/* One whole Colyseus message from the server, of which c->msg holds the first bytes: JOIN_ROOM
 * while joining is acknowledged and opens the session (the SDK acknowledges at once, and its user
 * sends once joinOrCreate resolves, after that); sendBytes of the echo type counts as one echo. */
static const char *colyseus_message(struct conn *c, uint32_t *frames) {
    uint8_t fill = c->msg_fill;
    c->msg_fill = 0;
    if (fill == 0) return "empty message from the server";
    switch (c->msg[0] & CY_CODE_MASK) {
    case CY_ROOM_DATA_BYTES:
        if (fill >= 2 && c->msg[1] == CY_ECHO_TYPE && c->state == S_OPEN) (*frames)++;
        return NULL;
    case CY_JOIN_ROOM:
        if (c->state != S_JOINING) return NULL;
        conn_send(c, join_ack.p, join_ack.len);
        if (c->state == S_JOINING) on_open(c);
        return NULL;
    case CY_ERROR:
        c->msg_fill = fill;
        return colyseus_error(c);
    case CY_LEAVE_ROOM:
        return "LEAVE_ROOM from the server";
    default:
        return NULL;  /* a room's state or other messages: none in the echo room */
    }
}

/* Unwraps the server's WebSocket frames (unmasked). zero: their payloads are scanned as one zero
 * stream: a message may hold several zero frames, and a zero frame may span messages and reads.
 * Colyseus: each message (its frames, to FIN) is one Colyseus message, its first bytes kept. Answers
 * a ping with a pong. Returns an error text, or NULL. */
static const char *ws_feed(struct conn *c, const uint8_t *p, size_t n, uint32_t *frames, uint32_t *beats) {
    size_t i = 0;
    while (i < n) {
        if (!c->ws_in_payload) {
            c->ws_head[c->ws_head_fill++] = p[i++];
            if (c->ws_head_fill < 2) continue;
            if (c->ws_head[1] & 0x80) return "masked frame from the server";
            uint8_t len7 = c->ws_head[1] & 0x7f;
            size_t need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
            if (c->ws_head_fill < need) continue;
            uint64_t len = len7;
            if (len7 == 126) len = (uint64_t)c->ws_head[2] << 8 | c->ws_head[3];
            else if (len7 == 127) { len = 0; for (int b = 2; b < 10; b++) len = len << 8 | c->ws_head[b]; }
            c->ws_op = c->ws_head[0] & 0x0f;
            c->ws_fin = (c->ws_head[0] & 0x80) != 0;
            if (c->ws_op == 0x1) return "text message from the server";
            if (c->ws_op >= 0x8 && len > sizeof c->ctl) return "control frame over 125 bytes";
            c->ws_left = len;
            c->ws_head_fill = 0;
            c->ctl_fill = 0;
            c->ws_in_payload = true;
        }
        size_t take = c->ws_left < n - i ? (size_t)c->ws_left : n - i;
        if (c->ws_op < 0x8 && opt.proto == PROTO_COLYSEUS) {
            size_t room = (size_t)(MSG_HEAD - c->msg_fill);
            size_t keep = room < take ? room : take;
            memcpy(c->msg + c->msg_fill, p + i, keep);
            c->msg_fill += (uint8_t)keep;
        } else if (c->ws_op < 0x8) {
            if (!scan(c, p + i, take, frames, beats)) return "zero frame with a size below 8";
        } else {
            memcpy(c->ctl + c->ctl_fill, p + i, take);
            c->ctl_fill += (uint8_t)take;
        }
        i += take;
        c->ws_left -= take;
        if (c->ws_left > 0) break;
        c->ws_in_payload = false;
        if (c->ws_op < 0x8) {
            if (opt.proto != PROTO_COLYSEUS || !c->ws_fin) continue;
            const char *error = colyseus_message(c, frames);
            if (error) return error;
            if (c->state == S_CLOSED) return NULL;
            continue;
        }
        if (c->ws_op == 0x8) return "WebSocket close from the server";
        if (c->ws_op == 0x9) {
            uint8_t pong[sizeof c->ctl + 6];
            conn_send(c, pong, ws_encode(pong, 0xA, c->ctl, c->ctl_fill));
            pings++;
        }
    }
    return NULL;
}

/* The upgrade response, to its blank line; bytes after it are the first WebSocket frames. */
static void on_upgrade_bytes(struct conn *c, const uint8_t *p, size_t n) {
    size_t room = HTTP_MAX - 1 - c->http_fill;
    size_t take = n < room ? n : room;
    size_t before = c->http_fill;
    memcpy(c->http + c->http_fill, p, take);
    c->http_fill += (uint16_t)take;
    c->http[c->http_fill] = 0;
    char *end = strstr(c->http, "\r\n\r\n");
    if (!end) {
        if (c->http_fill == HTTP_MAX - 1) conn_lost(c, "upgrade response over 1 KiB");
        return;
    }
    if (strncmp(c->http, "HTTP/1.1 101", 12) != 0 || !strstr(c->http, WS_ACCEPT)) {
        char *eol = strstr(c->http, "\r\n");
        if (eol) *eol = 0;
        char why[200];
        snprintf(why, sizeof why, "upgrade refused: %s", c->http);
        return conn_lost(c, why);
    }
    size_t used = (size_t)(end + 4 - c->http) - before;
    free(c->http);
    c->http = NULL;
    /* Colyseus opens at its JOIN_ROOM, which may follow in these bytes. */
    if (opt.proto == PROTO_COLYSEUS) c->state = S_JOINING;
    else on_open(c);
    if (used < n && c->state != S_CLOSED) {
        uint32_t frames = 0, beats = 0;
        const char *error = ws_feed(c, p + used, n - used, &frames, &beats);
        if (error) return conn_lost(c, error);
        on_frames(c, frames, beats);
    }
}

/* Level-triggered: one read per wake-up; anything left wakes us again. */
static void on_readable(struct conn *c) {
    ssize_t n = read(c->fd, rbuf, READ_BUFFER);
    if (n == 0) return conn_lost(c, "closed by the server");
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return conn_lost(c, strerror(errno));
    }
    reads++;
    if (c->state == S_UPGRADING) return on_upgrade_bytes(c, rbuf, (size_t)n);
    uint32_t frames = 0, beats = 0;
    if (opt.proto == PROTO_TCP) {
        if (!scan(c, rbuf, (size_t)n, &frames, &beats)) return conn_lost(c, "zero frame with a size below 8");
    } else {
        const char *error = ws_feed(c, rbuf, (size_t)n, &frames, &beats);
        if (error) return conn_lost(c, error);
    }
    on_frames(c, frames, beats);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank, as bench/stats.ts. */
static double rank(double q) {
    if (nsamples == 0) return -1;
    double r = q * (double)nsamples;
    long index = (long)r;
    if ((double)index < r) index++;
    index--;
    if (index < 0) index = 0;
    if (index > (long)nsamples - 1) index = (long)nsamples - 1;
    return samples[index];
}

static void close_window(int64_t t) {
    double elapsed = (double)(t - win_start_ns);
    double cpu = (double)(cpu_us() - win_cpu_us) * 1000.0 / elapsed;
    char error[400];
    const char *first = unexpected ? json_string(first_error, error, sizeof error) : "null";
    win_close_ns = 0;
    win_opened = false;
    if (opt.mode == MODE_ECHO) {
        emit("{\"event\":\"measured\",\"framesPerSec\":%.1f,\"generatorCpu\":%.4f,\"readsPerSec\":%.1f,\"writesPerSec\":%.1f,\"closedByServer\":%d,\"firstError\":%s}",
             (double)(received - win_received) * 1e9 / elapsed, cpu, (double)(reads - win_reads) * 1e9 / elapsed,
             (double)(writes - win_writes) * 1e9 / elapsed, unexpected, first);
        return;
    }
    qsort(samples, nsamples, sizeof *samples, compare_doubles);
    /* -1 (no sample) reads as NaN on the other side. */
    emit("{\"event\":\"measured\",\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"count\":%zu,\"generatorCpu\":%.4f,\"closedByServer\":%d,\"firstError\":%s}",
         rank(0.5), rank(0.99), rank(0.999), nsamples ? samples[nsamples - 1] : -1, nsamples, cpu, unexpected, first);
    nsamples = 0;
}

static void stop(void) {
    stopping = true;
    int64_t t = now_ns();
    for (int i = 0; i < started; i++) if (conns[i].state != S_CLOSED) reset_conn(&conns[i]);
    for (int h = 0; hconns && h < hconn_count; h++) if (hconns[h].state != H_CLOSED) reset_fd(hconns[h].fd);
    char error[400];
    double rate = opt.mode == MODE_ECHO && ready ? (double)received * 1e9 / (double)(t - ready_ns) : 0;
    emit("{\"event\":\"stopped\",\"framesPerSec\":%.1f,\"heartbeats\":%llu,\"pings\":%llu,\"matchmakes\":%llu,\"matchmakeConnections\":%llu,"
         "\"closedByServer\":%d,\"firstError\":%s}", rate, (unsigned long long)heartbeats, (unsigned long long)pings,
         (unsigned long long)matchmakes, (unsigned long long)matchmake_connections, unexpected,
         unexpected ? json_string(first_error, error, sizeof error) : "null");
    exit(0);
}

static void on_command(const char *line) {
    long warmup, duration;
    if (sscanf(line, "measure %ld %ld", &warmup, &duration) == 2) {
        if (opt.mode == MODE_CONNECT || !ready) fail("measure: no load running (%s)", line);
        int64_t t = now_ns();
        /* The warm-up counts from the load's start (echo) or the loops' (latency). */
        win_open_ns = ready_ns + warmup * MS > t ? ready_ns + warmup * MS : t;
        win_close_ns = win_open_ns + duration * MS;
        win_opened = false;
        nsamples = 0;
    } else if (strncmp(line, "stop", 4) == 0) {
        stop();
    } else {
        fail("unknown command: %s", line);
    }
}

static void on_stdin(void) {
    static char line[256];
    static size_t fill;
    ssize_t n = read(STDIN_FILENO, line + fill, sizeof line - 1 - fill);
    if (n == 0) stop();
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        stop();
    }
    fill += (size_t)n;
    char *newline;
    while ((newline = memchr(line, '\n', fill))) {
        *newline = 0;
        on_command(line);
        size_t used = (size_t)(newline + 1 - line);
        memmove(line, newline + 1, fill - used);
        fill -= used;
    }
    if (fill == sizeof line - 1) fail("command line too long");
}

/* Deadlines: the opening's, and the window's edges. Returns epoll_wait's timeout in ms. */
static int on_timers(void) {
    int64_t t = now_ns();
    if (!ready && t >= open_deadline_ns) {
        int done = opt.mode == MODE_ECHO ? opened : first_echoes;
        fail("only %d of %d connections %s within %lld ms", done, total, opt.mode == MODE_ECHO ? "open" : "echoed", (long long)opt.timeout_ms);
    }
    if (win_close_ns && !win_opened && t >= win_open_ns) {
        win_opened = true;
        win_start_ns = t;
        win_received = received;
        win_reads = reads;
        win_writes = writes;
        win_cpu_us = cpu_us();
    }
    if (win_close_ns && win_opened && t >= win_close_ns) close_window(t);
    int64_t next = INT64_MAX;
    if (!ready) next = open_deadline_ns;
    if (win_close_ns) {
        int64_t edge = win_opened ? win_close_ns : win_open_ns;
        if (edge < next) next = edge;
    }
    if (next == INT64_MAX) return -1;
    /* Rounded up: a wake-up before the deadline would only wait again. */
    int64_t ms = (next - t + MS - 1) / MS;
    return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

static void parse_args(int argc, char **argv) {
    if (argc < 4) fail("usage: zload echo|latency|connect tcp|ws|colyseus PORT [key=value ...]");
    if (!strcmp(argv[1], "echo")) opt.mode = MODE_ECHO;
    else if (!strcmp(argv[1], "latency")) opt.mode = MODE_LATENCY;
    else if (!strcmp(argv[1], "connect")) opt.mode = MODE_CONNECT;
    else fail("unknown mode %s", argv[1]);
    if (!strcmp(argv[2], "tcp")) opt.proto = PROTO_TCP;
    else if (!strcmp(argv[2], "ws")) opt.proto = PROTO_WS;
    else if (!strcmp(argv[2], "colyseus")) opt.proto = PROTO_COLYSEUS;
    else fail("unknown protocol %s", argv[2]);
    opt.port = atoi(argv[3]);
    if (opt.port <= 0 || opt.port > 65535) fail("bad port %s", argv[3]);
    for (int i = 4; i < argc; i++) {
        char key[32];
        long value;
        if (sscanf(argv[i], "%31[a-z]=%ld", key, &value) != 2 || value < 0) fail("bad argument %s", argv[i]);
        if (!strcmp(key, "conns")) opt.conns = (int)value;
        else if (!strcmp(key, "inflight")) opt.inflight = (int)value;
        else if (!strcmp(key, "size")) opt.size = (int)value;
        else if (!strcmp(key, "count")) opt.count = (int)value;
        else if (!strcmp(key, "concurrency")) opt.concurrency = (int)value;
        else if (!strcmp(key, "sources")) opt.sources = (int)value;
        else if (!strcmp(key, "timeout")) opt.timeout_ms = value;
        else fail("unknown key %s", key);
    }
    total = opt.mode == MODE_CONNECT ? opt.count : opt.conns;
    if (total < 1 || opt.inflight < 1 || opt.concurrency < 1 || opt.size > (1 << 20) || opt.sources > 250) fail("arguments out of range");
    if ((size_t)opt.inflight * (size_t)opt.inflight * ((size_t)opt.size + 12) > ((size_t)256 << 20)) fail("inflight x size too large to precompute");
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    precompute();
    conns = calloc((size_t)total, sizeof *conns);
    rbuf = xmalloc(READ_BUFFER);
    if (!conns) fail("out of memory for %d connections", total);
    int first = opt.mode == MODE_ECHO ? total : opt.concurrency < total ? opt.concurrency : total;
    if (opt.proto == PROTO_COLYSEUS) {
        /* As many matchmaking connections as sessions may matchmake at once (see struct hconn). */
        hconns = calloc((size_t)first, sizeof *hconns);
        idle_hc = xmalloc(sizeof(int) * (size_t)first);
        free_hc = xmalloc(sizeof(int) * (size_t)first);
        if (!hconns) fail("out of memory for %d matchmaking connections", first);
        hconn_count = first;
        for (int h = first - 1; h >= 0; h--) free_hc[n_free_hc++] = h;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1: %s", strerror(errno));
    struct epoll_event in = { .events = EPOLLIN, .data.u64 = STDIN_TAG };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &in) < 0) fail("epoll_ctl(stdin): %s", strerror(errno));

    start_ns = now_ns();
    start_epoch_ms = epoch_ms();
    start_cpu_us = cpu_us();
    open_deadline_ns = start_ns + opt.timeout_ms * MS;
    for (int i = 0; i < first; i++) open_next();

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int timeout = on_timers();
        int n = epoll_wait(ep, events, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == STDIN_TAG) { on_stdin(); continue; }
            uint32_t ev = events[i].events;
            if (events[i].data.u64 & HTTP_TAG) {
                int h = (int)(events[i].data.u64 & ~HTTP_TAG);
                if (hconns[h].state == H_CONNECTING) on_http_connected(h, ev);
                else if (hconns[h].state != H_CLOSED && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_http_readable(h);
                continue;
            }
            struct conn *c = &conns[events[i].data.u64];
            if (c->state == S_CLOSED) continue;
            if (c->state == S_CONNECTING) {
                if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
                continue;
            }
            if ((ev & EPOLLOUT) && c->out_len > 0) flush_out(c);
            if (c->state != S_CLOSED && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c);
        }
    }
}
