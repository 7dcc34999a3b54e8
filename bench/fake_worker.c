/*
 * Fast fake WhatsApp/Telegram worker for `make bench` (bench/run.sh compiles it with gcc into the run's temp dir).
 *
 * One thread, epoll, HTTP/1.1 keep-alive. Every request (any method, any path, Content-Length or chunked body)
 * gets `200 {"ok":true,"message_id":"fake-<n>"}`, except `GET /_count`, which answers `{"count":<n>}` with the
 * number of other requests served so far (run.sh compares it with the 2xx count of `POST /send`).
 * It does no auth and keeps no state: it only exists so that the worker side costs ~nothing and the measured
 * `/send` rate is Avio's, not the fake's (scripts/fake_workers.py is a ThreadingHTTPServer: ~1-2k req/s at best).
 *
 * Usage: fake_worker PORT        (listens on 127.0.0.1:PORT; SIGTERM/SIGINT → prints the count and exits 0)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

struct conn {
    int fd;
    size_t len;
    char buf[BUF];
};

static volatile sig_atomic_t stop = 0;
static unsigned long long served = 0;

static void on_signal(int sig) { (void)sig; stop = 1; }

/* Length of one complete request at the start of buf, 0 if incomplete, -1 if malformed. */
static long request_length(const char *buf, size_t len) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len >= BUF ? -1 : 0;
    size_t head = (size_t)(end - buf) + 4;
    long body = 0;
    int chunked = 0;
    for (const char *line = buf; line < end;) {
        const char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
        if (!eol) break;
        size_t n = (size_t)(eol - line);
        if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) body = strtol(line + 15, NULL, 10);
        if (n > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, n, "chunked", 7)) chunked = 1;
        line = eol + 2;
    }
    if (!chunked) return head + (size_t)body <= len ? (long)(head + (size_t)body) : 0;
    size_t pos = head;
    for (;;) {
        const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
        if (!eol) return 0;
        long size = strtol(buf + pos, NULL, 16);
        pos = (size_t)(eol - buf) + 2;
        if (size == 0) {  /* no trailers expected: final CRLF */
            return pos + 2 <= len ? (long)(pos + 2) : 0;
        }
        pos += (size_t)size + 2;
        if (pos > len) return 0;
    }
}

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { usleep(50); continue; }  /* tiny answers: the socket buffer is never full in practice */
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int answer(struct conn *c, const char *req) {
    char body[96], out[256];
    int blen;
    if (strncmp(req, "GET /_count ", 12) == 0) {
        blen = snprintf(body, sizeof body, "{\"count\":%llu}", served);
    } else {
        served++;
        blen = snprintf(body, sizeof body, "{\"ok\":true,\"message_id\":\"fake-%llu\"}", served);
    }
    int olen = snprintf(out, sizeof out,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", blen, body);
    return write_all(c->fd, out, (size_t)olen);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1024) < 0) {
        perror("fake_worker: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "fake_worker: listening on 127.0.0.1:%s\n", argv[1]);

    struct epoll_event events[256];
    while (!stop) {
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    nc->fd = fd;
                    nc->len = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int closed = 0;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    if (c->len < BUF) continue;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    closed = 1;
                }
                break;
            }
            long used;
            while (!closed && (used = request_length(c->buf, c->len)) != 0) {
                if (used < 0 || answer(c, c->buf) < 0) { closed = 1; break; }
                memmove(c->buf, c->buf + used, c->len - (size_t)used);
                c->len -= (size_t)used;
            }
            if (closed) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                free(c);
            }
        }
    }
    printf("fake_worker requests=%llu\n", served);
    return 0;
}
