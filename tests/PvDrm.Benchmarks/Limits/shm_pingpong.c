/*
 * The floor under any transport between two processes on this machine: one cache line in shared
 * memory bounced between them, no system call and no sleep. pvdrm-bench (its `limits` case)
 * compiles this with gcc during its run and starts it once per block.
 *
 *   shm_pingpong SAMPLES BATCH
 *
 * The parent turns the shared counter odd, the child sees it and turns it even, and so on: one
 * round trip per two increments. A single round trip is too short to time alone (a clock read
 * costs a good part of it), so each sample is the mean of BATCH round trips, printed in
 * nanoseconds, one per line, after an untimed warm-up. Both sides spin: on a machine with no two
 * free cores, a round trip waits for the scheduler instead.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { WARMUP = 1000 };

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* a polite spin: frees the core's pipeline, and leaves the loop without a stall */
#endif
}

/* Waits until the counter reaches want, then moves it on by one. */
static inline void turn(_Atomic unsigned long *counter, unsigned long want)
{
    while (atomic_load_explicit(counter, memory_order_acquire) != want) cpu_relax();
    atomic_store_explicit(counter, want + 1, memory_order_release);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    long samples = argc == 3 ? atol(argv[1]) : 0, batch = argc == 3 ? atol(argv[2]) : 0;
    if (samples <= 0 || batch <= 0) {
        fprintf(stderr, "usage: %s SAMPLES BATCH\n", argv[0]);
        return 2;
    }
    /* One page shared by both processes; the counter alone on its cache line at its start. */
    _Atomic unsigned long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counter == MAP_FAILED) { perror("mmap"); return 1; }
    atomic_store(counter, 0);
    unsigned long rounds = WARMUP + (unsigned long)samples * batch;

    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) { /* the echo: odd -> even */
        for (unsigned long i = 0; i < rounds; i++) turn(counter, 2 * i + 1);
        _exit(0);
    }
    unsigned long i = 0;
    for (; i < WARMUP; i++) turn(counter, 2 * i);
    long long *ns = malloc(samples * sizeof *ns);
    if (!ns) return 1;
    for (long s = 0; s < samples; s++) {
        long long start = now_ns();
        for (long b = 0; b < batch; b++, i++) {
            turn(counter, 2 * i);
            /* wait for the answer before the next round trip (and before the clock) */
            while (atomic_load_explicit(counter, memory_order_acquire) != 2 * i + 2) cpu_relax();
        }
        ns[s] = (now_ns() - start) / batch;
    }
    int status;
    waitpid(child, &status, 0);
    for (long s = 0; s < samples; s++) printf("%lld\n", ns[s]);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
