/*
 * Unmodified libdrm calls on the render node, one check per mode:
 *   core        drmGetVersion, drmGetCap, node type, PRIME export/import, GEM close, dup
 *   bad         ioctls outside the boundary and malformed ones: errors, never a crash
 *   isolate P   an object filled with P while another program does the same (test-driven)
 *   dead-proxy  calls after the proxy died fail with ENODEV instead of hanging (test-driven)
 *   bad-replies malformed replies from a fake proxy fail the call with EIO (test-driven)
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <nouveau_drm.h>

#include "shim_check.h"

#define NOUVEAU_IOCTL(nr, type) DRM_IOWR(DRM_COMMAND_BASE + (nr), type)

static int open_node(void)
{
	int fd = open(render_node(), O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", render_node());
	return fd;
}

/* GEM_NEW as libdrm_nouveau issues it; returns the info the driver filled in. */
static struct drm_nouveau_gem_info gem_new(int fd, uint64_t size)
{
	struct drm_nouveau_gem_new req = { .info = { .size = size, .domain = NOUVEAU_GEM_DOMAIN_GART | NOUVEAU_GEM_DOMAIN_MAPPABLE } };
	CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_NEW, &req, sizeof(req)) == 0, "GEM_NEW of %llu bytes", (unsigned long long)size);
	CHECK(req.info.handle != 0 && req.info.size >= size && req.info.map_handle != 0, "GEM_NEW reply");
	return req.info;
}

static uint32_t *map(int fd, uint64_t offset, size_t size)
{
	uint32_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	CHECK(p != MAP_FAILED, "mmap at 0x%llx", (unsigned long long)offset);
	return p;
}

static int gem_info(int fd, uint32_t handle, struct drm_nouveau_gem_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_INFO, info, sizeof(*info));
}

static void core(void)
{
	int fd = open_node();
	drmVersionPtr v = drmGetVersion(fd);
	CHECK(v && strcmp(v->name, "nouveau") == 0 && v->version_major == 1 && v->version_minor == 3 && v->version_patchlevel == 0,
	      "drmGetVersion: %s %d.%d.%d", v ? v->name : "(null)", v ? v->version_major : 0, v ? v->version_minor : 0,
	      v ? v->version_patchlevel : 0);
	printf("ok drmGetVersion: %s %d.%d.%d (%s)\n", v->name, v->version_major, v->version_minor, v->version_patchlevel, v->desc);
	drmFreeVersion(v);
	CHECK(drmGetNodeTypeFromFd(fd) == DRM_NODE_RENDER, "drmGetNodeTypeFromFd");
	uint64_t cap = 0;
	CHECK(drmGetCap(fd, DRM_CAP_PRIME, &cap) == 0 && cap == (DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT), "drmGetCap(PRIME) = %llu",
	      (unsigned long long)cap);
	CHECK_ERRNO(drmGetCap(fd, 0x7777, &cap), EINVAL, "drmGetCap of an unknown capability");
	printf("ok drmGetCap, drmGetNodeTypeFromFd\n");

	struct drm_nouveau_gem_info info = gem_new(fd, 65536);
	uint32_t *p = map(fd, info.map_handle, 65536);
	for (int i = 0; i < 16384; i++)
		p[i] = 0xc0ffee00u + (uint32_t)i;
	int prime = -1;
	CHECK(drmPrimeHandleToFD(fd, info.handle, DRM_CLOEXEC | DRM_RDWR, &prime) == 0 && prime >= 0, "drmPrimeHandleToFD");
	CHECK((fcntl(prime, F_GETFD) & FD_CLOEXEC) != 0, "DRM_CLOEXEC not honoured");
	uint32_t *q = map(prime, 0, 65536); /* the dma-buf maps the same pages */
	CHECK(q[12345] == 0xc0ffee00u + 12345, "PRIME descriptor shows 0x%08x", q[12345]);
	uint32_t handle = 0;
	CHECK(drmPrimeFDToHandle(fd, prime, &handle) == 0 && handle == info.handle, "re-import in the same file gave %u, not %u",
	      handle, info.handle);

	int other = open_node(); /* a second DRM file: imports get a handle of its own */
	uint32_t imported = 0;
	CHECK(drmPrimeFDToHandle(other, prime, &imported) == 0 && imported != 0, "drmPrimeFDToHandle in another file");
	struct drm_nouveau_gem_info seen;
	CHECK(gem_info(other, imported, &seen) == 0 && seen.size == 65536, "GEM_INFO of the import");
	uint32_t *r = map(other, seen.map_handle, 65536);
	r[7] = 0x5eed;
	CHECK(p[7] == 0x5eed, "a write through the importer's mapping is not seen by the exporter");
	munmap(r, 65536);
	CHECK(drmCloseBufferHandle(other, imported) == 0, "GEM_CLOSE of the import");
	CHECK_ERRNO(drmCloseBufferHandle(other, imported), EINVAL, "GEM_CLOSE twice");
	CHECK_ERRNO(gem_info(other, imported, &seen), ENOENT, "GEM_INFO after close");
	CHECK(close(other) == 0, "close of the second file");
	printf("ok drmPrimeHandleToFD, drmPrimeFDToHandle, GEM close\n");

	int copy = dup(fd), copy2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK(copy >= 0 && copy2 >= 100, "dup");
	CHECK(close(fd) == 0, "close of the original");
	CHECK(gem_info(copy, info.handle, &seen) == 0, "GEM_INFO through a dup after the original was closed");
	v = drmGetVersion(copy2);
	CHECK(v != NULL, "drmGetVersion through F_DUPFD_CLOEXEC");
	drmFreeVersion(v);
	CHECK(drmCloseBufferHandle(copy, info.handle) == 0, "GEM_CLOSE");
	munmap(p, 65536);
	munmap(q, 65536);
	close(prime);
	close(copy);
	close(copy2);
	printf("ok dup, fcntl(F_DUPFD_CLOEXEC), close\n");
}

static void bad(void)
{
	int fd = open_node();
	struct drm_mode_card_res res = { 0 };
	CHECK_ERRNO(ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res), EINVAL, "MODE_GETRESOURCES (KMS)");
	struct drm_gem_flink flink = { .handle = 1 };
	CHECK_ERRNO(ioctl(fd, DRM_IOCTL_GEM_FLINK, &flink), ENOENT, "GEM_FLINK of no object");
	char nvif[32] = { 0 };
	CHECK_ERRNO(drmCommandWriteRead(fd, DRM_NOUVEAU_NVIF, nvif, sizeof(nvif)), EINVAL, "NOUVEAU_NVIF");
	CHECK_ERRNO(ioctl(fd, _IOWR('x', 3, int), nvif), EINVAL, "a non-DRM ioctl");
	CHECK(!isatty(fd), "isatty");
	struct drm_nouveau_gem_info info;
	CHECK_ERRNO(gem_info(fd, 4242, &info), ENOENT, "GEM_INFO of an unknown handle");
	struct drm_nouveau_gem_cpu_prep prep = { .handle = 4242 };
	CHECK_ERRNO(drmCommandWrite(fd, DRM_NOUVEAU_GEM_CPU_PREP, &prep, sizeof(prep)), ENOENT, "CPU_PREP of an unknown handle");
	CHECK_ERRNO(drmCloseBufferHandle(fd, 4242), EINVAL, "GEM_CLOSE of an unknown handle");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)77 << 32) == MAP_FAILED && errno == ENOENT, "mmap of no object");
	struct drm_nouveau_gem_new huge = { .info = { .size = 1ULL << 40, .domain = NOUVEAU_GEM_DOMAIN_GART } };
	CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_NEW, &huge, sizeof(huge)) != 0, "GEM_NEW of 1 TiB succeeded");
	CHECK_ERRNO(drmPrimeFDToHandle(fd, -1, &info.handle), EBADF, "PRIME import of fd -1");

	struct drm_nouveau_gem_info obj = gem_new(fd, 4096);
	uint32_t *words = map(fd, obj.map_handle, 4096);
	CHECK(mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, (off_t)obj.map_handle) == MAP_FAILED && errno == EINVAL, "mmap past the end");
	struct drm_nouveau_channel_alloc chan = { 0 };
	CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_CHANNEL_ALLOC, &chan, sizeof(chan)) == 0, "CHANNEL_ALLOC");
	struct drm_nouveau_gem_pushbuf_bo bo = { .handle = obj.handle, .read_domains = NOUVEAU_GEM_DOMAIN_GART };
	struct drm_nouveau_gem_pushbuf_push entry = { .bo_index = 0, .offset = 0, .length = 8 };
	struct drm_nouveau_gem_pushbuf pb = { .channel = (uint32_t)chan.channel, .nr_buffers = 1, .buffers = (uintptr_t)&bo,
					      .nr_push = 1, .push = (uintptr_t)&entry };
	words[0] = 0x00010077; /* opcode 0x77: no such command */
	words[1] = 0;
	CHECK_ERRNO(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_PUSHBUF, &pb, sizeof(pb)), EINVAL, "a pushbuf with an unknown command");
	entry.bo_index = 5;
	CHECK_ERRNO(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_PUSHBUF, &pb, sizeof(pb)), EINVAL, "a push entry past the list");
	entry.bo_index = 0;
	pb.nr_push = 4096;
	CHECK_ERRNO(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_PUSHBUF, &pb, sizeof(pb)), EINVAL, "4096 push entries");
	pb.nr_push = 1;
	pb.channel = 99;
	CHECK_ERRNO(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_PUSHBUF, &pb, sizeof(pb)), ENOENT, "a pushbuf on no channel");
	pb.channel = (uint32_t)chan.channel;
	words[0] = 0x00010000; /* NOP: the file still works after all that */
	entry.length = 4;
	CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_PUSHBUF, &pb, sizeof(pb)) == 0, "a NOP pushbuf after the refusals");
	munmap(words, 4096);
	close(fd);
	printf("ok bad\n");
}

static void isolate(uint32_t pattern)
{
	int fd = open_node();
	struct drm_nouveau_gem_info info = gem_new(fd, 4096);
	uint32_t *p = map(fd, info.map_handle, 4096);
	for (int i = 0; i < 1024; i++)
		p[i] = pattern;
	char ready[64];
	snprintf(ready, sizeof(ready), "ready handle %u", info.handle);
	wait_for_go(ready); /* the other program has done the same by now */
	for (int i = 0; i < 1024; i++)
		CHECK(p[i] == pattern, "word %d is 0x%08x, not this program's 0x%08x", i, p[i], pattern);
	uint32_t *again = map(fd, info.map_handle, 4096);
	CHECK(again[1023] == pattern, "a fresh mapping shows 0x%08x", again[1023]);
	struct drm_nouveau_gem_info other;
	for (uint32_t h = 1; h < 64; h++)
		if (h != info.handle)
			CHECK_ERRNO(gem_info(fd, h, &other), ENOENT, "GEM_INFO of a handle this program never made");
	close(fd);
	printf("ok isolate 0x%08x\n", pattern);
}

static void dead_proxy(void)
{
	int fd = open_node();
	struct drm_nouveau_gem_info info = gem_new(fd, 4096);
	uint32_t *p = map(fd, info.map_handle, 4096);
	p[0] = 0xfeed;
	wait_for_go("ready"); /* the test kills the proxy now */
	CHECK(drmGetVersion(fd) == NULL && errno == ENODEV, "drmGetVersion after the proxy died");
	struct drm_nouveau_gem_info seen;
	CHECK_ERRNO(gem_info(fd, info.handle, &seen), ENODEV, "GEM_INFO after the proxy died");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)info.map_handle) == MAP_FAILED && errno == ENODEV, "mmap");
	/* Still mapped and readable (no SIGBUS); once the host has released the session it freed the
	 * pages (they read as zeros), since memory returns whoever still holds the descriptor. */
	CHECK(p[0] == 0xfeed || p[0] == 0, "the existing mapping stays readable");
	CHECK(close(fd) == 0, "close");
	errno = 0;
	CHECK(open(render_node(), O_RDWR) < 0 && errno == ENODEV, "open without a proxy");
	printf("ok dead-proxy\n");
}

/* The test's fake proxy answers these calls, in this order, with lengths that wrap 32 bits. */
static void bad_replies(void)
{
	int fd = open_node();
	struct drm_get_cap cap = { .capability = DRM_CAP_PRIME };
	CHECK_ERRNO(ioctl(fd, DRM_IOCTL_GET_CAP, &cap), EIO, "GET_CAP answered with an argument length that wraps");
	size_t big = 1 << 20;
	char *name = malloc(big);
	CHECK(name != NULL, "malloc");
	struct drm_version v = { .name_len = big, .name = name };
	CHECK_ERRNO(ioctl(fd, DRM_IOCTL_VERSION, &v), EIO, "VERSION answered with a string length that wraps");
	free(name);
	cap.value = 0;
	CHECK(ioctl(fd, DRM_IOCTL_GET_CAP, &cap) == 0 && cap.value == 7, "a well-formed reply after bad ones: value %llu",
	      (unsigned long long)cap.value);
	close(fd);
	printf("ok bad-replies\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "core") == 0)
		core();
	else if (strcmp(mode, "bad") == 0)
		bad();
	else if (strcmp(mode, "isolate") == 0 && argc > 2)
		isolate((uint32_t)strtoul(argv[2], NULL, 0));
	else if (strcmp(mode, "dead-proxy") == 0)
		dead_proxy();
	else if (strcmp(mode, "bad-replies") == 0)
		bad_replies();
	else {
		fprintf(stderr, "usage: shim_core core | bad | isolate PATTERN | dead-proxy | bad-replies\n");
		return 2;
	}
	return 0;
}
