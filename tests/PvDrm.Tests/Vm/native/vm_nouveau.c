/*
 * An unmodified libdrm_nouveau program that reports every step instead of stopping at the first
 * failure, so a test can say exactly what works for a guest whose proxy reaches the host over a
 * link that cannot map (TCP from a VM) and what does not: each step prints "ok STEP" or
 * "fail STEP: ERRNO_NAME". Steps that need a mapping print "skip STEP: no mapping" without one.
 * Buffers are written and checked through their mappings (nouveau ABI16 has no write ioctl).
 * Usage: vm_nouveau [N]   (GEMM size, default 32). Exit 0 when no step failed.
 */
#define _GNU_SOURCE
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

#include "../../Shim/native/shim_check.h"

#define FILL 0x00070001u /* SOFTGPU.md: opcode 1, 7 words */
#define GEMM 0x000f0004u /* opcode 4, 15 words */

static int failures;

/* Prints the step's outcome; r is 0 for success or a negative errno (libdrm's convention). */
static int step(const char *what, int r)
{
	if (r == 0)
		printf("ok %s\n", what);
	else {
		printf("fail %s: %s\n", what, strerrorname_np(-r) ? strerrorname_np(-r) : "?");
		failures++;
	}
	fflush(stdout);
	return r == 0;
}

static int errno_of(int ok) { return ok ? 0 : -(errno ? errno : EIO); }

static void skip(const char *what)
{
	printf("skip %s: no mapping\n", what);
	fflush(stdout);
}

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

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 32;
	CHECK(n >= 1 && n <= 256, "size %d", n);
	size_t bytes = (size_t)n * n * 4;
	int fd = open(render_node(), O_RDWR | O_CLOEXEC);
	if (!step("open", errno_of(fd >= 0))) return 1;

	struct nouveau_drm *drm = NULL;
	struct nouveau_device *dev = NULL;
	struct nouveau_client *client = NULL;
	struct nv_device_v0 args = { .device = ~0ULL };
	if (!step("nouveau_drm_new", nouveau_drm_new(fd, &drm)) ||
	    !step("nouveau_device_new", nouveau_device_new(&drm->client, NV_DEVICE, &args, sizeof(args), &dev)) ||
	    !step("nouveau_client_new", nouveau_client_new(dev, &client)))
		return 1;

	/* a, b: inputs; c = a x b; d: FILL target. */
	struct nouveau_bo *bo[4] = { 0 };
	uint64_t sizes[4] = { bytes, bytes, bytes, 4096 };
	int made = 1;
	for (int i = 0; i < 4; i++)
		made &= nouveau_bo_new(dev, NOUVEAU_BO_GART | NOUVEAU_BO_MAP, 0, sizes[i], NULL, &bo[i]) == 0;
	if (!step("nouveau_bo_new", made ? 0 : -ENOMEM)) return 1;
	int mapped = 0;
	for (int i = 0; i < 4; i++) {
		int r = nouveau_bo_map(bo[i], NOUVEAU_BO_RDWR, client);
		if (i == 0) mapped = step("nouveau_bo_map", r);
		else if (mapped && r) mapped = step("nouveau_bo_map", r);
	}

	struct drm_nouveau_gem_info info = { .handle = bo[0]->handle };
	step("GEM_INFO", drmCommandWriteRead(fd, DRM_NOUVEAU_GEM_INFO, &info, sizeof(info)));
	uint32_t name = 0;
	step("nouveau_bo_name_get", nouveau_bo_name_get(bo[0], &name));
	int fd2 = open(render_node(), O_RDWR | O_CLOEXEC);
	struct nouveau_device *dev2 = NULL;
	struct nouveau_bo *named = NULL, *primed = NULL;
	step("nouveau_device_wrap", fd2 >= 0 ? nouveau_device_wrap(fd2, 0, &dev2) : -errno);
	step("nouveau_bo_name_ref", dev2 ? nouveau_bo_name_ref(dev2, name, &named) : -EBADF);
	int prime = -1;
	/* drmPrimeHandleToFD answers -1 with errno set, not -errno. */
	int exported = nouveau_bo_set_prime(bo[0], &prime);
	if (step("nouveau_bo_set_prime", exported == -1 ? -errno : exported))
		step("nouveau_bo_prime_handle_ref", nouveau_bo_prime_handle_ref(dev2, prime, &primed));
	else
		printf("skip nouveau_bo_prime_handle_ref: no PRIME descriptor\n");

	float *fa = bo[0]->map, *fb = bo[1]->map, *fc = bo[2]->map;
	if (mapped) {
		srand(7);
		for (int i = 0; i < n * n; i++) {
			fa[i] = (float)(rand() % 17 - 8) / 4;
			fb[i] = (float)(rand() % 13 - 6) / 2;
			fc[i] = NAN; /* beta = 0: must not show through */
		}
	}

	struct nvc0_fifo fifo = { 0 };
	struct nouveau_object *chan = NULL;
	struct nouveau_pushbuf *pb = NULL;
	int pushed = step("channel", nouveau_object_new(&dev->object, 0, NOUVEAU_FIFO_CHANNEL_CLASS, &fifo, sizeof(fifo), &chan)) &&
		     step("nouveau_pushbuf_new", nouveau_pushbuf_new(client, chan, 1, 64 * 1024, true, &pb)) &&
		     /* libdrm_nouveau writes commands through a mapping of its push buffer. */
		     step("nouveau_pushbuf_space", nouveau_pushbuf_space(pb, 64, 0, 0));
	if (pushed) {
		struct nouveau_pushbuf_refn refs[] = {
			{ bo[3], NOUVEAU_BO_GART | NOUVEAU_BO_WR },
			{ bo[0], NOUVEAU_BO_GART | NOUVEAU_BO_RD },
			{ bo[1], NOUVEAU_BO_GART | NOUVEAU_BO_RD },
			{ bo[2], NOUVEAU_BO_GART | NOUVEAU_BO_WR },
		};
		step("nouveau_pushbuf_refn", nouveau_pushbuf_refn(pb, refs, 4));
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
		step("nouveau_pushbuf_kick", nouveau_pushbuf_kick(pb, chan));
		step("nouveau_bo_wait", nouveau_bo_wait(bo[2], NOUVEAU_BO_RDWR, client) | nouveau_bo_wait(bo[3], NOUVEAU_BO_RDWR, client));
	} else {
		skip("nouveau_pushbuf_kick");
	}

	if (mapped && pushed) {
		int bad = 0;
		for (int i = 0; i < 1024 && !bad; i++)
			bad = ((float *)bo[3]->map)[i] != 1.5f;
		for (int i = 0; i < n && !bad; i++)
			for (int j = 0; j < n && !bad; j++) {
				double expected = 0;
				for (int k = 0; k < n; k++)
					expected += (double)fa[i * n + k] * fb[k * n + j];
				bad = fabs(fc[i * n + j] - expected) > 1e-3 * (1 + fabs(expected));
			}
		step("FILL and GEMM verified through the mappings", bad ? -EIO : 0);
	} else
		skip("FILL and GEMM verified through the mappings");

	if (prime >= 0) close(prime);
	if (pb) nouveau_pushbuf_del(&pb);
	if (chan) nouveau_object_del(&chan);
	nouveau_bo_ref(NULL, &primed);
	nouveau_bo_ref(NULL, &named);
	for (int i = 0; i < 4; i++)
		nouveau_bo_ref(NULL, &bo[i]);
	nouveau_device_del(&dev2);
	if (fd2 >= 0) close(fd2);
	nouveau_client_del(&client);
	nouveau_device_del(&dev);
	nouveau_drm_del(&drm);
	step("close", errno_of(close(fd) == 0));
	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}
