/*
 * nouveau's ABI16 ioctls for fake_drm (--driver nouveau), checked as the kernel's
 * nouveau_abi16.c and nouveau_gem.c check them, against libdrm's nouveau_drm.h structs. There
 * is no GPU: a pushbuf is validated and recorded, and every buffer is idle at once. Channel ids
 * are device-wide (the hardware's), but a file can use only its own channels, as abi16 looks
 * them up in the client's list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_drm.h"

#define MAX_CHANNELS 64
#define NO_PREFETCH (1ULL << 23) /* NOUVEAU_GEM_PUSHBUF_NO_PREFETCH, kernel uapi only */

static uint32_t channel_file[MAX_CHANNELS + 1]; /* the file that allocated it, 0: free */

static int getparam(struct drm_nouveau_getparam *p)
{
	switch (p->param) {
	case NOUVEAU_GETPARAM_PCI_VENDOR: p->value = 0x10de; return 0;
	case NOUVEAU_GETPARAM_PCI_DEVICE: p->value = 0x1c82; return 0;
	case NOUVEAU_GETPARAM_CHIPSET_ID: p->value = 0x137; return 0;
	case NOUVEAU_GETPARAM_FB_SIZE: p->value = 1ULL << 30; return 0;
	case NOUVEAU_GETPARAM_GRAPH_UNITS: p->value = 6; return 0;
	default: return -EINVAL;
	}
}

static int channel_alloc(struct drm_nouveau_channel_alloc *c)
{
	for (int id = 1; id <= MAX_CHANNELS; id++) {
		if (channel_file[id]) continue;
		channel_file[id] = current_file;
		c->channel = id;
		c->pushbuf_domains = NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART;
		c->notifier_handle = 0xfeed0000u + id;
		c->nr_subchan = 0;
		return 0;
	}
	return -ENOSPC;
}

static int channel_valid(int id) { return id > 0 && id <= MAX_CHANNELS && channel_file[id] == current_file; }

void nouveau_release(uint32_t file)
{
	for (int id = 1; id <= MAX_CHANNELS; id++)
		if (channel_file[id] == file) channel_file[id] = 0;
}

static void fill_info(uint32_t handle, struct drm_nouveau_gem_info *info)
{
	struct bo *bo = bo_get(handle);
	info->handle = handle;
	info->domain = bo->domain & NOUVEAU_GEM_DOMAIN_VRAM ? NOUVEAU_GEM_DOMAIN_VRAM
		     : bo->domain & NOUVEAU_GEM_DOMAIN_GART ? NOUVEAU_GEM_DOMAIN_GART : NOUVEAU_GEM_DOMAIN_CPU;
	info->size = bo->size;
	info->offset = (1ULL << 40) + bo_offset(bo); /* GPU virtual address */
	info->map_handle = bo_offset(bo);
	info->tile_mode = info->tile_flags = 0;
}

static int gem_new(struct drm_nouveau_gem_new *n)
{
	uint32_t handle, domain = n->info.domain & (NOUVEAU_GEM_DOMAIN_CPU | NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART);
	stats.gem_new_domain = n->info.domain;
	if (!domain || n->info.tile_mode || n->info.tile_flags) return -EINVAL;
	int rc = bo_new((n->info.size + 4095) & ~4095ULL, n->info.domain, &handle);
	if (rc) return rc;
	fill_info(handle, &n->info);
	return 0;
}

static int pushbuf(struct drm_nouveau_gem_pushbuf *p)
{
	static struct drm_nouveau_gem_pushbuf_bo list[NOUVEAU_GEM_MAX_BUFFERS];
	static struct drm_nouveau_gem_pushbuf_push push[NOUVEAU_GEM_MAX_PUSH];
	int rc, n;

	if (!channel_valid((int)p->channel)) return -ENOENT;
	if (p->nr_buffers > NOUVEAU_GEM_MAX_BUFFERS || p->nr_push > NOUVEAU_GEM_MAX_PUSH || p->nr_relocs > NOUVEAU_GEM_MAX_RELOCS)
		return -EINVAL;
	if (p->nr_push == 0) return 0;
	if ((rc = from_caller(p->buffers, list, p->nr_buffers * sizeof list[0]))) return rc;
	if ((rc = from_caller(p->push, push, p->nr_push * sizeof push[0]))) return rc;

	stats.pushbuf_file = current_file;
	n = snprintf(stats.pushbuf, sizeof stats.pushbuf, "channel=%u relocs=%u buffers=", p->channel, p->nr_relocs);
	for (uint32_t i = 0; i < p->nr_buffers; i++) {
		struct bo *bo = bo_get(list[i].handle);
		if (!bo) return -ENOENT;
		for (uint32_t j = 0; j < i; j++)
			if (list[j].handle == list[i].handle) return -EINVAL; /* "multiple instances of buffer on validation list" */
		uint32_t want = list[i].write_domains ? list[i].write_domains : list[i].read_domains;
		if (!(list[i].valid_domains & bo->domain & want)) return -EINVAL; /* nouveau_gem_set_domain */
		n += snprintf(stats.pushbuf + n, sizeof stats.pushbuf - n, "%s%u:%u:%u:%u:%llu", i ? ";" : "", list[i].handle,
			      list[i].read_domains, list[i].write_domains, list[i].valid_domains, (unsigned long long)list[i].user_priv);
	}
	n += snprintf(stats.pushbuf + n, sizeof stats.pushbuf - n, " push=");
	for (uint32_t i = 0; i < p->nr_push; i++) {
		uint64_t length = push[i].length & ~NO_PREFETCH;
		if (push[i].bo_index >= p->nr_buffers) return -EINVAL;
		struct bo *bo = bo_get(list[push[i].bo_index].handle);
		if (push[i].offset > bo->size || length > bo->size - push[i].offset) return -EINVAL;
		n += snprintf(stats.pushbuf + n, sizeof stats.pushbuf - n, "%s%u:%llu:%llu", i ? ";" : "", push[i].bo_index,
			      (unsigned long long)push[i].offset, (unsigned long long)push[i].length);
	}
	p->suffix0 = p->suffix1 = 0;
	p->vram_available = p->gart_available = 1ULL << 30;
	return 0;
}

static int cpu_prep(struct drm_nouveau_gem_cpu_prep *c)
{
	stats.prep_handle = c->handle;
	stats.prep_flags = c->flags;
	if (c->flags & ~(NOUVEAU_GEM_CPU_PREP_NOWAIT | NOUVEAU_GEM_CPU_PREP_WRITE)) return -EINVAL;
	return bo_get(c->handle) ? 0 : -ENOENT; /* no GPU: always idle */
}

int nouveau_ioctl(unsigned int cmd, void *data)
{
	if (cmd == DRM_IOCTL_NOUVEAU_GETPARAM) return getparam(data);
	if (cmd == DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC) return channel_alloc(data);
	if (cmd == DRM_IOCTL_NOUVEAU_CHANNEL_FREE) {
		int id = ((struct drm_nouveau_channel_free *)data)->channel;
		if (!channel_valid(id)) return -ENOENT;
		channel_file[id] = 0;
		return 0;
	}
	if (cmd == DRM_IOCTL_NOUVEAU_GEM_NEW) return gem_new(data);
	if (cmd == DRM_IOCTL_NOUVEAU_GEM_INFO) {
		struct drm_nouveau_gem_info *info = data;
		if (!bo_get(info->handle)) return -ENOENT;
		fill_info(info->handle, info);
		return 0;
	}
	if (cmd == DRM_IOCTL_NOUVEAU_GEM_PUSHBUF) return pushbuf(data);
	if (cmd == DRM_IOCTL_NOUVEAU_GEM_CPU_PREP) return cpu_prep(data);
	if (cmd == DRM_IOCTL_NOUVEAU_GEM_CPU_FINI) return bo_get(((struct drm_nouveau_gem_cpu_fini *)data)->handle) ? 0 : -ENOENT;
	return -EINVAL;
}
