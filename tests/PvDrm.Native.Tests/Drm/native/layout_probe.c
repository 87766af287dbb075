/*
 * layout_probe: prints what the C compiler makes of the DRM uapi headers PvDrm mirrors in
 * PvDrm.Native/Drm/Uapi, one fact a line, for DrmLayoutTests to compare with the C# side:
 *
 *   sizeof STRUCT BYTES
 *   offsetof STRUCT FIELD BYTES
 *   ioctl NAME NUMBER
 *   const NAME VALUE
 *
 * Built by the test with: gcc $(pkg-config --cflags libdrm) -I<this dir> layout_probe.c
 * Every struct, field, ioctl and constant in the C# uapi files must appear here, and the other
 * way round: the test fails on anything missing from either side.
 */
#include <fcntl.h>   /* O_CLOEXEC, O_RDWR: drm.h defines DRM_CLOEXEC and DRM_RDWR with them */
#include <stddef.h>
#include <stdint.h>  /* libdrm's nouveau_drm.h uses uint32_t without including it */
#include <stdio.h>
#include <drm.h>
#include <drm_mode.h>
#include <nouveau_drm.h>
#include "nouveau_ioctl.h"

#define SIZE(s) printf("sizeof %s %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) printf("offsetof %s %s %zu\n", #s, #f, offsetof(struct s, f))
#define IOCTL(n) printf("ioctl %s %lu\n", #n, (unsigned long)(unsigned int)(n))
#define CONST(n) printf("const %s %llu\n", #n, (unsigned long long)(n))

static void drm_h(void)
{
	SIZE(drm_version);
	FIELD(drm_version, version_major);
	FIELD(drm_version, version_minor);
	FIELD(drm_version, version_patchlevel);
	FIELD(drm_version, name_len);
	FIELD(drm_version, name);
	FIELD(drm_version, date_len);
	FIELD(drm_version, date);
	FIELD(drm_version, desc_len);
	FIELD(drm_version, desc);

	SIZE(drm_get_cap);
	FIELD(drm_get_cap, capability);
	FIELD(drm_get_cap, value);

	SIZE(drm_prime_handle);
	FIELD(drm_prime_handle, handle);
	FIELD(drm_prime_handle, flags);
	FIELD(drm_prime_handle, fd);

	SIZE(drm_gem_close);
	FIELD(drm_gem_close, handle);
	FIELD(drm_gem_close, pad);

	SIZE(drm_gem_flink);
	FIELD(drm_gem_flink, handle);
	FIELD(drm_gem_flink, name);

	SIZE(drm_gem_open);
	FIELD(drm_gem_open, name);
	FIELD(drm_gem_open, handle);
	FIELD(drm_gem_open, size);

	IOCTL(DRM_IOCTL_VERSION);
	IOCTL(DRM_IOCTL_GEM_CLOSE);
	IOCTL(DRM_IOCTL_GEM_FLINK);
	IOCTL(DRM_IOCTL_GEM_OPEN);
	IOCTL(DRM_IOCTL_GET_CAP);
	IOCTL(DRM_IOCTL_PRIME_HANDLE_TO_FD);
	IOCTL(DRM_IOCTL_PRIME_FD_TO_HANDLE);
	IOCTL(DRM_IOCTL_MODE_CREATE_DUMB);
	IOCTL(DRM_IOCTL_MODE_MAP_DUMB);
	IOCTL(DRM_IOCTL_MODE_DESTROY_DUMB);

	CONST(DRM_IOCTL_BASE);
	CONST(DRM_COMMAND_BASE);
	CONST(DRM_COMMAND_END);
	CONST(DRM_CLOEXEC);
	CONST(DRM_RDWR);
	CONST(DRM_CAP_DUMB_BUFFER);
	CONST(DRM_CAP_VBLANK_HIGH_CRTC);
	CONST(DRM_CAP_DUMB_PREFERRED_DEPTH);
	CONST(DRM_CAP_DUMB_PREFER_SHADOW);
	CONST(DRM_CAP_PRIME);
	CONST(DRM_PRIME_CAP_IMPORT);
	CONST(DRM_PRIME_CAP_EXPORT);
	CONST(DRM_CAP_TIMESTAMP_MONOTONIC);
	CONST(DRM_CAP_SYNCOBJ);
}

static void drm_mode_h(void)
{
	SIZE(drm_mode_create_dumb);
	FIELD(drm_mode_create_dumb, height);
	FIELD(drm_mode_create_dumb, width);
	FIELD(drm_mode_create_dumb, bpp);
	FIELD(drm_mode_create_dumb, flags);
	FIELD(drm_mode_create_dumb, handle);
	FIELD(drm_mode_create_dumb, pitch);
	FIELD(drm_mode_create_dumb, size);

	SIZE(drm_mode_map_dumb);
	FIELD(drm_mode_map_dumb, handle);
	FIELD(drm_mode_map_dumb, pad);
	FIELD(drm_mode_map_dumb, offset);

	SIZE(drm_mode_destroy_dumb);
	FIELD(drm_mode_destroy_dumb, handle);
}

static void nouveau_drm_h(void)
{
	SIZE(drm_nouveau_getparam);
	FIELD(drm_nouveau_getparam, param);
	FIELD(drm_nouveau_getparam, value);

	SIZE(drm_nouveau_channel_alloc);
	FIELD(drm_nouveau_channel_alloc, fb_ctxdma_handle);
	FIELD(drm_nouveau_channel_alloc, tt_ctxdma_handle);
	FIELD(drm_nouveau_channel_alloc, channel);
	FIELD(drm_nouveau_channel_alloc, pushbuf_domains);
	FIELD(drm_nouveau_channel_alloc, notifier_handle);
	FIELD(drm_nouveau_channel_alloc, subchan);
	FIELD(drm_nouveau_channel_alloc, nr_subchan);

	SIZE(drm_nouveau_channel_free);
	FIELD(drm_nouveau_channel_free, channel);

	SIZE(drm_nouveau_gem_info);
	FIELD(drm_nouveau_gem_info, handle);
	FIELD(drm_nouveau_gem_info, domain);
	FIELD(drm_nouveau_gem_info, size);
	FIELD(drm_nouveau_gem_info, offset);
	FIELD(drm_nouveau_gem_info, map_handle);
	FIELD(drm_nouveau_gem_info, tile_mode);
	FIELD(drm_nouveau_gem_info, tile_flags);

	SIZE(drm_nouveau_gem_new);
	FIELD(drm_nouveau_gem_new, info);
	FIELD(drm_nouveau_gem_new, channel_hint);
	FIELD(drm_nouveau_gem_new, align);

	SIZE(drm_nouveau_gem_pushbuf_bo_presumed);
	FIELD(drm_nouveau_gem_pushbuf_bo_presumed, valid);
	FIELD(drm_nouveau_gem_pushbuf_bo_presumed, domain);
	FIELD(drm_nouveau_gem_pushbuf_bo_presumed, offset);

	SIZE(drm_nouveau_gem_pushbuf_bo);
	FIELD(drm_nouveau_gem_pushbuf_bo, user_priv);
	FIELD(drm_nouveau_gem_pushbuf_bo, handle);
	FIELD(drm_nouveau_gem_pushbuf_bo, read_domains);
	FIELD(drm_nouveau_gem_pushbuf_bo, write_domains);
	FIELD(drm_nouveau_gem_pushbuf_bo, valid_domains);
	FIELD(drm_nouveau_gem_pushbuf_bo, presumed);

	SIZE(drm_nouveau_gem_pushbuf_reloc);
	FIELD(drm_nouveau_gem_pushbuf_reloc, reloc_bo_index);
	FIELD(drm_nouveau_gem_pushbuf_reloc, reloc_bo_offset);
	FIELD(drm_nouveau_gem_pushbuf_reloc, bo_index);
	FIELD(drm_nouveau_gem_pushbuf_reloc, flags);
	FIELD(drm_nouveau_gem_pushbuf_reloc, data);
	FIELD(drm_nouveau_gem_pushbuf_reloc, vor);
	FIELD(drm_nouveau_gem_pushbuf_reloc, tor);

	SIZE(drm_nouveau_gem_pushbuf_push);
	FIELD(drm_nouveau_gem_pushbuf_push, bo_index);
	FIELD(drm_nouveau_gem_pushbuf_push, pad);
	FIELD(drm_nouveau_gem_pushbuf_push, offset);
	FIELD(drm_nouveau_gem_pushbuf_push, length);

	SIZE(drm_nouveau_gem_pushbuf);
	FIELD(drm_nouveau_gem_pushbuf, channel);
	FIELD(drm_nouveau_gem_pushbuf, nr_buffers);
	FIELD(drm_nouveau_gem_pushbuf, buffers);
	FIELD(drm_nouveau_gem_pushbuf, nr_relocs);
	FIELD(drm_nouveau_gem_pushbuf, nr_push);
	FIELD(drm_nouveau_gem_pushbuf, relocs);
	FIELD(drm_nouveau_gem_pushbuf, push);
	FIELD(drm_nouveau_gem_pushbuf, suffix0);
	FIELD(drm_nouveau_gem_pushbuf, suffix1);
	FIELD(drm_nouveau_gem_pushbuf, vram_available);
	FIELD(drm_nouveau_gem_pushbuf, gart_available);

	SIZE(drm_nouveau_gem_cpu_prep);
	FIELD(drm_nouveau_gem_cpu_prep, handle);
	FIELD(drm_nouveau_gem_cpu_prep, flags);

	SIZE(drm_nouveau_gem_cpu_fini);
	FIELD(drm_nouveau_gem_cpu_fini, handle);

	IOCTL(DRM_IOCTL_NOUVEAU_GETPARAM);
	IOCTL(DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC);
	IOCTL(DRM_IOCTL_NOUVEAU_CHANNEL_FREE);
	IOCTL(DRM_IOCTL_NOUVEAU_GEM_NEW);
	IOCTL(DRM_IOCTL_NOUVEAU_GEM_PUSHBUF);
	IOCTL(DRM_IOCTL_NOUVEAU_GEM_CPU_PREP);
	IOCTL(DRM_IOCTL_NOUVEAU_GEM_CPU_FINI);
	IOCTL(DRM_IOCTL_NOUVEAU_GEM_INFO);

	CONST(DRM_NOUVEAU_GETPARAM);
	CONST(DRM_NOUVEAU_CHANNEL_ALLOC);
	CONST(DRM_NOUVEAU_CHANNEL_FREE);
	CONST(DRM_NOUVEAU_GEM_NEW);
	CONST(DRM_NOUVEAU_GEM_PUSHBUF);
	CONST(DRM_NOUVEAU_GEM_CPU_PREP);
	CONST(DRM_NOUVEAU_GEM_CPU_FINI);
	CONST(DRM_NOUVEAU_GEM_INFO);
	CONST(NOUVEAU_GETPARAM_PCI_VENDOR);
	CONST(NOUVEAU_GETPARAM_PCI_DEVICE);
	CONST(NOUVEAU_GETPARAM_BUS_TYPE);
	CONST(NOUVEAU_GETPARAM_FB_SIZE);
	CONST(NOUVEAU_GETPARAM_AGP_SIZE);
	CONST(NOUVEAU_GETPARAM_CHIPSET_ID);
	CONST(NOUVEAU_GETPARAM_VM_VRAM_BASE);
	CONST(NOUVEAU_GETPARAM_GRAPH_UNITS);
	CONST(NOUVEAU_GETPARAM_PTIMER_TIME);
	CONST(NOUVEAU_GETPARAM_HAS_BO_USAGE);
	CONST(NOUVEAU_GETPARAM_HAS_PAGEFLIP);
	CONST(NOUVEAU_GEM_DOMAIN_CPU);
	CONST(NOUVEAU_GEM_DOMAIN_VRAM);
	CONST(NOUVEAU_GEM_DOMAIN_GART);
	CONST(NOUVEAU_GEM_DOMAIN_MAPPABLE);
	CONST(NOUVEAU_GEM_DOMAIN_COHERENT);
	CONST(NOUVEAU_GEM_MAX_BUFFERS);
	CONST(NOUVEAU_GEM_MAX_RELOCS);
	CONST(NOUVEAU_GEM_MAX_PUSH);
	CONST(NOUVEAU_GEM_PUSHBUF_SYNC);
	CONST(NOUVEAU_GEM_CPU_PREP_NOWAIT);
	CONST(NOUVEAU_GEM_CPU_PREP_WRITE);
}

int main(void)
{
	drm_h();
	drm_mode_h();
	nouveau_drm_h();
	return 0;
}
