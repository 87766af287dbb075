/* State and helpers fake_drm.c shares with fake_nouveau.c. */
#ifndef FAKE_DRM_H
#define FAKE_DRM_H

#include <stddef.h>
#include <stdint.h>
#include <drm.h>
#include <drm_mode.h>
#include <nouveau_drm.h>
#include "nouveau_ioctl.h"

#define DEVICE "renderD128"
#define MAX_BOS 4096
#define BO_SHIFT 28 /* each buffer owns a 256 MiB window of mmap offsets */
#define MAX_BO_SIZE (1ULL << BO_SHIFT)
#define DEVICE_SIZE ((off_t)(MAX_BOS + 1) << BO_SHIFT)
#define NKNOWN 18
#define MAX_FILES 256 /* device files open at once */

/* A GEM object; it lives as long as the handle that names it (the fake has no sharing between files). */
struct bo { int live; uint64_t size; uint32_t domain; unsigned char *mem; };
/* One open device file, as the kernel's struct drm_file: its own handle table and channels. */
struct drm_file_state { int live; uint32_t objects[MAX_BOS + 1]; /* handle -> object id, 0: free */ };
struct known_ioctl { unsigned int cmd; const char *name; };
struct fake_stats {
	unsigned long total, unknown, by_known[NKNOWN];
	uint32_t prime_handle, prime_flags, prep_handle, prep_flags, gem_new_domain;
	uint32_t dumb_width, dumb_height, dumb_bpp;
	char pushbuf[8192];
	uint32_t pushbuf_file;
};

extern const char *driver;
extern int nouveau;
extern struct bo bos[MAX_BOS + 1];
extern uint32_t next_object;
extern struct drm_file_state files[MAX_FILES + 1];
extern uint32_t current_file; /* the file of the ioctl being answered */
extern struct fake_stats stats;
extern const struct known_ioctl known[NKNOWN];

int to_caller(uint64_t address, const void *data, size_t size);
int from_caller(uint64_t address, void *data, size_t size);
/* fake_files.c: a new file's id or -EMFILE; the last close of a file. */
int file_open(void);
void file_release(uint32_t file);
/* Handles are looked up in the current file's table only, as drm_gem_object_lookup does. */
struct bo *bo_get(uint32_t handle);
int bo_new(uint64_t size, uint32_t domain, uint32_t *handle);
int bo_close(uint32_t handle);
uint64_t bo_offset(const struct bo *bo);

/* nouveau's ABI16 ioctls (fake_nouveau.c); -EINVAL for anything else. */
int nouveau_ioctl(unsigned int cmd, void *data);
/* Frees the channels of a file that closed. */
void nouveau_release(uint32_t file);

#endif
