/*
 * fake_drm: one FUSE file that answers DRM ioctls as a kernel driver would, so PvDrm's tests
 * drive DrmGpuDevice's real path (open, ioctl through the kernel, mmap of the device at fake
 * offsets) on a machine without DRM.
 *
 *   fake_drm [--driver NAME] [--fail IOCTL=ERRNO]... MOUNTPOINT
 *     MOUNTPOINT/renderD128  the device; NAME is what DRM_IOCTL_VERSION reports (default
 *                            "fakedrm"); "nouveau" adds nouveau's ABI16 ioctls
 *     --fail                 every IOCTL (a name of the known table, e.g.
 *                            DRM_IOCTL_NOUVEAU_GETPARAM) is counted, then fails with ERRNO, as
 *                            a kernel driver's ioctl does when the hardware does (nouveau_drm_ioctl
 *                            returns a failed runtime-PM resume's error, e.g. EIO)
 *     MOUNTPOINT/stats       "key value" lines: ioctls received by name, the last requests,
 *                            the open device files and each one's handles
 *
 * Prints "ready" once the kernel has initialised the mount. Foreground, single-threaded; ends
 * when unmounted (fusermount3 -u) or on SIGTERM, and auto_unmount cleans up if it is killed.
 *
 * How it stands in for the kernel: FUSE forwards an ioctl whose argument size is encoded in its
 * number (every DRM ioctl) with that struct copied in and out. Where the kernel follows a user
 * pointer (DRM_IOCTL_VERSION's strings, GEM_PUSHBUF's arrays) this reads or writes the caller's
 * memory with process_vm_readv/writev (same user or root). mmap of the device goes through the
 * page cache to read/write below, which serve each buffer at its own never-reused offset.
 * What it cannot do: install a descriptor in the caller, so PRIME_HANDLE_TO_FD checks and
 * records the request and then fails with EOPNOTSUPP.
 *
 * Each open of the device is its own DRM file, as in the kernel: its own handle table (the
 * lowest free handle from 1, like the kernel's idr, so two files hand out the same numbers)
 * and its own channels. A handle means nothing in another file (ENOENT/EINVAL), and release
 * frees whatever the file still holds (fake_files.c). Objects and their mmap offsets are device-wide.
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fake_drm.h"

const char *driver = "fakedrm";
int nouveau;
struct fake_stats stats;
static int fail_errno[NKNOWN]; /* --fail: the errno each known ioctl fails with, 0: none */

#define KNOWN(c) { c, #c }
const struct known_ioctl known[] = {
	KNOWN(DRM_IOCTL_VERSION), KNOWN(DRM_IOCTL_GET_CAP), KNOWN(DRM_IOCTL_GEM_CLOSE),
	KNOWN(DRM_IOCTL_GEM_FLINK), KNOWN(DRM_IOCTL_GEM_OPEN),
	KNOWN(DRM_IOCTL_PRIME_HANDLE_TO_FD), KNOWN(DRM_IOCTL_PRIME_FD_TO_HANDLE),
	KNOWN(DRM_IOCTL_MODE_CREATE_DUMB), KNOWN(DRM_IOCTL_MODE_MAP_DUMB), KNOWN(DRM_IOCTL_MODE_DESTROY_DUMB),
	KNOWN(DRM_IOCTL_NOUVEAU_GETPARAM), KNOWN(DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC), KNOWN(DRM_IOCTL_NOUVEAU_CHANNEL_FREE),
	KNOWN(DRM_IOCTL_NOUVEAU_GEM_NEW), KNOWN(DRM_IOCTL_NOUVEAU_GEM_INFO), KNOWN(DRM_IOCTL_NOUVEAU_GEM_PUSHBUF),
	KNOWN(DRM_IOCTL_NOUVEAU_GEM_CPU_PREP), KNOWN(DRM_IOCTL_NOUVEAU_GEM_CPU_FINI),
};
_Static_assert(sizeof known / sizeof known[0] == NKNOWN, "NKNOWN in fake_drm.h");

int to_caller(uint64_t address, const void *data, size_t size)
{
	struct iovec local = { (void *)data, size }, remote = { (void *)(uintptr_t)address, size };
	if (size == 0) return 0;
	return process_vm_writev(fuse_get_context()->pid, &local, 1, &remote, 1, 0) == (ssize_t)size ? 0 : -EFAULT;
}

int from_caller(uint64_t address, void *data, size_t size)
{
	struct iovec local = { data, size }, remote = { (void *)(uintptr_t)address, size };
	if (size == 0) return 0;
	return process_vm_readv(fuse_get_context()->pid, &local, 1, &remote, 1, 0) == (ssize_t)size ? 0 : -EFAULT;
}

/* The kernel's drm_copy_field: copy what fits, no NUL, report the full length. */
static int copy_field(char *buffer, __kernel_size_t *length, const char *value)
{
	size_t actual = strlen(value), n = actual < *length ? actual : *length;
	*length = actual;
	return to_caller((uint64_t)(uintptr_t)buffer, value, n);
}


static int version(struct drm_version *v)
{
	int rc;
	v->version_major = 1;
	v->version_minor = 2;
	v->version_patchlevel = 3;
	if ((rc = copy_field(v->name, &v->name_len, driver))) return rc;
	if ((rc = copy_field(v->date, &v->date_len, "20251125"))) return rc;
	return copy_field(v->desc, &v->desc_len, "PvDrm fake DRM device (FUSE)");
}

static int get_cap(struct drm_get_cap *cap)
{
	switch (cap->capability) {
	case DRM_CAP_DUMB_BUFFER: cap->value = 1; return 0;
	case DRM_CAP_PRIME: cap->value = DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT; return 0;
	case DRM_CAP_TIMESTAMP_MONOTONIC: cap->value = 1; return 0;
	default: return -EINVAL;
	}
}

static int prime_handle_to_fd(struct drm_prime_handle *p)
{
	stats.prime_handle = p->handle;
	stats.prime_flags = p->flags;
	if (p->flags & ~(DRM_CLOEXEC | DRM_RDWR)) return -EINVAL;
	if (!bo_get(p->handle)) return -ENOENT;
	return -EOPNOTSUPP; /* a FUSE daemon cannot put a descriptor into the caller's table */
}

static int create_dumb(struct drm_mode_create_dumb *d)
{
	uint32_t handle;
	stats.dumb_width = d->width;
	stats.dumb_height = d->height;
	stats.dumb_bpp = d->bpp;
	if (d->flags || !d->width || !d->height || !d->bpp) return -EINVAL;
	uint64_t cpp = (d->bpp + 7) / 8;
	if (cpp > 0xffffffffu / d->width) return -EINVAL;
	uint64_t pitch = cpp * d->width;
	if (d->height > 0xffffffffu / pitch) return -EINVAL;
	uint64_t size = (pitch * d->height + 4095) & ~4095ULL;
	int rc = bo_new(size, 0, &handle);
	if (rc) return rc;
	d->handle = handle;
	d->pitch = (uint32_t)pitch;
	d->size = size;
	return 0;
}

static int map_dumb(struct drm_mode_map_dumb *m)
{
	struct bo *bo = bo_get(m->handle);
	if (!bo) return -ENOENT;
	m->offset = bo_offset(bo);
	return 0;
}

static int fake_ioctl(const char *path, unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned int flags, void *data)
{
	(void)arg; (void)flags;
	if (strcmp(path, "/" DEVICE) != 0) return -ENOTTY;
	current_file = (uint32_t)fi->fh;
	stats.total++;
	size_t i;
	for (i = 0; i < NKNOWN && known[i].cmd != cmd; i++) ;
	if (i < NKNOWN) stats.by_known[i]++; else stats.unknown++;
	if (i < NKNOWN && fail_errno[i]) return -fail_errno[i];

	if (cmd == DRM_IOCTL_VERSION) return version(data);
	if (cmd == DRM_IOCTL_GET_CAP) return get_cap(data);
	if (cmd == DRM_IOCTL_GEM_CLOSE) return ((struct drm_gem_close *)data)->pad ? -EINVAL : bo_close(((struct drm_gem_close *)data)->handle);
	if (cmd == DRM_IOCTL_PRIME_HANDLE_TO_FD) return prime_handle_to_fd(data);
	if (cmd == DRM_IOCTL_MODE_CREATE_DUMB) return create_dumb(data);
	if (cmd == DRM_IOCTL_MODE_MAP_DUMB) return map_dumb(data);
	if (cmd == DRM_IOCTL_MODE_DESTROY_DUMB) return bo_close(((struct drm_mode_destroy_dumb *)data)->handle);
	if (nouveau) return nouveau_ioctl(cmd, data);
	return -EINVAL; /* drm_ioctl's answer for a number it has no handler for */
}

/* mmap of the device: the page cache reads and writes buffers at their offsets. */
static int device_io(char *buf, size_t size, off_t offset, int write)
{
	for (size_t done = 0; done < size;) {
		uint64_t at = (uint64_t)offset + done, within = at & (MAX_BO_SIZE - 1);
		size_t n = size - done;
		if (n > MAX_BO_SIZE - within) n = MAX_BO_SIZE - within;
		uint64_t id = at >> BO_SHIFT;
		/* The kernel checks at mmap time that the file holds a handle; behind the page cache the
		 * fake cannot tell which open file a write comes from, so this is device-wide. */
		struct bo *bo = id > 0 && id < next_object && bos[id].live ? &bos[id] : NULL;
		size_t inside = bo && within < bo->size ? (n < bo->size - within ? n : bo->size - within) : 0;
		if (write) { if (inside) memcpy(bo->mem + within, buf + done, inside); }
		else { if (inside) memcpy(buf + done, bo->mem + within, inside); memset(buf + done + inside, 0, n - inside); }
		done += n;
	}
	return (int)size;
}

static int render_stats(char *out, size_t size)
{
	int n = snprintf(out, size, "driver %s\nioctls %lu\nunknown %lu\n", driver, stats.total, stats.unknown);
	for (size_t i = 0; i < NKNOWN; i++)
		if (stats.by_known[i]) n += snprintf(out + n, size - n, "%s %lu\n", known[i].name, stats.by_known[i]);
	unsigned live = 0, open_files = 0;
	for (uint32_t id = 1; id < next_object; id++) live += bos[id].live;
	for (uint32_t f = 1; f <= MAX_FILES; f++) {
		if (!files[f].live) continue;
		open_files++;
		n += snprintf(out + n, size - n, "file.%u.handles ", f);
		int first = 1;
		for (uint32_t h = 1; h <= MAX_BOS; h++)
			if (files[f].objects[h]) { n += snprintf(out + n, size - n, "%s%u", first ? "" : ",", h); first = 0; }
		n += snprintf(out + n, size - n, "%s\n", first ? "-" : "");
	}
	n += snprintf(out + n, size - n, "files %u\n", open_files);
	n += snprintf(out + n, size - n, "live_bos %u\nprime.handle %u\nprime.flags %u\ncpu_prep.handle %u\ncpu_prep.flags %u\n"
		      "dumb.request %u:%u:%u\ngem_new.domain %u\n", live, stats.prime_handle, stats.prime_flags, stats.prep_handle,
		      stats.prep_flags, stats.dumb_width, stats.dumb_height, stats.dumb_bpp, stats.gem_new_domain);
	if (stats.pushbuf[0]) n += snprintf(out + n, size - n, "pushbuf %s\npushbuf.file %u\n", stats.pushbuf, stats.pushbuf_file);
	return n;
}

static int fake_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof *st);
	if (strcmp(path, "/") == 0) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
	if (strcmp(path, "/" DEVICE) == 0) { st->st_mode = S_IFREG | 0666; st->st_nlink = 1; st->st_size = DEVICE_SIZE; return 0; }
	if (strcmp(path, "/stats") == 0) { st->st_mode = S_IFREG | 0444; st->st_nlink = 1; return 0; }
	return -ENOENT;
}

static int fake_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/stats") == 0) { fi->direct_io = 1; return 0; } /* always fresh */
	if (strcmp(path, "/" DEVICE) != 0) return -ENOENT;
	int f = file_open();
	if (f < 0) return f;
	fi->fh = (uint64_t)f;
	return 0;
}

/* The last close of a DRM file: the kernel's drm_file_free drops every handle and channel it holds. */
static int fake_release(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/" DEVICE) == 0 && fi->fh != 0) file_release((uint32_t)fi->fh);
	return 0;
}

static int fake_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, "/" DEVICE) == 0) return device_io(buf, size, offset, 0);
	static char text[65536];
	int n = render_stats(text, sizeof text);
	if (offset >= n) return 0;
	if (size > (size_t)(n - offset)) size = n - offset;
	memcpy(buf, text + offset, size);
	return (int)size;
}

static int fake_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
	(void)fi;
	return strcmp(path, "/" DEVICE) == 0 ? device_io((char *)buf, size, offset, 1) : -EACCES;
}

static int fake_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)offset; (void)fi; (void)flags;
	if (strcmp(path, "/") != 0) return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, DEVICE, NULL, 0, 0);
	fill(buf, "stats", NULL, 0, 0);
	return 0;
}

static void *fake_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->direct_io = 0;
	printf("ready\n");
	fflush(stdout);
	return NULL;
}

static const struct fuse_operations operations = {
	.getattr = fake_getattr, .open = fake_open, .read = fake_read, .write = fake_write,
	.readdir = fake_readdir, .ioctl = fake_ioctl, .init = fake_init, .release = fake_release,
};

int main(int argc, char **argv)
{
	const char *mountpoint = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc) driver = argv[++i];
		else if (strcmp(argv[i], "--fail") == 0 && i + 1 < argc) {
			const char *spec = argv[++i], *eq = strchr(spec, '=');
			size_t k;
			for (k = 0; eq && k < NKNOWN && (strlen(known[k].name) != (size_t)(eq - spec) ||
							 strncmp(known[k].name, spec, eq - spec) != 0); k++) ;
			if (!eq || k == NKNOWN || atoi(eq + 1) <= 0) { fprintf(stderr, "--fail %s: not KNOWN_IOCTL=ERRNO\n", spec); return 2; }
			fail_errno[k] = atoi(eq + 1);
		}
		else mountpoint = argv[i];
	}
	if (!mountpoint) { fprintf(stderr, "usage: fake_drm [--driver NAME] [--fail IOCTL=ERRNO]... MOUNTPOINT\n"); return 2; }
	nouveau = strcmp(driver, "nouveau") == 0;
	char *args[] = { argv[0], "-f", "-s", "-o", "fsname=fake_drm,subtype=fake_drm,auto_unmount", (char *)mountpoint, NULL };
	return fuse_main(6, args, &operations, NULL);
}
