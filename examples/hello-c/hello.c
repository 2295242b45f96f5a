/* hello-c: a tiny dynamically linked HTTP server for UniK. It answers every request with
 * 200 "hello from c\n" on $PORT (default 8080). Build: cc -O2 -o hello-c hello.c */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "hello from c\n";

int main(void) {
    const char *env = getenv("PORT");
    int port = env && *env ? atoi(env) : 8080;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "hello-c: bad PORT %s\n", env);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    int family = AF_INET6;
    if (s < 0) { /* no IPv6 in the guest kernel: fall back to IPv4 */
        s = socket(AF_INET, SOCK_STREAM, 0);
        family = AF_INET;
    }
    if (s < 0) {
        perror("hello-c: socket");
        return 1;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (family == AF_INET6) {
        int zero = 0;
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((unsigned short)port);
        a6.sin6_addr = in6addr_any;
        rc = bind(s, (struct sockaddr *)&a6, sizeof a6);
    } else {
        struct sockaddr_in a4;
        memset(&a4, 0, sizeof a4);
        a4.sin_family = AF_INET;
        a4.sin_port = htons((unsigned short)port);
        a4.sin_addr.s_addr = htonl(INADDR_ANY);
        rc = bind(s, (struct sockaddr *)&a4, sizeof a4);
    }
    if (rc < 0 || listen(s, 64) < 0) {
        perror("hello-c: bind/listen");
        return 1;
    }
    printf("hello-c: listening on :%d\n", port);
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        (void)read(c, buf, sizeof buf); /* one read is enough for a small request */
        (void)write(c, reply, sizeof reply - 1);
        close(c);
    }
}
