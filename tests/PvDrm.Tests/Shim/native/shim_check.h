/* Shared by the shim test programs: checks that stop the program with a reason, and the node. */
#ifndef SHIM_CHECK_H
#define SHIM_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails the program (exit 1) with where, what, and errno as it was. */
#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			int saved = errno;                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
			fprintf(stderr, __VA_ARGS__);                                    \
			fprintf(stderr, " (errno %d: %s)\n", saved, strerror(saved));    \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

/* A call that must fail with exactly this errno. */
#define CHECK_ERRNO(call, expected, what)                                                \
	do {                                                                             \
		errno = 0;                                                               \
		int r_ = (call);                                                         \
		CHECK(r_ != 0 && errno == (expected), "%s: expected %s, got %d",         \
		      what, strerror(expected), r_);                                     \
	} while (0)

static inline const char *render_node(void)
{
	const char *n = getenv("PVDRM_RENDER_NODE");
	return n && *n ? n : "/dev/dri/renderD128";
}

/* Blocks until the test writes a line: the only way these programs wait for anything. */
static inline void wait_for_go(const char *ready)
{
	char line[64];
	printf("%s\n", ready);
	fflush(stdout);
	CHECK(fgets(line, sizeof(line), stdin) != NULL, "stdin closed before the go line");
}

#endif
