/*
 * libpvdrm_shim.so: an LD_PRELOAD front-end that makes PvDrm look like a DRM render node to an
 * unmodified program (libdrm, libdrm_nouveau). Opening the configured node connects to the guest
 * proxy's shim socket; the program gets that socket as its "DRM fd". ioctl and mmap on it are
 * forwarded to the proxy (framing in SHIM.md); everything else goes to libc.
 *
 *   PVDRM_PROXY_SOCKET  the proxy's shim socket (unix:PATH or PATH); unset: the shim does nothing
 *   PVDRM_RENDER_NODE   the path programs open (default /dev/dri/renderD128)
 *   PVDRM_SHIM_DEBUG=1  print why a call failed, as the proxy explained it, on stderr
 */
#include "pvdrm_shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#define DRM_MAJOR 226

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pvdrm_file **table;
static int table_size;
static int live_entries;

void *pvdrm_real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		fprintf(stderr, "pvdrm shim: libc has no %s\n", name);
		abort();
	}
	return f;
}

int pvdrm_debug(void)
{
	const char *d = getenv("PVDRM_SHIM_DEBUG");
	return d && *d && strcmp(d, "0") != 0;
}

static const char *node_path(void)
{
	const char *p = getenv("PVDRM_RENDER_NODE");
	return p && *p ? p : "/dev/dri/renderD128";
}

static const char *proxy_path(void)
{
	const char *p = getenv("PVDRM_PROXY_SOCKET");
	if (!p || !*p)
		return NULL;
	return strncmp(p, "unix:", 5) == 0 ? p + 5 : p;
}

/* renderD128 -> 128: the minor number stat reports. */
static unsigned node_minor(void)
{
	const char *name = strrchr(node_path(), '/');
	name = name ? name + 1 : node_path();
	if (strncmp(name, "renderD", 7) == 0 && name[7] >= '0' && name[7] <= '9')
		return (unsigned)atoi(name + 7);
	return 128;
}

static int is_node(const char *path)
{
	return path && proxy_path() && strcmp(path, node_path()) == 0;
}

/* /sys/dev/char/226:MINOR/device/drm: libdrm's test that a character device is DRM's. */
static int is_sysfs_drm_dir(const char *path)
{
	char expected[64];
	if (!path || !proxy_path())
		return 0;
	snprintf(expected, sizeof(expected), "/sys/dev/char/%d:%u/device/drm", DRM_MAJOR, node_minor());
	return strcmp(path, expected) == 0;
}

static void fake_stat(struct stat *st, mode_t type)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = type | (type == S_IFDIR ? 0755 : 0666);
	st->st_rdev = type == S_IFCHR ? makedev(DRM_MAJOR, node_minor()) : 0;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_blksize = 4096;
}

/* ---- the fd table ------------------------------------------------------------------- */

static void table_put_locked(int fd, struct pvdrm_file *f)
{
	if (fd >= table_size) {
		int size = table_size ? table_size : 64;
		while (size <= fd)
			size *= 2;
		struct pvdrm_file **grown = realloc(table, (size_t)size * sizeof(*table));
		if (!grown)
			return; /* the fd then behaves as a plain socket; better than crashing */
		memset(grown + table_size, 0, (size_t)(size - table_size) * sizeof(*table));
		table = grown;
		table_size = size;
	}
	if (table[fd])
		return;
	table[fd] = f;
	f->refs++;
	live_entries++;
}

static void file_release_locked(struct pvdrm_file *f)
{
	if (--f->refs == 0) {
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
}

static void table_forget(int fd)
{
	pthread_mutex_lock(&table_lock);
	if (fd >= 0 && fd < table_size && table[fd]) {
		file_release_locked(table[fd]);
		table[fd] = NULL;
		live_entries--;
	}
	pthread_mutex_unlock(&table_lock);
}

/* An entry whose fd now names something else (closed behind our back, e.g. by close_range)
 * is dropped. */
struct pvdrm_file *pvdrm_file_get(int fd)
{
	struct pvdrm_file *f = NULL;
	if (__atomic_load_n(&live_entries, __ATOMIC_RELAXED) == 0 || fd < 0)
		return NULL;
	pthread_mutex_lock(&table_lock);
	if (fd < table_size && table[fd]) {
		f = table[fd];
		f->refs++;
	}
	pthread_mutex_unlock(&table_lock);
	if (!f)
		return NULL;
	struct stat st;
	if (REAL(fstat)(fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
		return f;
	pthread_mutex_lock(&table_lock);
	if (fd < table_size && table[fd] == f) {
		table[fd] = NULL;
		live_entries--;
		f->refs--; /* the entry's reference; ours still holds f */
	}
	file_release_locked(f);
	pthread_mutex_unlock(&table_lock);
	return NULL;
}

void pvdrm_file_put(struct pvdrm_file *f)
{
	pthread_mutex_lock(&table_lock);
	file_release_locked(f);
	pthread_mutex_unlock(&table_lock);
}

/* newfd now refers to the same DRM file as oldfd (dup, dup2, F_DUPFD). */
static void propagate_dup(int oldfd, int newfd)
{
	struct pvdrm_file *f;
	if (newfd < 0 || !(f = pvdrm_file_get(oldfd)))
		return;
	pthread_mutex_lock(&table_lock);
	table_put_locked(newfd, f);
	pthread_mutex_unlock(&table_lock);
	pvdrm_file_put(f);
}

/* ---- open ---------------------------------------------------------------------------- */

static int open_node(int flags)
{
	const char *path = proxy_path();
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -1;
	struct pvdrm_file *f = calloc(1, sizeof(*f));
	struct stat st;
	if (!f || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || REAL(fstat)(fd, &st) != 0) {
		int err = f ? errno : ENOMEM;
		if (pvdrm_debug())
			fprintf(stderr, "pvdrm shim: cannot reach the proxy at %s: %s\n", path, strerror(err));
		free(f);
		REAL(close)(fd);
		errno = err == ENOMEM ? ENOMEM : ENODEV; /* no proxy: no device */
		return -1;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	pthread_mutex_lock(&table_lock);
	table_put_locked(fd, f);
	pthread_mutex_unlock(&table_lock);
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	return __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return is_node(path) ? open_node(flags) : REAL(open)(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return is_node(path) ? open_node(flags) : REAL(open64)(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return is_node(path) ? open_node(flags) : REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return is_node(path) ? open_node(flags) : REAL(openat64)(dirfd, path, flags, mode);
}

/* glibc's _FORTIFY_SOURCE entry points. */
EXPORT int __open_2(const char *path, int flags) { return open(path, flags); }
EXPORT int __open64_2(const char *path, int flags) { return open64(path, flags); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags) { return openat64(dirfd, path, flags); }

/* ---- close and dup ------------------------------------------------------------------- */

EXPORT int close(int fd)
{
	if (__atomic_load_n(&live_entries, __ATOMIC_RELAXED) != 0)
		table_forget(fd);
	return REAL(close)(fd);
}

EXPORT int dup(int fd)
{
	int copy = REAL(dup)(fd);
	propagate_dup(fd, copy);
	return copy;
}

EXPORT int dup2(int fd, int target)
{
	if (fd != target)
		table_forget(target);
	int copy = REAL(dup2)(fd, target);
	if (fd != target)
		propagate_dup(fd, copy);
	return copy;
}

EXPORT int dup3(int fd, int target, int flags)
{
	if (fd == target)
		return REAL(dup3)(fd, target, flags); /* EINVAL, and nothing changes */
	table_forget(target);
	int copy = REAL(dup3)(fd, target, flags);
	propagate_dup(fd, copy);
	return copy;
}

static int fcntl_common(int (*real_fcntl)(int, int, ...), int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *); /* int or pointer: both travel in one register here */
	int r = real_fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		propagate_dup(fd, r);
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int r = fcntl_common(REAL(fcntl), fd, cmd, ap);
	va_end(ap);
	return r;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int r = fcntl_common((int (*)(int, int, ...))pvdrm_real("fcntl64"), fd, cmd, ap);
	va_end(ap);
	return r;
}

/* ---- stat ---------------------------------------------------------------------------- */

EXPORT int fstat(int fd, struct stat *st)
{
	struct pvdrm_file *f = pvdrm_file_get(fd);
	if (!f)
		return REAL(fstat)(fd, st);
	pvdrm_file_put(f);
	fake_stat(st, S_IFCHR);
	return 0;
}

EXPORT int fstat64(int fd, struct stat64 *st) { return fstat(fd, (struct stat *)st); }

EXPORT int stat(const char *path, struct stat *st)
{
	if (is_node(path)) {
		fake_stat(st, S_IFCHR);
		return 0;
	}
	if (is_sysfs_drm_dir(path)) {
		fake_stat(st, S_IFDIR);
		return 0;
	}
	return REAL(stat)(path, st);
}

EXPORT int stat64(const char *path, struct stat64 *st) { return stat(path, (struct stat *)st); }

/* Programs built against glibc before 2.33 call these (x86-64: struct stat is struct stat64). */
EXPORT int __fxstat(int ver, int fd, struct stat *st) { (void)ver; return fstat(fd, st); }
EXPORT int __fxstat64(int ver, int fd, struct stat *st) { (void)ver; return fstat(fd, st); }
EXPORT int __xstat(int ver, const char *path, struct stat *st) { (void)ver; return stat(path, st); }
EXPORT int __xstat64(int ver, const char *path, struct stat *st) { (void)ver; return stat(path, st); }
