/* Shared by the two halves of libpvdrm_shim.so: the interposed libc calls (pvdrm_shim.c) and
 * the calls forwarded to the proxy (pvdrm_shim_proxy.c). */
#ifndef PVDRM_SHIM_H
#define PVDRM_SHIM_H

#define _GNU_SOURCE
#include <pthread.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))
#define REPLY_BUFFER (64 * 1024)

/* One DRM file: the socket to the proxy, shared by every fd dup'ed from it. */
struct pvdrm_file {
	pthread_mutex_t lock; /* one call at a time: the proxy answers in order */
	int refs;
	dev_t dev;
	ino_t ino;
	unsigned char reply[REPLY_BUFFER];
};

/* libc's own function, looked up once per call site. */
void *pvdrm_real(const char *name);
#define REAL(name) ({ \
	static __typeof__(&name) real_##name; \
	if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)) \
		__atomic_store_n(&real_##name, (__typeof__(&name))pvdrm_real(#name), __ATOMIC_RELEASE); \
	real_##name; })

int pvdrm_debug(void);

/* The DRM file behind fd with a reference held, or NULL; file_put drops the reference. */
struct pvdrm_file *pvdrm_file_get(int fd);
void pvdrm_file_put(struct pvdrm_file *f);

#endif
