/* The half of libpvdrm_shim.so that talks to the guest proxy: ioctl and mmap on a DRM file
 * become one request frame each, answered in order (framing in SHIM.md). */
#include "pvdrm_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define KIND_IOCTL 1
#define KIND_MAP 2
#define FRAME_VERSION 1
#define MAX_BLOBS 3

/* The three ioctls whose arguments hold pointers or descriptors (numbers as in drm.h and
 * nouveau_drm.h; matched by command number, as the kernel does). */
#define NR_VERSION 0x00
#define NR_PRIME_HANDLE_TO_FD 0x2d
#define NR_PRIME_FD_TO_HANDLE 0x2e
#define NR_NOUVEAU_GEM_PUSHBUF (0x40 + 0x41)
#define DRM_CLOEXEC O_CLOEXEC

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
 * u32 blob_size[blob_count], arg, blobs, message. Every length comes from the proxy, so sums
 * are taken in 64 bits (no u32 field can wrap them) and each part must lie inside the n bytes
 * received: a malformed reply fails the call with EIO and nothing outside the buffer is read. */
static int parse_reply(const unsigned char *b, ssize_t n, struct reply *r)
{
	uint32_t length;
	uint64_t sum;
	uint16_t blobs, message;
	if (n < 16)
		return -EIO;
	memcpy(&length, b, 4);
	memcpy(&r->status, b + 4, 4);
	memcpy(&r->arg_size, b + 8, 4);
	memcpy(&blobs, b + 12, 2);
	memcpy(&message, b + 14, 2);
	if ((uint64_t)length != (uint64_t)n || blobs > MAX_BLOBS)
		return -EIO;
	sum = 16 + 4u * (uint64_t)blobs;
	if (sum + r->arg_size > length)
		return -EIO;
	r->blob_count = blobs;
	r->arg = b + sum;
	sum += r->arg_size;
	for (unsigned i = 0; i < blobs; i++) {
		memcpy(&r->blob_size[i], b + 16 + 4 * i, 4);
		if (sum + r->blob_size[i] > length)
			return -EIO;
		r->blob[i] = b + sum;
		sum += r->blob_size[i];
	}
	if (sum + message != length)
		return -EIO;
	if (r->status != 0 && message > 0 && pvdrm_debug())
		fprintf(stderr, "pvdrm shim: %.*s\n", (int)message, (const char *)b + sum);
	return 0;
}

static ssize_t call(struct pvdrm_file *f, int fd, uint16_t kind, uint32_t request, const void *arg, uint32_t arg_size,
		    struct iovec *blobs, uint32_t blob_count, int send_fd, int *recv_fd, struct reply *r)
{
	unsigned char header[20 + 4 * MAX_BLOBS];
	struct iovec iov[2 + MAX_BLOBS];
	uint64_t total = 20 + 4 * (uint64_t)blob_count + arg_size;
	uint16_t version = FRAME_VERSION;
	if (blob_count > MAX_BLOBS)
		return -EINVAL;
	for (uint32_t i = 0; i < blob_count; i++) {
		if (blobs[i].iov_len > UINT32_MAX)
			return -EINVAL;
		uint32_t size = (uint32_t)blobs[i].iov_len;
		memcpy(header + 20 + 4 * i, &size, 4);
		total += size;
		iov[2 + i] = blobs[i];
	}
	if (total > UINT32_MAX)
		return -EINVAL; /* larger than any frame: the proxy would refuse it anyway */
	uint32_t length = (uint32_t)total;
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
	struct pvdrm_file *f = pvdrm_file_get(fd);
	if (!f)
		return REAL(ioctl)(fd, request, arg);
	int status = forward_ioctl(f, fd, (uint32_t)request, arg);
	pvdrm_file_put(f);
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
	struct pvdrm_file *f = (flags & MAP_ANONYMOUS) ? NULL : pvdrm_file_get(fd);
	if (!f)
		return REAL(mmap)(addr, length, prot, flags, fd, offset);
	void *p = map_object(f, fd, addr, length, prot, flags, offset);
	pvdrm_file_put(f);
	return p;
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset)
{
	return mmap(addr, length, prot, flags, fd, (off_t)offset);
}
