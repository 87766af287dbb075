/*
 * The floor under a socket round trip: two processes pass a 32-byte message back and forth over
 * a SOCK_SEQPACKET pair, with no protocol at all. pvdrm-bench (its `limits` case) compiles this
 * with gcc during its run and starts it once per block, interleaved with PvDrm's own round trips.
 *
 *   seqpacket_pingpong block|poll SAMPLES
 *
 * block: recv() sleeps until the message is there, so every round trip wakes both processes.
 * poll:  recv(MSG_DONTWAIT) in a loop that never sleeps (each side keeps a core busy: on a
 *        machine with no two free cores, a round trip waits for the scheduler instead).
 * After an untimed warm-up, prints each timed round trip in nanoseconds, one per line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE = 32, WARMUP = 100 };

static int recv_flags; /* 0: sleep in recv; MSG_DONTWAIT: spin */

static void send_one(int fd, const char *buf)
{
    if (send(fd, buf, MESSAGE, 0) != MESSAGE) { perror("send"); exit(1); }
}

static void recv_one(int fd, char *buf)
{
    for (;;) {
        ssize_t n = recv(fd, buf, MESSAGE, recv_flags);
        if (n == MESSAGE) return;
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue; /* poll mode: not yet */
        fprintf(stderr, "recv: %s\n", n < 0 ? strerror(errno) : "short message");
        exit(1);
    }
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "block") && strcmp(argv[1], "poll")) || atol(argv[2]) <= 0) {
        fprintf(stderr, "usage: %s block|poll SAMPLES\n", argv[0]);
        return 2;
    }
    recv_flags = strcmp(argv[1], "poll") == 0 ? MSG_DONTWAIT : 0;
    long samples = atol(argv[2]), rounds = WARMUP + samples;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) { perror("socketpair"); return 1; }
    char buf[MESSAGE];
    memset(buf, 7, sizeof buf);

    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) { /* the echo: answer every message */
        close(sv[0]);
        for (long i = 0; i < rounds; i++) { recv_one(sv[1], buf); send_one(sv[1], buf); }
        _exit(0);
    }
    close(sv[1]);
    long long *ns = malloc(samples * sizeof *ns);
    if (!ns) return 1;
    for (long i = 0; i < rounds; i++) {
        long long start = now_ns();
        send_one(sv[0], buf);
        recv_one(sv[0], buf);
        if (i >= WARMUP) ns[i - WARMUP] = now_ns() - start;
    }
    int status;
    waitpid(child, &status, 0);
    for (long i = 0; i < samples; i++) printf("%lld\n", ns[i]);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
