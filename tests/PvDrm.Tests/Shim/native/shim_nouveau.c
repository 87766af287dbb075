/*
 * An unmodified libdrm_nouveau program: device and client, buffer objects mapped, written and
 * read back, shared with a second DRM file by name (FLINK/OPEN) and by PRIME, a channel and a
 * pushbuf whose words are SoftGpu commands (FILL, then GEMM), waited for with nouveau_bo_wait
 * (CPU_PREP) and checked against a CPU reference.
 * Usage: shim_nouveau [N]   (GEMM size, default 64)
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <nouveau.h>
#include <nouveau_drm.h>
#include <nvif/class.h>
#include <nvif/cl0080.h>

#include "shim_check.h"

#define FILL 0x00070001u /* SOFTGPU.md: opcode 1, 7 words */
#define GEMM 0x000f0004u /* opcode 4, 15 words */

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static void push(struct nouveau_pushbuf *p, uint32_t word) { *p->cur++ = word; }

static void push_u64(struct nouveau_pushbuf *p, uint64_t v)
{
	push(p, (uint32_t)v);
	push(p, (uint32_t)(v >> 32));
}

static struct nouveau_bo *new_bo(struct nouveau_device *dev, uint64_t size, struct nouveau_client *client)
{
	struct nouveau_bo *bo = NULL;
	int r = nouveau_bo_new(dev, NOUVEAU_BO_GART | NOUVEAU_BO_MAP, 0, size, NULL, &bo);
	CHECK(r == 0 && bo, "nouveau_bo_new(%llu) = %d", (unsigned long long)size, r);
	CHECK(bo->size >= size && bo->handle != 0 && (bo->flags & NOUVEAU_BO_MAP), "bo: size %llu handle %u flags 0x%x",
	      (unsigned long long)bo->size, bo->handle, bo->flags);
	r = nouveau_bo_map(bo, NOUVEAU_BO_RDWR, client);
	CHECK(r == 0 && bo->map, "nouveau_bo_map = %d", r);
	return bo;
}

/* The object seen from a second DRM file, opened the older way (nouveau_device_wrap): by its
 * global name (GEM_FLINK, GEM_OPEN) and by a PRIME descriptor; both show the same words. */
static void share(struct nouveau_bo *bo, int words)
{
	int fd = open(render_node(), O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s again", render_node());
	struct nouveau_device *dev = NULL;
	struct nouveau_client *client = NULL;
	CHECK(nouveau_device_wrap(fd, 0, &dev) == 0 && dev->chipset == 0xc0 && dev->drm_version == 0x01000300, "nouveau_device_wrap");
	CHECK(nouveau_client_new(dev, &client) == 0, "nouveau_client_new on the second file");
	uint32_t name = 0;
	CHECK(nouveau_bo_name_get(bo, &name) == 0 && name != 0, "nouveau_bo_name_get");
	struct nouveau_bo *named = NULL, *primed = NULL;
	CHECK(nouveau_bo_name_ref(dev, name, &named) == 0 && named->size == bo->size, "nouveau_bo_name_ref(%u)", name);
	int prime = -1;
	CHECK(nouveau_bo_set_prime(bo, &prime) == 0 && prime >= 0, "nouveau_bo_set_prime");
	CHECK(nouveau_bo_prime_handle_ref(dev, prime, &primed) == 0 && primed->size == bo->size, "nouveau_bo_prime_handle_ref");
	CHECK(nouveau_bo_map(named, NOUVEAU_BO_RD, client) == 0 && nouveau_bo_map(primed, NOUVEAU_BO_RD, client) == 0, "nouveau_bo_map");
	for (int i = 0; i < words; i++)
		CHECK(((uint32_t *)named->map)[i] == ((uint32_t *)bo->map)[i] && ((uint32_t *)primed->map)[i] == ((uint32_t *)bo->map)[i],
		      "shared word %d", i);
	close(prime);
	nouveau_bo_ref(NULL, &primed);
	nouveau_bo_ref(NULL, &named);
	nouveau_client_del(&client);
	nouveau_device_del(&dev);
	CHECK(close(fd) == 0, "close of the second file");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64;
	CHECK(n >= 1 && n <= 512, "size %d", n);
	int fd = open(render_node(), O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", render_node());

	struct nouveau_drm *drm = NULL;
	CHECK(nouveau_drm_new(fd, &drm) == 0, "nouveau_drm_new");
	CHECK(!drm->nvif && drm->version == 0x01000300, "ABI16 expected: version 0x%08x nvif %d", drm->version, drm->nvif);
	struct nouveau_device *dev = NULL;
	struct nv_device_v0 args = { .device = ~0ULL };
	CHECK(nouveau_device_new(&drm->client, NV_DEVICE, &args, sizeof(args), &dev) == 0, "nouveau_device_new");
	CHECK(dev->chipset == 0xc0 && dev->vram_size > 0 && dev->gart_size > 0, "device: chipset 0x%x vram %llu gart %llu",
	      dev->chipset, (unsigned long long)dev->vram_size, (unsigned long long)dev->gart_size);
	struct nouveau_client *client = NULL;
	CHECK(nouveau_client_new(dev, &client) == 0, "nouveau_client_new");
	printf("ok device: chipset 0x%x, %llu MiB VRAM\n", dev->chipset, (unsigned long long)(dev->vram_size >> 20));

	/* Write through one mapping, read back through another of the same object. */
	struct nouveau_bo *scratch = new_bo(dev, 8192, client);
	for (int i = 0; i < 2048; i++)
		((uint32_t *)scratch->map)[i] = 0x9e3779b9u * (uint32_t)i;
	struct drm_nouveau_gem_info info = { .handle = scratch->handle };
	CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_INFO, &info, sizeof(info)) == 0, "GEM_INFO");
	uint32_t *again = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, (off_t)info.map_handle);
	CHECK(again != MAP_FAILED, "second mmap at 0x%llx", (unsigned long long)info.map_handle);
	for (int i = 0; i < 2048; i++)
		CHECK(again[i] == 0x9e3779b9u * (uint32_t)i, "read back word %d: 0x%08x", i, again[i]);
	munmap(again, 8192);
	CHECK(nouveau_bo_wait(scratch, NOUVEAU_BO_RDWR, client) == 0, "nouveau_bo_wait on an idle object");
	printf("ok map, write, read back\n");
	share(scratch, 2048);
	printf("ok shared by name and PRIME with a second file\n");

	size_t bytes = (size_t)n * n * 4;
	struct nouveau_bo *a = new_bo(dev, bytes, client), *b = new_bo(dev, bytes, client), *c = new_bo(dev, bytes, client);
	struct nouveau_bo *d = new_bo(dev, 4096, client);
	float *fa = a->map, *fb = b->map, *fc = c->map;
	srand(7);
	for (int i = 0; i < n * n; i++) {
		fa[i] = (float)(rand() % 17 - 8) / 4;
		fb[i] = (float)(rand() % 13 - 6) / 2;
		fc[i] = NAN; /* beta = 0: must not show through */
	}

	struct nvc0_fifo fifo = { 0 };
	struct nouveau_object *chan = NULL;
	CHECK(nouveau_object_new(&dev->object, 0, NOUVEAU_FIFO_CHANNEL_CLASS, &fifo, sizeof(fifo), &chan) == 0, "channel");
	struct nouveau_pushbuf *pb = NULL;
	CHECK(nouveau_pushbuf_new(client, chan, 1, 64 * 1024, true, &pb) == 0, "nouveau_pushbuf_new");
	CHECK(nouveau_pushbuf_space(pb, 64, 0, 0) == 0, "nouveau_pushbuf_space");
	/* SoftGpu commands name buffers by their index in the pushbuf's list: libdrm lists the push
	 * buffer first, then these in this order. */
	struct nouveau_pushbuf_refn refs[] = {
		{ d, NOUVEAU_BO_GART | NOUVEAU_BO_WR },
		{ a, NOUVEAU_BO_GART | NOUVEAU_BO_RD },
		{ b, NOUVEAU_BO_GART | NOUVEAU_BO_RD },
		{ c, NOUVEAU_BO_GART | NOUVEAU_BO_WR },
	};
	CHECK(nouveau_pushbuf_refn(pb, refs, 4) == 0, "nouveau_pushbuf_refn");
	push(pb, FILL);
	push(pb, 1);
	push_u64(pb, 0);
	push_u64(pb, 4096);
	push(pb, bits(1.5f));
	push(pb, GEMM);
	push(pb, (uint32_t)n);
	push(pb, (uint32_t)n);
	push(pb, (uint32_t)n);
	push(pb, bits(1.0f));
	push(pb, bits(0.0f));
	push(pb, 2);
	push_u64(pb, 0);
	push(pb, 3);
	push_u64(pb, 0);
	push(pb, 4);
	push_u64(pb, 0);
	CHECK(nouveau_pushbuf_kick(pb, chan) == 0, "nouveau_pushbuf_kick");
	CHECK(nouveau_bo_wait(c, NOUVEAU_BO_RDWR, client) == 0, "nouveau_bo_wait (CPU_PREP) on C");
	CHECK(nouveau_bo_wait(d, NOUVEAU_BO_RDWR, client) == 0, "nouveau_bo_wait (CPU_PREP) on D");

	for (int i = 0; i < 1024; i++)
		CHECK(((float *)d->map)[i] == 1.5f, "FILL: word %d is %g", i, ((float *)d->map)[i]);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double expected = 0;
			for (int k = 0; k < n; k++)
				expected += (double)fa[i * n + k] * fb[k * n + j];
			CHECK(fabs(fc[i * n + j] - expected) <= 1e-3 * (1 + fabs(expected)), "GEMM C[%d][%d] = %g, expected %g",
			      i, j, fc[i * n + j], expected);
		}
	printf("ok pushbuf: FILL and GEMM %dx%dx%d verified\n", n, n, n);

	nouveau_pushbuf_del(&pb);
	nouveau_object_del(&chan);
	nouveau_bo_ref(NULL, &a);
	nouveau_bo_ref(NULL, &b);
	nouveau_bo_ref(NULL, &c);
	nouveau_bo_ref(NULL, &d);
	nouveau_bo_ref(NULL, &scratch);
	nouveau_client_del(&client);
	nouveau_device_del(&dev);
	nouveau_drm_del(&drm);
	CHECK(close(fd) == 0, "close");
	printf("ok nouveau\n");
	return 0;
}
