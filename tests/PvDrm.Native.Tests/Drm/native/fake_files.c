/*
 * The fake's GEM objects and DRM files, as the kernel keeps them: objects (and their mmap
 * offsets) are device-wide, handles belong to one open file. Each file numbers its handles
 * with the lowest free one from 1, like the kernel's idr, so two files hand out the same
 * numbers; a handle is looked up in the current file only, as drm_gem_object_lookup does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fake_drm.h"

struct bo bos[MAX_BOS + 1]; /* indexed by object id; ids are never reused, nor are offsets */
uint32_t next_object = 1;
struct drm_file_state files[MAX_FILES + 1]; /* indexed by file id (fuse_file_info.fh), lowest free first */
uint32_t current_file;

/* drm_open: a new struct drm_file; its id is the FUSE file handle. */
int file_open(void)
{
	uint32_t f;
	for (f = 1; f <= MAX_FILES && files[f].live; f++) ;
	if (f > MAX_FILES) return -EMFILE;
	files[f].live = 1;
	return (int)f;
}

/* drm_file_free: the last close drops every handle and channel the file still holds. */
void file_release(uint32_t file)
{
	current_file = file;
	for (uint32_t h = 1; h <= MAX_BOS; h++)
		if (files[file].objects[h]) bo_close(h);
	if (nouveau) nouveau_release(file);
	files[file].live = 0;
	current_file = 0;
}

struct bo *bo_get(uint32_t handle)
{
	if (current_file == 0 || handle == 0 || handle > MAX_BOS) return NULL;
	uint32_t id = files[current_file].objects[handle];
	return id ? &bos[id] : NULL;
}

int bo_new(uint64_t size, uint32_t domain, uint32_t *handle)
{
	uint32_t h;
	if (size == 0) return -EINVAL;
	if (size > MAX_BO_SIZE || next_object > MAX_BOS) return -ENOMEM;
	for (h = 1; h <= MAX_BOS && files[current_file].objects[h]; h++) ;
	if (h > MAX_BOS) return -ENOSPC;
	struct bo *bo = &bos[next_object];
	if (!(bo->mem = calloc(1, size))) return -ENOMEM;
	bo->size = size;
	bo->domain = domain;
	bo->live = 1;
	files[current_file].objects[h] = next_object++;
	*handle = h;
	return 0;
}

int bo_close(uint32_t handle)
{
	struct bo *bo = bo_get(handle);
	if (!bo) return -EINVAL; /* drm_gem_handle_delete */
	free(bo->mem);
	memset(bo, 0, sizeof *bo);
	files[current_file].objects[handle] = 0;
	return 0;
}

uint64_t bo_offset(const struct bo *bo) { return (uint64_t)(bo - bos) << BO_SHIFT; }
