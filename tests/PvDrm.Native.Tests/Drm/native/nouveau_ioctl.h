/*
 * The DRM_IOCTL_NOUVEAU_* numbers, transcribed from the kernel's include/uapi/drm/nouveau_drm.h.
 *
 * Debian's libdrm-dev ships libdrm's copy of nouveau_drm.h, which has the structs and the
 * DRM_NOUVEAU_* command numbers but not these macros (libdrm builds them at run time with
 * drmCommandWriteRead). The definitions below are the kernel's text, character for character
 * apart from spacing: direction (IOW/IOWR), command number and argument struct. Where a header
 * does define them, that definition wins and the probe checks it instead.
 */
#ifndef PVDRM_NOUVEAU_IOCTL_H
#define PVDRM_NOUVEAU_IOCTL_H

#include <stdint.h> /* libdrm's nouveau_drm.h uses uint32_t without including it */
#include <drm.h>
#include <nouveau_drm.h>

#ifndef DRM_IOCTL_NOUVEAU_GETPARAM
#define DRM_IOCTL_NOUVEAU_GETPARAM      DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_GETPARAM, struct drm_nouveau_getparam)
#endif
#ifndef DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC
#define DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_CHANNEL_ALLOC, struct drm_nouveau_channel_alloc)
#endif
#ifndef DRM_IOCTL_NOUVEAU_CHANNEL_FREE
#define DRM_IOCTL_NOUVEAU_CHANNEL_FREE  DRM_IOW(DRM_COMMAND_BASE + DRM_NOUVEAU_CHANNEL_FREE, struct drm_nouveau_channel_free)
#endif
#ifndef DRM_IOCTL_NOUVEAU_GEM_NEW
#define DRM_IOCTL_NOUVEAU_GEM_NEW       DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_NEW, struct drm_nouveau_gem_new)
#endif
#ifndef DRM_IOCTL_NOUVEAU_GEM_PUSHBUF
#define DRM_IOCTL_NOUVEAU_GEM_PUSHBUF   DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_PUSHBUF, struct drm_nouveau_gem_pushbuf)
#endif
#ifndef DRM_IOCTL_NOUVEAU_GEM_CPU_PREP
#define DRM_IOCTL_NOUVEAU_GEM_CPU_PREP  DRM_IOW(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_CPU_PREP, struct drm_nouveau_gem_cpu_prep)
#endif
#ifndef DRM_IOCTL_NOUVEAU_GEM_CPU_FINI
#define DRM_IOCTL_NOUVEAU_GEM_CPU_FINI  DRM_IOW(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_CPU_FINI, struct drm_nouveau_gem_cpu_fini)
#endif
#ifndef DRM_IOCTL_NOUVEAU_GEM_INFO
#define DRM_IOCTL_NOUVEAU_GEM_INFO      DRM_IOWR(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_INFO, struct drm_nouveau_gem_info)
#endif

#endif
