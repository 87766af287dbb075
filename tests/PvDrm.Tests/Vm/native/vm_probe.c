/*
 * Timing probe for the VM figures (tests/PvDrm.Benchmarks/Cases/VmCase.cs), run through the
 * shim in a VM guest and in a guest on the host alike: the round trip of one request that the
 * proxy sends to the host (drmGetCap), and, where buffers can be mapped, memcpy of a buffer
 * into a GEM mapping against memcpy into process memory. Prints "key value" lines.
 * Usage: vm_probe SAMPLES MAP_MIB
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <nouveau.h>
#include <nouveau_drm.h>
#include <nvif/class.h>
#include <nvif/cl0080.h>

#include "../../Shim/native/shim_check.h"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), by_value);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	int samples = argc > 1 ? atoi(argv[1]) : 200;
	size_t bytes = (size_t)(argc > 2 ? atoi(argv[2]) : 16) << 20;
	CHECK(samples >= 5 && samples <= 100000 && bytes > 0, "usage: vm_probe SAMPLES MAP_MIB");
	int fd = open(render_node(), O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", render_node());
	double *t = calloc(samples, sizeof(double));
	uint64_t cap;
	for (int i = 0; i < samples / 10 + 1; i++) /* warm-up */
		CHECK(drmGetCap(fd, DRM_CAP_PRIME, &cap) == 0, "drmGetCap");
	for (int i = 0; i < samples; i++) {
		double start = now_us();
		CHECK(drmGetCap(fd, DRM_CAP_PRIME, &cap) == 0, "drmGetCap");
		t[i] = now_us() - start;
	}
	printf("rtt_us %.2f\n", median(t, samples));

	struct nouveau_drm *drm = NULL;
	struct nouveau_device *dev = NULL;
	struct nouveau_client *client = NULL;
	struct nouveau_bo *bo = NULL;
	struct nv_device_v0 args = { .device = ~0ULL };
	CHECK(nouveau_drm_new(fd, &drm) == 0 && nouveau_device_new(&drm->client, NV_DEVICE, &args, sizeof(args), &dev) == 0 &&
	      nouveau_client_new(dev, &client) == 0, "nouveau device");
	CHECK(nouveau_bo_new(dev, NOUVEAU_BO_GART | NOUVEAU_BO_MAP, 0, bytes, NULL, &bo) == 0, "nouveau_bo_new");
	if (nouveau_bo_map(bo, NOUVEAU_BO_RDWR, client) != 0) {
		printf("map none\n");
		return 0;
	}
	char *source = malloc(bytes), *local = malloc(bytes);
	memset(source, 0x5a, bytes);
	memset(local, 0, bytes);
	memset(bo->map, 0, bytes); /* pages touched before, as the host's map case does */
	int rounds = 7;
	double map_t[7], local_t[7];
	for (int i = 0; i < rounds; i++) {
		double start = now_us();
		memcpy(bo->map, source, bytes);
		map_t[i] = now_us() - start;
		start = now_us();
		memcpy(local, source, bytes);
		local_t[i] = now_us() - start;
	}
	CHECK(((char *)bo->map)[bytes - 1] == 0x5a, "the mapping holds what was copied");
	printf("map_ratio_vs_memcpy %.3f\n", median(local_t, rounds) / median(map_t, rounds));
	nouveau_bo_ref(NULL, &bo);
	nouveau_client_del(&client);
	nouveau_device_del(&dev);
	nouveau_drm_del(&drm);
	close(fd);
	return 0;
}
