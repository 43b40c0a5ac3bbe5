/*
 * faultyuss.c - a misbehaving upstream server for wsusd's failure tests:
 * it stands between a downstream wsusd and a real upstream wsusd and
 * answers the way broken servers do.
 *
 * usage: faultyuss --port-file FILE --mode MODE [--upstream HOST:PORT] [--nth N]
 *   pass     forward every request to the upstream
 *   500      answer every request with HTTP 500 (an HTML error page)
 *   garbage  answer every request with HTTP 200 and an HTML page
 *   cut      forward, but send only half of the answer to the Nth
 *            GetUpdateData request and then close the connection (a server
 *            dying mid-answer); every later request is forwarded again
 *   cookie   forward, but answer the Nth GetUpdateData with the SOAP fault
 *            of an expired cookie (ErrorCode InvalidCookie), once
 * One request per connection ("Connection: close"); listens on a free
 * loopback port and writes it to FILE.  Runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MSG (64u << 20)

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one HTTP request (headers and Content-Length body) into a malloc'd buffer. */
static char *read_request(int fd, size_t *len)
{
    size_t cap = 65536, n = 0, need = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return NULL;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_MSG)
                break;
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                break;
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !need) {
            size_t hl = (size_t)(end - buf) + 4, cl = 0;
            for (char *h = buf; h && h < end; h = strstr(h, "\r\n"), h = h ? h + 2 : NULL)
                if (strncasecmp(h, "Content-Length:", 15) == 0)
                    cl = strtoul(h + 15, NULL, 10);
            need = hl + cl;
        }
        if (need && n >= need) {
            *len = n;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sin = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Forward the request with "Connection: close" and read the whole answer. */
static char *forward(const char *host, int port, char *req, size_t len, size_t *rlen)
{
    int fd = connect_to(host, port);
    if (fd < 0)
        return NULL;
    char *end = strstr(req, "\r\n\r\n");
    /* Drop the client's Connection header; ask for one request per connection. */
    for (char *h = strstr(req, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Connection:", 11) == 0)
            memcpy(h + 2, "X-Old-Conn:", 11);
    size_t hl = (size_t)(end - req);
    if (write_all(fd, req, hl) < 0 || write_all(fd, "\r\nConnection: close\r\n\r\n", 23) < 0 ||
        write_all(fd, end + 4, len - hl - 4) < 0) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *rlen = n;
    return buf;
}

static void answer(int fd, int status, const char *reason, const char *type, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
                     "close\r\n\r\n",
                     status, reason, type, strlen(body));
    write_all(fd, head, (size_t)n);
    write_all(fd, body, strlen(body));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"port-file", required_argument, NULL, 'f'},
                                         {"mode", required_argument, NULL, 'm'},
                                         {"upstream", required_argument, NULL, 'u'},
                                         {"nth", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *port_file = NULL, *mode = "pass";
    char host[64] = "127.0.0.1";
    int up_port = 8530, nth = 1, c, seen = 0, cut_done = 0;
    while ((c = getopt_long(argc, argv, "f:m:u:n:", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            port_file = optarg;
            break;
        case 'm':
            mode = optarg;
            break;
        case 'u': {
            char *colon = strrchr(optarg, ':');
            if (!colon)
                return 2;
            snprintf(host, sizeof host, "%.*s", (int)(colon - optarg), optarg);
            up_port = atoi(colon + 1);
            break;
        }
        case 'n':
            nth = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!port_file)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sin = {0};
    socklen_t sl = sizeof sin;
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&sin, &sl) != 0) {
        perror("faultyuss");
        return 1;
    }
    FILE *pf = fopen(port_file, "w");
    if (!pf)
        return 1;
    fprintf(pf, "%d\n", ntohs(sin.sin_port));
    fclose(pf);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        size_t len, rlen;
        char *req = read_request(fd, &len);
        if (!req) {
            close(fd);
            continue;
        }
        if (strcmp(mode, "500") == 0) {
            answer(fd, 500, "Internal Server Error", "text/html",
                   "<html><body><h2>HTTP Error 500.19 - Internal Server Error</h2></body></html>");
        } else if (strcmp(mode, "garbage") == 0) {
            answer(fd, 200, "OK", "text/html", "<html><body>Welcome to nginx!</body></html>");
        } else {
            int is_data = strstr(req, "<GetUpdateData") != NULL;
            char *resp = forward(host, up_port, req, len, &rlen);
            if (!resp) {
                answer(fd, 502, "Bad Gateway", "text/plain", "upstream unreachable");
            } else if (strcmp(mode, "cookie") == 0 && is_data && !cut_done && ++seen == nth) {
                answer(fd, 500, "Internal Server Error", "text/xml; charset=utf-8",
                       "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
                       "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
                       "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Fault "
                       "occurred</faultstring><detail><ErrorCode>InvalidCookie</ErrorCode>"
                       "<Message /><ID>247dfffd-a6b4-4a57-b9d4-2e464b668cd3</ID></detail>"
                       "</soap:Fault></soap:Body></soap:Envelope>");
                cut_done = 1;
            } else if (strcmp(mode, "cut") == 0 && is_data && !cut_done && ++seen == nth) {
                /* Die in the middle of the answer. */
                write_all(fd, resp, rlen / 2);
                cut_done = 1;
            } else {
                write_all(fd, resp, rlen);
            }
            free(resp);
        }
        free(req);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}
