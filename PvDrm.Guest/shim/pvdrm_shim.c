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
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define DRM_MAJOR 226
#define KIND_IOCTL 1
#define KIND_MAP 2
#define FRAME_VERSION 1
#define MAX_BLOBS 3
#define REPLY_BUFFER (64 * 1024)

/* The three ioctls whose arguments hold pointers or descriptors (numbers as in drm.h and
 * nouveau_drm.h; matched by command number, as the kernel does). */
#define NR_VERSION 0x00
#define NR_PRIME_HANDLE_TO_FD 0x2d
#define NR_PRIME_FD_TO_HANDLE 0x2e
#define NR_NOUVEAU_GEM_PUSHBUF (0x40 + 0x41)
#define DRM_CLOEXEC O_CLOEXEC

/* One DRM file: the socket to the proxy, shared by every fd dup'ed from it. */
struct pvdrm_file {
	pthread_mutex_t lock; /* one call at a time: the proxy answers in order */
	int refs;
	dev_t dev;
	ino_t ino;
	unsigned char reply[REPLY_BUFFER];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pvdrm_file **table;
static int table_size;
static int live_entries;

static void *real(const char *name);
/* libc's own function, looked up once per call site. */
#define REAL(name) ({ \
	static __typeof__(&name) real_##name; \
	if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)) \
		__atomic_store_n(&real_##name, (__typeof__(&name))real(#name), __ATOMIC_RELEASE); \
	real_##name; })

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		fprintf(stderr, "pvdrm shim: libc has no %s\n", name);
		abort();
	}
	return f;
}

static int debug_on(void)
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

/* The file behind fd with a reference held, or NULL. An entry whose fd now names something
 * else (closed behind our back, e.g. by close_range) is dropped. */
static struct pvdrm_file *file_get(int fd)
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

static void file_put(struct pvdrm_file *f)
{
	pthread_mutex_lock(&table_lock);
	file_release_locked(f);
	pthread_mutex_unlock(&table_lock);
}

/* newfd now refers to the same DRM file as oldfd (dup, dup2, F_DUPFD). */
static void propagate_dup(int oldfd, int newfd)
{
	struct pvdrm_file *f;
	if (newfd < 0 || !(f = file_get(oldfd)))
		return;
	pthread_mutex_lock(&table_lock);
	table_put_locked(newfd, f);
	pthread_mutex_unlock(&table_lock);
	file_put(f);
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
		if (debug_on())
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
	int r = fcntl_common((int (*)(int, int, ...))real("fcntl64"), fd, cmd, ap);
	va_end(ap);
	return r;
}

/* ---- stat ---------------------------------------------------------------------------- */

EXPORT int fstat(int fd, struct stat *st)
{
	struct pvdrm_file *f = file_get(fd);
	if (!f)
		return REAL(fstat)(fd, st);
	file_put(f);
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

/* ---- talking to the proxy ------------------------------------------------------------ */

static int wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;
	while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR)
		;
	return r;
}

/* Sends one request (header, argument, blobs: gathered, no copy) and receives its reply into
 * f->reply. Returns the reply's length, or -errno. */
static ssize_t transact(struct pvdrm_file *f, int fd, struct iovec *iov, int iovcnt, int send_fd, int *recv_fd)
{
	char control[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	if (send_fd >= 0) {
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && wait_for(fd, POLLOUT) >= 0)
			continue;
		return errno == EBADF || errno == EMSGSIZE ? -errno : -ENODEV;
	}
	struct iovec in = { .iov_base = f->reply, .iov_len = sizeof(f->reply) };
	memset(control, 0, sizeof(control));
	struct msghdr reply = { .msg_iov = &in, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	while ((n = recvmsg(fd, &reply, MSG_CMSG_CLOEXEC)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && wait_for(fd, POLLIN) >= 0)
			continue;
		return -ENODEV;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&reply);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		int received = -1;
		memcpy(&received, CMSG_DATA(c), sizeof(int));
		if (recv_fd && *recv_fd < 0)
			*recv_fd = received;
		else
			REAL(close)(received);
	}
	int error = n == 0 ? -ENODEV /* the proxy is gone: so is the device */
		  : (reply.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EIO : 0;
	if (error && recv_fd && *recv_fd >= 0) {
		REAL(close)(*recv_fd);
		*recv_fd = -1;
	}
	return error ? error : n;
}

struct reply {
	int32_t status;
	uint32_t arg_size;
	const unsigned char *arg;
	uint32_t blob_count;
	uint32_t blob_size[MAX_BLOBS];
	const unsigned char *blob[MAX_BLOBS];
};

/* Reply: u32 length, i32 status, u32 arg_size, u16 blob_count, u16 message_length,
 * u32 blob_size[blob_count], arg, blobs, message. */
static int parse_reply(const unsigned char *b, ssize_t n, struct reply *r)
{
	uint32_t length, sum;
	uint16_t blobs, message;
	if (n < 16)
		return -EIO;
	memcpy(&length, b, 4);
	memcpy(&r->status, b + 4, 4);
	memcpy(&r->arg_size, b + 8, 4);
	memcpy(&blobs, b + 12, 2);
	memcpy(&message, b + 14, 2);
	if (length != (uint32_t)n || blobs > MAX_BLOBS || 16 + 4u * blobs + r->arg_size > length)
		return -EIO;
	r->blob_count = blobs;
	sum = 16 + 4u * blobs;
	r->arg = b + sum;
	sum += r->arg_size;
	for (unsigned i = 0; i < blobs; i++) {
		memcpy(&r->blob_size[i], b + 16 + 4 * i, 4);
		r->blob[i] = b + sum;
		sum += r->blob_size[i];
		if (sum > length)
			return -EIO;
	}
	if (sum + message != length)
		return -EIO;
	if (r->status != 0 && message > 0 && debug_on())
		fprintf(stderr, "pvdrm shim: %.*s\n", (int)message, (const char *)b + sum);
	return 0;
}

static ssize_t call(struct pvdrm_file *f, int fd, uint16_t kind, uint32_t request, const void *arg, uint32_t arg_size,
		    struct iovec *blobs, uint32_t blob_count, int send_fd, int *recv_fd, struct reply *r)
{
	unsigned char header[20 + 4 * MAX_BLOBS];
	struct iovec iov[2 + MAX_BLOBS];
	uint32_t length = 20 + 4 * blob_count + arg_size;
	uint16_t version = FRAME_VERSION;
	for (uint32_t i = 0; i < blob_count; i++) {
		uint32_t size = (uint32_t)blobs[i].iov_len;
		memcpy(header + 20 + 4 * i, &size, 4);
		length += size;
		iov[2 + i] = blobs[i];
	}
	memcpy(header, &length, 4);
	memcpy(header + 4, &kind, 2);
	memcpy(header + 6, &version, 2);
	memcpy(header + 8, &request, 4);
	memcpy(header + 12, &arg_size, 4);
	memcpy(header + 16, &blob_count, 4);
	iov[0] = (struct iovec){ header, 20 + 4 * blob_count };
	iov[1] = (struct iovec){ (void *)arg, arg_size };
	pthread_mutex_lock(&f->lock);
	ssize_t n = transact(f, fd, iov, 2 + (int)blob_count, send_fd, recv_fd);
	if (n >= 0 && (n = parse_reply(f->reply, n, r)) < 0 && *recv_fd >= 0) {
		REAL(close)(*recv_fd);
		*recv_fd = -1;
	}
	if (n < 0)
		pthread_mutex_unlock(&f->lock);
	return n; /* on success the caller unlocks after reading r, which points into f->reply */
}

/* ---- ioctl --------------------------------------------------------------------------- */

struct pointer_field {
	uint32_t pointer, count;    /* offsets in the argument struct */
	uint32_t count_size, element; /* width of the count field; bytes per element */
};

/* Pointer fields the proxy cannot follow: copied in (PUSHBUF's arrays) or out (VERSION's strings). */
static int pointer_fields(uint32_t nr, const struct pointer_field **fields)
{
	static const struct pointer_field version[] = { { 24, 16, 8, 1 }, { 40, 32, 8, 1 }, { 56, 48, 8, 1 } };
	static const struct pointer_field pushbuf[] = { { 8, 4, 4, 40 }, { 24, 16, 4, 28 }, { 32, 20, 4, 24 } };
	*fields = nr == NR_VERSION ? version : nr == NR_NOUVEAU_GEM_PUSHBUF ? pushbuf : NULL;
	return *fields ? 3 : 0;
}

static uint64_t read_field(const unsigned char *arg, uint32_t offset, uint32_t size)
{
	uint64_t v = 0;
	memcpy(&v, arg + offset, size); /* little-endian */
	return v;
}

static int forward_ioctl(struct pvdrm_file *f, int fd, uint32_t request, unsigned char *arg)
{
	uint32_t dir = _IOC_DIR(request), size = _IOC_SIZE(request), nr = _IOC_NR(request);
	int is_drm = _IOC_TYPE(request) == 'd';
	if (size > 0 && !arg)
		return -EFAULT;
	const struct pointer_field *fields = NULL;
	int nfields = is_drm ? pointer_fields(nr, &fields) : 0;
	if (nfields && size < 64)
		nfields = 0; /* too short to hold them: the proxy refuses it */
	struct iovec blobs[MAX_BLOBS];
	void *pointers[MAX_BLOBS];
	uint64_t capacity[MAX_BLOBS];
	uint32_t nblobs = 0;
	int in = nr == NR_NOUVEAU_GEM_PUSHBUF;
	for (int i = 0; i < nfields; i++) {
		pointers[i] = (void *)(uintptr_t)read_field(arg, fields[i].pointer, 8);
		uint64_t count = read_field(arg, fields[i].count, fields[i].count_size);
		capacity[i] = pointers[i] ? count * fields[i].element : 0;
		if (in) {
			if (count > 1024)
				return -EINVAL; /* more than nouveau allows in any of the arrays */
			if (count > 0 && !pointers[i])
				return -EFAULT;
			blobs[nblobs++] = (struct iovec){ pointers[i], (size_t)capacity[i] };
		}
	}
	int send_fd = -1, recv_fd = -1;
	if (is_drm && nr == NR_PRIME_FD_TO_HANDLE && size >= 12)
		memcpy(&send_fd, arg + 8, 4);
	struct reply r;
	ssize_t n = call(f, fd, KIND_IOCTL, request, arg, (dir & _IOC_WRITE) ? size : 0, blobs, nblobs,
			 send_fd, &recv_fd, &r);
	if (n < 0)
		return (int)n;
	int status = r.status;
	if (status == 0 && (dir & _IOC_READ) && size > 0) {
		memcpy(arg, r.arg, r.arg_size < size ? r.arg_size : size);
		for (int i = 0; i < nfields; i++) {
			memcpy(arg + fields[i].pointer, &pointers[i], 8); /* the proxy never moves pointers */
			if (!in && i < (int)r.blob_count && pointers[i])
				memcpy(pointers[i], r.blob[i], r.blob_size[i] < capacity[i] ? r.blob_size[i] : capacity[i]);
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (recv_fd >= 0) {
		uint32_t flags = 0;
		if (status == 0 && is_drm && nr == NR_PRIME_HANDLE_TO_FD && size >= 12 && (dir & _IOC_READ)) {
			memcpy(&flags, arg + 4, 4);
			if (!(flags & DRM_CLOEXEC))
				REAL(fcntl)(recv_fd, F_SETFD, 0);
			memcpy(arg + 8, &recv_fd, 4);
		} else {
			REAL(close)(recv_fd);
		}
	}
	return status;
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct pvdrm_file *f = file_get(fd);
	if (!f)
		return REAL(ioctl)(fd, request, arg);
	int status = forward_ioctl(f, fd, (uint32_t)request, arg);
	file_put(f);
	if (status == 0)
		return 0;
	errno = -status;
	return -1;
}

/* ---- mmap ---------------------------------------------------------------------------- */

static void *map_object(struct pvdrm_file *f, int fd, void *addr, size_t length, int prot, int flags, off_t offset)
{
	uint64_t arg[2] = { (uint64_t)offset, (uint64_t)length };
	int buffer_fd = -1;
	struct reply r;
	ssize_t n = call(f, fd, KIND_MAP, 0, arg, sizeof(arg), NULL, 0, -1, &buffer_fd, &r);
	if (n < 0) {
		errno = (int)-n;
		return MAP_FAILED;
	}
	int status = r.status;
	uint64_t within = 0;
	if (status == 0 && r.arg_size >= 8)
		memcpy(&within, r.arg, 8);
	pthread_mutex_unlock(&f->lock);
	if (status == 0 && buffer_fd < 0)
		status = -EIO;
	if (status != 0) {
		if (buffer_fd >= 0)
			REAL(close)(buffer_fd);
		errno = -status;
		return MAP_FAILED;
	}
	/* The buffer's own memfd/dma-buf: the very pages the device uses. */
	void *p = REAL(mmap)(addr, length, prot, flags, buffer_fd, (off_t)within);
	int err = errno;
	REAL(close)(buffer_fd);
	errno = err;
	return p;
}

EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	struct pvdrm_file *f = (flags & MAP_ANONYMOUS) ? NULL : file_get(fd);
	if (!f)
		return REAL(mmap)(addr, length, prot, flags, fd, offset);
	void *p = map_object(f, fd, addr, length, prot, flags, offset);
	file_put(f);
	return p;
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset)
{
	return mmap(addr, length, prot, flags, fd, (off_t)offset);
}
