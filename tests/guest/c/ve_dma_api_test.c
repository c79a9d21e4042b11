// SPDX-License-Identifier: GPL-2.0
/*
 * ve_dma_api_test: VEOS's DMA manager API (include/veos/dma.h, libvedma.a) against ve_drv's
 * in-kernel DMA manager and the engine emulator. TAP output in kselftest style. Linked
 * statically (the initramfs has no libc).
 *
 * The program provides test doubles of what the library calls back in VEOS and libved:
 * vedl_get_fd (a handle holding the fd of /dev/ve0), veos_virt_to_phy / veos_put_page (a VE
 * process TEST_VEPID whose VEMVA pages map to VE memory in a scrambled order, not the identity,
 * with one read-only and one inaccessible page; references are counted per page and must be back
 * at zero after every test) and ve_put_ipc_sync (counted). Data is compared on every transfer;
 * after every test nothing is pinned (nr_foll_pin_acquired == nr_foll_pin_released).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "veos/dma.h"
#include "ve_drv.h"

/* ---- test doubles of VEOS and libved ---- */

struct vedl_handle_struct {
	int fd;
};

int vedl_get_fd(const vedl_handle *h)
{
	return h->fd;
}

#define PAGE2M (2ULL << 20)
#define TEST_VEPID 4242
#define VEMVA_BASE 0x600000000000ULL
#define VEMVA_PAGES 64
#define VEMVA_RO_PAGE 60	/* PROT_READ */
#define VEMVA_NONE_PAGE 61	/* PROT_NONE */
#define VEMAA_TABLE 0x40000000ULL /* where the VEMVA pages live in VE memory */
#define VEMAA_SCRATCH 0x10000000ULL /* VEMAA tests */

static atomic_int page_refs[VEMVA_PAGES];
static atomic_int ref_errors;
static atomic_int ipc_puts;

/* page i of the VE process lives at VE page (7 i + 3) mod 64: a permutation, never adjacent */
static uint64_t vemva_to_vemaa_page(unsigned int i)
{
	return VEMAA_TABLE + (uint64_t)((7 * i + 3) % VEMVA_PAGES) * PAGE2M;
}

int64_t veos_virt_to_phy(uint64_t vaddr, pid_t pid, bool inc_ref, int *prot)
{
	if (pid != TEST_VEPID)
		return -ESRCH;
	if (vaddr < VEMVA_BASE || vaddr >= VEMVA_BASE + VEMVA_PAGES * PAGE2M)
		return -EFAULT;
	unsigned int i = (vaddr - VEMVA_BASE) / PAGE2M;
	*prot = i == VEMVA_RO_PAGE ? PROT_READ : i == VEMVA_NONE_PAGE ? PROT_NONE : PROT_WRITE;
	if (inc_ref)
		atomic_fetch_add(&page_refs[i], 1);
	return (int64_t)(vemva_to_vemaa_page(i) + (vaddr & (PAGE2M - 1)));
}

int veos_put_page(uint64_t paddr)
{
	for (unsigned int i = 0; i < VEMVA_PAGES; i++) {
		if (vemva_to_vemaa_page(i) == (paddr & ~(PAGE2M - 1))) {
			if (atomic_fetch_sub(&page_refs[i], 1) <= 0)
				atomic_fetch_add(&ref_errors, 1);
			return 0;
		}
	}
	atomic_fetch_add(&ref_errors, 1);
	return -EINVAL;
}

/* VEOS's struct ve_ipc_sync (src/veos/main/veos_ipc.h), field by field */
struct ve_ipc_sync {
	pthread_mutex_t ref_lock;
	int ref_count;
	pthread_mutex_t swap_exclusion_lock;
	int handling_request;
	pthread_cond_t handling_request_cond;
	int swapping;
	pthread_cond_t swapping_cond;
};

int ve_put_ipc_sync(struct ve_ipc_sync *s)
{
	pthread_mutex_lock(&s->ref_lock);
	s->ref_count--;
	pthread_mutex_unlock(&s->ref_lock);
	atomic_fetch_add(&ipc_puts, 1);
	return 0;
}

/* ---- TAP and helpers ---- */

static int failures_in_test;
static char fail_msg[4096];

#define CHECK(cond, ...)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fail(__FILE__, __LINE__, __VA_ARGS__);                              \
			return -1;                                                          \
		}                                                                           \
	} while (0)

static void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(fail_msg, sizeof(fail_msg), "%s:%d: ", file, line);

	va_start(ap, fmt);
	vsnprintf(fail_msg + n, sizeof(fail_msg) - n, fmt, ap);
	va_end(ap);
	failures_in_test++;
}

static int card_fd = -1;
static vedl_handle vh;
static volatile uint64_t *emu_block;

static void pin_counters(uint64_t *acq, uint64_t *rel)
{
	char line[256];
	FILE *f;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			(void)0;
		close(fd);
	}
	*acq = *rel = 0;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "nr_foll_pin_acquired %llu", &v) == 1)
			*acq = v;
		if (sscanf(line, "nr_foll_pin_released %llu", &v) == 1)
			*rel = v;
	}
	fclose(f);
}

/* maps the emulator's identification block (BAR2 + 32 MiB) through sysfs resource2 */
static int map_emu(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512], buf[32];

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int fd;
		ssize_t n;
		unsigned int vendor = 0, device = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		vendor = strtoul(buf, NULL, 0);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		device = strtoul(buf, NULL, 0);
		if (vendor != 0x1af4 || device != 0x1110)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2", e->d_name);
		fd = open(path, O_RDWR);
		if (fd < 0)
			break;
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 32 << 20);
		close(fd);
		if (p == MAP_FAILED)
			break;
		emu_block = p;
		closedir(d);
		return 0;
	}
	closedir(d);
	return -1;
}

#define OFF_CTL_STALL 0x188

static void stall(void)
{
	emu_block[OFF_CTL_STALL / 8] = 1;
	__sync_synchronize();
}

static void unstall(void)
{
	emu_block[OFF_CTL_STALL / 8] = 0;
	__sync_synchronize();
	if (ioctl(card_fd, VE_DRV_IOC_KICK) < 0)
		perror("VE_DRV_IOC_KICK");
}

static void *vh_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = seed * 0x9E3779B97F4A7C15ULL + i;
}

/* index of the first wrong word, or -1 */
static long check_fill(const void *buf, size_t len, uint64_t seed)
{
	const uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != seed * 0x9E3779B97F4A7C15ULL + i)
			return (long)i;
	return -1;
}

static const char *st_name(ve_dma_status_t s)
{
	static const char *n[] = { "OK", "NOT_FINISHED", "TIMEDOUT", "CANCELED", "ERROR" };

	return (unsigned int)s < 5 ? n[s] : "?";
}

static pid_t me(void)
{
	return getpid();
}

static void deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static ve_dma_hdl *hdl;

/* one post + wait + free through the asynchronous calls, expecting OK */
static int xfer(ve_dma_addrtype_t st, pid_t sp, uint64_t sa, ve_dma_addrtype_t dt, pid_t dp,
		uint64_t da, uint64_t len, uint64_t opt)
{
	ve_dma_req_hdl *r = ve_dma_post_p_va_with_opt(hdl, st, sp, sa, dt, dp, da, len, opt, -1,
						       NULL);
	CHECK(r, "post %u -> %u (%#llx bytes): errno %d", st, dt, (unsigned long long)len, errno);
	ve_dma_status_t s = ve_dma_wait(r);
	CHECK(ve_dma_test(r) == s, "test after wait: %s", st_name(ve_dma_test(r)));
	ve_dma_req_free(r);
	CHECK(s == VE_DMA_STATUS_OK, "wait %u -> %u: %s", st, dt, st_name(s));
	return 0;
}

/* VH -> VE side (type t, pid p, addr a) -> VH, compared */
static int vh_roundtrip(ve_dma_addrtype_t t, pid_t p, uint64_t a, size_t len, uint64_t seed,
			uint64_t opt)
{
	char *src = vh_alloc(len), *dst = vh_alloc(len);
	int rc = -1;

	CHECK(src && dst, "mmap");
	fill(src, len, seed);
	memset(dst, 0, len);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)src, t, p, a, len, opt))
		goto out;
	if (xfer(t, p, a, VE_DMA_VHVA, me(), (uint64_t)dst, len, opt))
		goto out;
	long bad = check_fill(dst, len, seed);
	if (bad >= 0) {
		fail(__FILE__, __LINE__, "type %u: word %ld differs after the round trip", t, bad);
		goto out;
	}
	rc = 0;
out:
	munmap(src, len);
	munmap(dst, len);
	return rc;
}

/* ---- tests ---- */

static int t_open_close(void)
{
	vedl_handle bad = { .fd = -1 };
	int nullfd = open("/dev/null", O_RDWR);
	vedl_handle notve = { .fd = nullfd };

	errno = 0;
	CHECK(!ve_dma_open_p(NULL) && errno == EINVAL, "open(NULL): errno %d", errno);
	errno = 0;
	CHECK(!ve_dma_open_p(&bad) && errno == EBADF, "open(fd -1): errno %d", errno);
	errno = 0;
	CHECK(!ve_dma_open_p(&notve) && errno == ENOTTY, "open(/dev/null): errno %d", errno);
	close(nullfd);
	CHECK(ve_dma_close_p(NULL) == -EINVAL, "close(NULL)");
	ve_dma_hdl *h = ve_dma_open_p(&vh);
	CHECK(h, "open: errno %d", errno);
	CHECK(ve_dma_is_busy(h) == 0, "a new handle is busy");
	CHECK(ve_dma_close_p(h) == 0, "close");
	/* the file stays VEOS's and usable */
	h = ve_dma_open_p(&vh);
	CHECK(h, "open again: errno %d", errno);
	CHECK(ve_dma_close_p(h) == 0, "close again");
	CHECK(fcntl(card_fd, F_GETFD) >= 0, "the card's file was closed");
	return 0;
}

static int t_eperm(void)
{
	pid_t c = fork();

	CHECK(c >= 0, "fork");
	if (c == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		int fd = open("/dev/ve0", O_RDWR);
		if (fd < 0)
			_exit(3);
		vedl_handle h = { .fd = fd };
		errno = 0;
		_exit(!ve_dma_open_p(&h) && errno == EPERM ? 0 : 1);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st), "child");
	CHECK(WEXITSTATUS(st) == 0, "open without CAP_SYS_ADMIN: child says %d", WEXITSTATUS(st));
	return 0;
}

static int t_vhva_vemaa(void)
{
	static const size_t sizes[] = { 8, 4096, 65536 + 8, 3 << 20 };

	for (unsigned int i = 0; i < 4; i++)
		if (vh_roundtrip(VE_DMA_VEMAA, 0, VEMAA_SCRATCH + 8 * i, sizes[i], i + 1, 0))
			return -1;
	/* ve_dma_xfer_p_va and ve_dma_post_p_va */
	size_t len = 1 << 20;
	char *a = vh_alloc(len), *b = vh_alloc(len);
	CHECK(a && b, "mmap");
	fill(a, len, 77);
	CHECK(ve_dma_xfer_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)a, VE_DMA_VEMAA, 0,
			       VEMAA_SCRATCH, len) == VE_DMA_STATUS_OK, "xfer to VE");
	ve_dma_req_hdl *r = ve_dma_post_p_va(hdl, VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHVA,
					     me(), (uint64_t)b, len);
	CHECK(r, "post_p_va: errno %d", errno);
	struct timespec t;
	deadline_in(&t, 10000);
	CHECK(ve_dma_timedwait(r, &t) == VE_DMA_STATUS_OK, "timedwait");
	CHECK(ve_dma_test(r) == VE_DMA_STATUS_OK, "test");
	CHECK(ve_dma_req_free(r) == 0, "free");
	CHECK(check_fill(b, len, 77) < 0, "data");
	/* length 0 */
	CHECK(ve_dma_xfer_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)a, VE_DMA_VEMAA, 0,
			       VEMAA_SCRATCH, 0) == VE_DMA_STATUS_OK, "length 0");
	munmap(a, len);
	munmap(b, len);
	return 0;
}

static int t_options(void)
{
	static const uint64_t opts[] = { 0, VE_DMA_OPT_SYNC, VE_DMA_OPT_RO, VE_DMA_OPT_IDO,
					 VE_DMA_OPT_SYNC | VE_DMA_OPT_RO | VE_DMA_OPT_IDO |
						 VE_DMA_OPT_SYNC_API };

	for (unsigned int i = 0; i < 5; i++)
		if (vh_roundtrip(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, 64 << 10, 100 + i, opts[i])) {
			printf("# with opt %#llx\n", (unsigned long long)opts[i]);
			return -1;
		}
	return 0;
}

/* VHVA <-> VEMVA through the scrambled page table; read back through VEMAA page by page */
static int t_vemva(void)
{
	uint64_t off = PAGE2M - 4096; /* 4 KiB before a page boundary */
	size_t len = 5 * PAGE2M + 8192;
	char *src = vh_alloc(len), *dst = vh_alloc(len);

	CHECK(src && dst, "mmap");
	fill(src, len, 5);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)src, VE_DMA_VEMVA, TEST_VEPID, VEMVA_BASE + off, len,
		 VE_DMA_OPT_SYNC))
		return -1;
	/* where the data really is: page by page in VE memory */
	memset(dst, 0, len);
	for (uint64_t pos = 0; pos < len;) {
		uint64_t va = VEMVA_BASE + off + pos;
		uint64_t n = PAGE2M - (va & (PAGE2M - 1));
		if (n > len - pos)
			n = len - pos;
		uint64_t pa = vemva_to_vemaa_page((va - VEMVA_BASE) / PAGE2M) + (va & (PAGE2M - 1));
		if (xfer(VE_DMA_VEMAA, 0, pa, VE_DMA_VHVA, me(), (uint64_t)dst + pos, n, 0))
			return -1;
		pos += n;
	}
	CHECK(check_fill(dst, len, 5) < 0, "VEMVA write landed elsewhere than the page table says");
	/* and back through VEMVA and VEMVA_WO_PROT_CHECK */
	memset(dst, 0, len);
	if (xfer(VE_DMA_VEMVA, TEST_VEPID, VEMVA_BASE + off, VE_DMA_VHVA, me(), (uint64_t)dst, len,
		 0))
		return -1;
	CHECK(check_fill(dst, len, 5) < 0, "VEMVA read");
	memset(dst, 0, len);
	if (xfer(VE_DMA_VEMVA_WO_PROT_CHECK, TEST_VEPID, VEMVA_BASE + off, VE_DMA_VHVA, me(),
		 (uint64_t)dst, len, 0))
		return -1;
	CHECK(check_fill(dst, len, 5) < 0, "VEMVA_WO_PROT_CHECK read");
	/* the read-only page: writable without the check, readable, EACCES with it */
	uint64_t ro = VEMVA_BASE + VEMVA_RO_PAGE * PAGE2M;
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)src, VE_DMA_VEMVA_WO_PROT_CHECK, TEST_VEPID, ro,
		 4096, 0))
		return -1;
	if (xfer(VE_DMA_VEMVA, TEST_VEPID, ro, VE_DMA_VHVA, me(), (uint64_t)dst, 4096, 0))
		return -1;
	CHECK(check_fill(dst, 4096, 5) < 0, "read-only page");
	munmap(src, len);
	munmap(dst, len);
	return 0;
}

/* page references are held while the request runs, dropped when it ends */
static int t_vemva_refs_held(void)
{
	char *src = vh_alloc(8192);

	CHECK(src, "mmap");
	fill(src, 8192, 9);
	stall();
	ve_dma_req_hdl *r = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)src, VE_DMA_VEMVA,
					     TEST_VEPID, VEMVA_BASE + 3 * PAGE2M - 4096, 8192);
	int held = atomic_load(&page_refs[2]) + atomic_load(&page_refs[3]);
	unstall();
	CHECK(r, "post: errno %d", errno);
	CHECK(held == 2, "references while running: %d, want 2", held);
	CHECK(ve_dma_wait(r) == VE_DMA_STATUS_OK, "wait");
	ve_dma_req_free(r);
	CHECK(atomic_load(&page_refs[2]) + atomic_load(&page_refs[3]) == 0, "references left");
	munmap(src, 8192);
	return 0;
}

/* VEMVA lists longer than the extents per kernel request: several kernel requests */
static int t_vemva_split(void)
{
	size_t len = 9 * PAGE2M;
	char *src = vh_alloc(len), *dst = vh_alloc(len);

	CHECK(src && dst, "mmap");
	setenv("VEDMA_TEST_MAX_EXTENTS", "2", 1);
	ve_dma_hdl *h = ve_dma_open_p(&vh);
	unsetenv("VEDMA_TEST_MAX_EXTENTS");
	CHECK(h, "open: errno %d", errno);
	fill(src, len, 11);
	memset(dst, 0, len);
	ve_dma_hdl *saved = hdl;
	hdl = h;
	int rc = xfer(VE_DMA_VHVA, me(), (uint64_t)src, VE_DMA_VEMVA, TEST_VEPID,
		      VEMVA_BASE + 8 * PAGE2M + 64, len, 0);
	if (!rc)
		rc = xfer(VE_DMA_VEMVA, TEST_VEPID, VEMVA_BASE + 8 * PAGE2M + 64, VE_DMA_VHVA, me(),
			  (uint64_t)dst, len, 0);
	hdl = saved;
	CHECK(ve_dma_close_p(h) == 0, "close");
	if (rc)
		return rc;
	CHECK(check_fill(dst, len, 11) < 0, "data through 5 kernel requests");
	munmap(src, len);
	munmap(dst, len);
	return 0;
}

static int t_vemaa_vemaa(void)
{
	size_t len = 256 << 10;
	char *src = vh_alloc(len), *dst = vh_alloc(len);

	CHECK(src && dst, "mmap");
	fill(src, len, 21);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)src, VE_DMA_VEMAA, 0, VEMAA_SCRATCH, len, 0))
		return -1;
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VEMAA, 0, VEMAA_SCRATCH + (8 << 20) + 8,
		 len, 0))
		return -1;
	memset(dst, 0, len);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH + (8 << 20) + 8, VE_DMA_VHVA, me(), (uint64_t)dst,
		 len, 0))
		return -1;
	CHECK(check_fill(dst, len, 21) < 0, "VE -> VE copy");
	munmap(src, len);
	munmap(dst, len);
	return 0;
}

static int t_veraa(void)
{
	/* the emulator's VE register space: 64 KiB */
	if (vh_roundtrip(VE1_DMA_VERAA, 0, 0x8000, 0x4000, 31, 0))
		return -1;
	if (vh_roundtrip(VE1_DMA_VERAA, 0, 0, 0x10000, 32, 0))
		return -1;
	char *b = vh_alloc(4096);
	errno = 0;
	CHECK(!ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE1_DMA_VERAA, 0, 0xF000,
				0x2000) && errno == EINVAL,
	      "VERAA beyond the register space: errno %d", errno);
	munmap(b, 4096);
	return 0;
}

/* the bus address of a locked page of ours, from /proc/self/pagemap */
static uint64_t bus_addr(void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, ((uint64_t)p / 4096) * 8) != 8)
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return (e & ((1ULL << 55) - 1)) * 4096 + ((uint64_t)p & 4095);
}

static int t_vhsaa(void)
{
	char *page = vh_alloc(4096);
	char *chk = vh_alloc(4096);

	CHECK(page && chk, "mmap");
	CHECK(mlock(page, 4096) == 0, "mlock");
	fill(page, 4096, 41);
	uint64_t bus = bus_addr(page);
	CHECK(bus, "no bus address in pagemap");
	/* VHSAA -> VEMAA, read back through VHVA */
	if (xfer(VE_DMA_VHSAA, 0, bus, VE_DMA_VEMAA, 0, VEMAA_SCRATCH, 4096, 0))
		return -1;
	memset(chk, 0, 4096);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHVA, me(), (uint64_t)chk, 4096, 0))
		return -1;
	CHECK(check_fill(chk, 4096, 41) < 0, "VHSAA -> VEMAA");
	/* VEMAA -> VHSAA */
	fill(chk, 4096, 42);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)chk, VE_DMA_VEMAA, 0, VEMAA_SCRATCH, 4096, 0))
		return -1;
	memset(page, 0, 4096);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHSAA, 0, bus, 4096, 0))
		return -1;
	CHECK(check_fill(page, 4096, 42) < 0, "VEMAA -> VHSAA");
	/* VEMVA -> VHSAA */
	fill(chk, 4096, 43);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)chk, VE_DMA_VEMVA, TEST_VEPID,
		 VEMVA_BASE + 7 * PAGE2M, 4096, 0))
		return -1;
	if (xfer(VE_DMA_VEMVA, TEST_VEPID, VEMVA_BASE + 7 * PAGE2M, VE_DMA_VHSAA, 0, bus, 4096, 0))
		return -1;
	CHECK(check_fill(page, 4096, 43) < 0, "VEMVA -> VHSAA");
	/* VHSAA -> VERAA, read back through VHVA */
	fill(page, 4096, 44);
	if (xfer(VE_DMA_VHSAA, 0, bus, VE1_DMA_VERAA, 0, 0x1000, 4096, 0))
		return -1;
	memset(chk, 0, 4096);
	if (xfer(VE1_DMA_VERAA, 0, 0x1000, VE_DMA_VHVA, me(), (uint64_t)chk, 4096, 0))
		return -1;
	CHECK(check_fill(chk, 4096, 44) < 0, "VHSAA -> VERAA");
	munlock(page, 4096);
	munmap(page, 4096);
	munmap(chk, 4096);
	return 0;
}

static int t_vhva_vhva(void)
{
	size_t len = 3 << 20;
	char *a = vh_alloc(len), *b = vh_alloc(len);
	int c2p[2], p2c[2];

	CHECK(a && b, "mmap");
	fill(a, len, 51);
	memset(b, 0, len);
	if (xfer(VE_DMA_VHVA, me(), (uint64_t)a, VE_DMA_VHVA, me(), (uint64_t)b, len, 0))
		return -1;
	CHECK(check_fill(b, len, 51) < 0, "VHVA -> VHVA in one process");
	/* from a child: its copy of a is filled differently */
	CHECK(pipe(c2p) == 0 && pipe(p2c) == 0, "pipe");
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		char x;

		fill(a, len, 52);
		memset(b, 0, len);
		if (write(c2p[1], "r", 1) != 1 || read(p2c[0], &x, 1) != 1)
			_exit(2);
		_exit(check_fill(b, len, 53) < 0 ? 0 : 1);
	}
	char x;
	CHECK(read(c2p[0], &x, 1) == 1, "child ready");
	int rc = xfer(VE_DMA_VHVA, c, (uint64_t)a, VE_DMA_VHVA, me(), (uint64_t)b, len, 0);
	if (!rc && check_fill(b, len, 52) >= 0) {
		fail(__FILE__, __LINE__, "VHVA(child) -> VHVA(self)");
		rc = -1;
	}
	/* and into the child */
	fill(a, len, 53);
	if (!rc)
		rc = xfer(VE_DMA_VHVA, me(), (uint64_t)a, VE_DMA_VHVA, c, (uint64_t)b, len, 0);
	if (write(p2c[1], "g", 1) != 1)
		rc = -1;
	int st;
	waitpid(c, &st, 0);
	close(c2p[0]);
	close(c2p[1]);
	close(p2c[0]);
	close(p2c[1]);
	if (rc)
		return rc;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "VHVA(self) -> VHVA(child): child says %d",
	      WEXITSTATUS(st));
	errno = 0;
	CHECK(!ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), 0x1000, VE_DMA_VHVA, me(), (uint64_t)b,
				4096) && errno == EFAULT,
	      "VHVA -> VHVA from unmapped memory: errno %d", errno);
	munmap(a, len);
	munmap(b, len);
	return 0;
}

static int t_errnos(void)
{
	char *b = vh_alloc(8192);
	struct {
		ve_dma_addrtype_t st;
		pid_t sp;
		uint64_t sa;
		ve_dma_addrtype_t dt;
		pid_t dp;
		uint64_t da;
		uint64_t len;
		int err;
		const char *what;
	} c[] = {
		{ 2, me(), (uint64_t)b + 4, 3, 0, 0, 8, EINVAL, "misaligned source" },
		{ 2, me(), (uint64_t)b, 3, 0, 4, 8, EINVAL, "misaligned destination" },
		{ 2, me(), (uint64_t)b, 3, 0, 0, 12, EINVAL, "misaligned length" },
		{ 2, me(), (uint64_t)b, 3, 0, 0, 0x7FFFFFFFFFFFFFF8ULL + 8, EINVAL, "too long" },
		{ 6, me(), (uint64_t)b, 3, 0, 0, 8, EINVAL, "unknown source type" },
		{ 2, me(), (uint64_t)b, 99, 0, 0, 8, EINVAL, "unknown destination type" },
		{ 5, 0, 0x1000, 2, me(), (uint64_t)b, 8, EINVAL, "VHSAA -> VHVA" },
		{ 0, TEST_VEPID, VEMVA_BASE, 3, 0, 0, 8, EINVAL, "VEMVA -> VEMAA" },
		{ 2, me(), (uint64_t)b, 0, 1, VEMVA_BASE, 8, ESRCH, "VEMVA of an unknown pid" },
		{ 2, me(), (uint64_t)b, 0, TEST_VEPID, VEMVA_BASE + VEMVA_PAGES * PAGE2M - 8, 16,
		  EFAULT, "VEMVA beyond the mapping" },
		{ 2, me(), (uint64_t)b, 0, TEST_VEPID, VEMVA_BASE + VEMVA_RO_PAGE * PAGE2M, 8, EACCES,
		  "VEMVA destination read-only" },
		{ 0, TEST_VEPID, VEMVA_BASE + VEMVA_NONE_PAGE * PAGE2M, 2, me(), (uint64_t)b, 8,
		  EACCES, "VEMVA source PROT_NONE" },
		{ 1, TEST_VEPID, VEMVA_BASE + VEMVA_NONE_PAGE * PAGE2M, 2, me(), (uint64_t)b, 8,
		  EACCES, "VEMVA_WO_PROT_CHECK source PROT_NONE" },
		{ 2, 999999, (uint64_t)b, 3, 0, 0, 8, ESRCH, "VHVA of no process" },
		{ 2, me(), 0x1000, 3, 0, 0, 8, EFAULT, "VHVA unmapped" },
		{ 2, me(), (uint64_t)b, 3, 0, 1ULL << 47, 8, EINVAL, "VEMAA beyond VE memory" },
	};

	CHECK(b, "mmap");
	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		errno = 0;
		ve_dma_req_hdl *r = ve_dma_post_p_va(hdl, c[i].st, c[i].sp, c[i].sa, c[i].dt,
						     c[i].dp, c[i].da, c[i].len);
		int e = errno;
		if (r) {
			ve_dma_wait(r);
			ve_dma_req_free(r);
		}
		CHECK(!r && e == c[i].err, "%s: %s, errno %d, want %d", c[i].what,
		      r ? "posted" : "NULL", e, c[i].err);
		CHECK(ve_dma_xfer_p_va(hdl, c[i].st, c[i].sp, c[i].sa, c[i].dt, c[i].dp, c[i].da,
				       c[i].len) == VE_DMA_STATUS_ERROR,
		      "%s: xfer_p_va", c[i].what);
	}
	CHECK(ve_dma_test(NULL) == VE_DMA_STATUS_ERROR, "test(NULL)");
	CHECK(ve_dma_wait(NULL) == VE_DMA_STATUS_ERROR, "wait(NULL)");
	CHECK(ve_dma_req_free(NULL) == 0, "free(NULL)");
	errno = 0;
	CHECK(!ve_dma_post_p_va(NULL, 2, me(), (uint64_t)b, 3, 0, 0, 8) && errno == EINVAL,
	      "post(NULL handle)");
	munmap(b, 8192);
	return 0;
}

static int t_timedwait(void)
{
	char *b = vh_alloc(4096);
	struct timespec t;

	CHECK(b, "mmap");
	fill(b, 4096, 61);
	stall();
	ve_dma_req_hdl *r = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMAA, 0,
					     VEMAA_SCRATCH, 4096);
	if (!r)
		unstall();
	CHECK(r, "post: errno %d", errno);
	deadline_in(&t, 200);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ve_dma_status_t s = ve_dma_timedwait(r, &t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ve_dma_status_t s2 = ve_dma_test(r);
	int busy = ve_dma_is_busy(hdl);
	int closed = ve_dma_close_p(hdl);
	deadline_in(&t, -1000);
	ve_dma_status_t s3 = ve_dma_timedwait(r, &t);
	unstall();
	ve_dma_status_t s4 = ve_dma_wait(r);
	ve_dma_req_free(r);
	CHECK(s == VE_DMA_STATUS_TIMEDOUT, "timedwait: %s", st_name(s));
	CHECK(ms >= 190 && ms < 2000, "timedwait returned after %ld ms, deadline 200", ms);
	CHECK(s2 == VE_DMA_STATUS_NOT_FINISHED, "test while stalled: %s", st_name(s2));
	CHECK(busy == 1, "is_busy while stalled: %d", busy);
	CHECK(closed == -EBUSY, "close while busy: %d", closed);
	CHECK(s3 == VE_DMA_STATUS_TIMEDOUT, "timedwait, deadline passed: %s", st_name(s3));
	CHECK(s4 == VE_DMA_STATUS_OK, "wait after the stall: %s", st_name(s4));
	CHECK(ve_dma_is_busy(hdl) == 0, "is_busy after");
	memset(b, 0, 4096);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHVA, me(), (uint64_t)b, 4096, 0))
		return -1;
	CHECK(check_fill(b, 4096, 61) < 0, "data after the stall");
	munmap(b, 4096);
	return 0;
}

static int t_terminate_all(void)
{
	enum { N = 12 };
	size_t len = 1 << 20;
	char *b = vh_alloc(N * len);
	ve_dma_req_hdl *r[N];

	CHECK(b, "mmap");
	fill(b, N * len, 71);
	/* stalled: every request is out and cancelled */
	stall();
	for (int i = 0; i < N; i++) {
		r[i] = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b + i * 4096, VE_DMA_VEMAA,
					0, VEMAA_SCRATCH + i * 4096, 4096);
		if (!r[i]) {
			unstall();
			CHECK(0, "post %d: errno %d", i, errno);
		}
	}
	/* one on the VEMVA path, holding page references */
	ve_dma_req_hdl *rv = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMVA,
					      TEST_VEPID, VEMVA_BASE, 4096);
	ve_dma_terminate_all(hdl);
	int busy = ve_dma_is_busy(hdl);
	unstall();
	CHECK(rv, "post VEMVA: errno %d", errno);
	for (int i = 0; i < N; i++) {
		CHECK(ve_dma_test(r[i]) == VE_DMA_STATUS_CANCELED, "request %d: %s", i,
		      st_name(ve_dma_test(r[i])));
		CHECK(ve_dma_wait(r[i]) == VE_DMA_STATUS_CANCELED, "wait %d", i);
		ve_dma_req_free(r[i]);
	}
	CHECK(ve_dma_wait(rv) == VE_DMA_STATUS_CANCELED, "VEMVA request");
	ve_dma_req_free(rv);
	CHECK(busy == 0, "busy after terminate_all");
	CHECK(atomic_load(&page_refs[0]) == 0, "page references after terminate_all");
	/* running: big transfers, each OK or CANCELED, and the engine usable afterwards */
	for (int i = 0; i < 4; i++) {
		r[i] = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMAA, 0,
					VEMAA_SCRATCH + ((uint64_t)i << 24), N * len);
		CHECK(r[i], "post big %d: errno %d", i, errno);
	}
	ve_dma_terminate_all(hdl);
	int canceled = 0;
	for (int i = 0; i < 4; i++) {
		ve_dma_status_t s = ve_dma_wait(r[i]);
		CHECK(s == VE_DMA_STATUS_OK || s == VE_DMA_STATUS_CANCELED, "big %d: %s", i,
		      st_name(s));
		canceled += s == VE_DMA_STATUS_CANCELED;
		ve_dma_req_free(r[i]);
	}
	printf("# terminate_all while running: %d of 4 cancelled\n", canceled);
	if (vh_roundtrip(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, len, 72, 0))
		return -1;
	munmap(b, N * len);
	return 0;
}

/* many threads post at once, more than the kernel's 64 per file */
enum { THREADS = 8, PER_THREAD = 16 };
static char *mt_buf;
static atomic_int mt_posted, mt_failed;
static ve_dma_req_hdl *mt_req[THREADS][PER_THREAD];

static void *mt_poster(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t k = t * PER_THREAD + i;
		mt_req[t][i] = ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, me(),
							 (uint64_t)mt_buf + k * 4096, VE_DMA_VEMAA,
							 0, VEMAA_SCRATCH + k * 4096, 4096,
							 VE_DMA_OPT_SYNC, -1, NULL);
		if (mt_req[t][i])
			atomic_fetch_add(&mt_posted, 1);
		else
			atomic_fetch_add(&mt_failed, 1);
	}
	for (int i = 0; i < PER_THREAD; i++) {
		if (!mt_req[t][i])
			continue;
		if (ve_dma_wait(mt_req[t][i]) != VE_DMA_STATUS_OK)
			atomic_fetch_add(&mt_failed, 1);
		ve_dma_req_free(mt_req[t][i]);
	}
	return NULL;
}

static int t_threads(void)
{
	size_t len = THREADS * PER_THREAD * 4096;
	pthread_t th[THREADS];

	mt_buf = vh_alloc(len);
	CHECK(mt_buf, "mmap");
	for (int round = 0; round < 2; round++) {
		fill(mt_buf, len, 81 + round);
		atomic_store(&mt_posted, 0);
		atomic_store(&mt_failed, 0);
		if (round == 0)
			stall();
		for (long t = 0; t < THREADS; t++)
			pthread_create(&th[t], NULL, mt_poster, (void *)t);
		int posted = -1, busy = -1;
		if (round == 0) {
			usleep(300000);
			posted = atomic_load(&mt_posted);
			busy = ve_dma_is_busy(hdl);
			unstall();
		}
		for (int t = 0; t < THREADS; t++)
			pthread_join(th[t], NULL);
		if (round == 0) {
			printf("# stalled: %d of %d posts returned, the rest waited\n", posted,
			       THREADS * PER_THREAD);
			CHECK(posted >= 1 && posted <= 64, "posts out while stalled: %d", posted);
			CHECK(busy == 1, "is_busy");
		}
		CHECK(atomic_load(&mt_failed) == 0, "round %d: %d failed", round,
		      atomic_load(&mt_failed));
		CHECK(atomic_load(&mt_posted) == THREADS * PER_THREAD, "posted");
		char *chk = vh_alloc(len);
		CHECK(chk, "mmap");
		if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHVA, me(), (uint64_t)chk, len, 0))
			return -1;
		CHECK(check_fill(chk, len, 81 + round) < 0, "round %d: data", round);
		munmap(chk, len);
	}
	munmap(mt_buf, len);
	return 0;
}

/*
 * A pseudo process dies mid-transfer: its socket hangs up, its requests are cancelled. The test
 * kernel has no AF_UNIX, so the "socket" is the read end of a pipe whose write end the pseudo
 * process holds: it polls POLLHUP when the process is gone, as VEOS's socket polls POLLRDHUP.
 */
static int t_pseudo_killed(void)
{
	int sv[2];
	size_t len = 64 << 10;
	char *b = vh_alloc(len);

	CHECK(b, "mmap");
	CHECK(pipe(sv) == 0, "pipe");
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		close(sv[0]);
		fill(b, len, 91);
		if (write(sv[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sv[1]);
	char x;
	CHECK(read(sv[0], &x, 1) == 1, "child ready");
	stall();
	ve_dma_req_hdl *r = ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, c, (uint64_t)b,
						      VE_DMA_VEMAA, 0, VEMAA_SCRATCH, len,
						      VE_DMA_OPT_SYNC, sv[0], NULL);
	/* and one of another pseudo process, whose socket stays up */
	int sv2[2];
	CHECK(pipe(sv2) == 0, "pipe");
	fill(b, len, 92);
	ve_dma_req_hdl *r2 = ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, me(), (uint64_t)b,
						       VE_DMA_VEMAA, 0, VEMAA_SCRATCH + len, len,
						       VE_DMA_OPT_SYNC, sv2[0], NULL);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	struct timespec t;
	deadline_in(&t, 5000);
	ve_dma_status_t s = r ? ve_dma_timedwait(r, &t) : VE_DMA_STATUS_ERROR;
	ve_dma_status_t s2 = r2 ? ve_dma_test(r2) : VE_DMA_STATUS_ERROR;
	unstall();
	CHECK(r && r2, "post: errno %d", errno);
	CHECK(s == VE_DMA_STATUS_CANCELED, "dead pseudo process's request: %s", st_name(s));
	CHECK(s2 == VE_DMA_STATUS_NOT_FINISHED, "the other one: %s", st_name(s2));
	CHECK(ve_dma_wait(r2) == VE_DMA_STATUS_OK, "the other one finishes");
	ve_dma_req_free(r);
	ve_dma_req_free(r2);
	errno = 0;
	CHECK(!ve_dma_post_p_va(hdl, VE_DMA_VHVA, c, (uint64_t)b, VE_DMA_VEMAA, 0, VEMAA_SCRATCH,
				8) && errno == ESRCH,
	      "post from the dead process: errno %d", errno);
	memset(b, 0, len);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH + len, VE_DMA_VHVA, me(), (uint64_t)b, len, 0))
		return -1;
	CHECK(check_fill(b, len, 92) < 0, "the other one's data");
	close(sv[0]);
	close(sv2[0]);
	close(sv2[1]);
	munmap(b, len);
	return 0;
}

/* struct ve_ipc_sync: post waits while the process is swapped, counts the request */
static struct ve_ipc_sync ipc;
static char *ipc_buf;
static ve_dma_req_hdl *ipc_req;
static atomic_int ipc_posted;

static void *ipc_poster(void *arg)
{
	(void)arg;
	ipc_req = ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, me(), (uint64_t)ipc_buf,
					    VE_DMA_VEMAA, 0, VEMAA_SCRATCH, 4096, VE_DMA_OPT_SYNC,
					    -1, &ipc);
	atomic_store(&ipc_posted, 1);
	return NULL;
}

static int t_ipc_sync(void)
{
	pthread_t th;

	ipc_buf = vh_alloc(4096);
	CHECK(ipc_buf, "mmap");
	fill(ipc_buf, 4096, 95);
	pthread_mutex_init(&ipc.ref_lock, NULL);
	pthread_mutex_init(&ipc.swap_exclusion_lock, NULL);
	pthread_cond_init(&ipc.handling_request_cond, NULL);
	pthread_cond_init(&ipc.swapping_cond, NULL);
	ipc.ref_count = 3;
	ipc.swapping = 1;
	atomic_store(&ipc_puts, 0);
	pthread_create(&th, NULL, ipc_poster, NULL);
	usleep(200000);
	int early = atomic_load(&ipc_posted);
	stall();
	pthread_mutex_lock(&ipc.swap_exclusion_lock);
	ipc.swapping = 0;
	pthread_cond_broadcast(&ipc.swapping_cond);
	pthread_mutex_unlock(&ipc.swap_exclusion_lock);
	pthread_join(th, NULL);
	pthread_mutex_lock(&ipc.swap_exclusion_lock);
	int handling = ipc.handling_request;
	pthread_mutex_unlock(&ipc.swap_exclusion_lock);
	unstall();
	CHECK(!early, "post did not wait for the swap");
	CHECK(ipc_req, "post: errno %d", errno);
	CHECK(handling == 1, "handling_request while running: %d", handling);
	CHECK(ve_dma_wait(ipc_req) == VE_DMA_STATUS_OK, "wait");
	ve_dma_req_free(ipc_req);
	CHECK(ipc.handling_request == 0, "handling_request after: %d", ipc.handling_request);
	CHECK(atomic_load(&ipc_puts) == 1 && ipc.ref_count == 2, "ve_put_ipc_sync: %d calls",
	      atomic_load(&ipc_puts));
	/* a post that fails puts the reference too, and counts nothing */
	errno = 0;
	CHECK(!ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, me(), (uint64_t)ipc_buf + 4,
					 VE_DMA_VEMAA, 0, 0, 8, 0, -1, &ipc) && errno == EINVAL,
	      "misaligned post");
	CHECK(!ve_dma_post_p_va_with_opt(hdl, VE_DMA_VHVA, me(), (uint64_t)ipc_buf, VE_DMA_VEMVA,
					 1, VEMVA_BASE, 8, 0, -1, &ipc) && errno == ESRCH,
	      "untranslatable post");
	CHECK(atomic_load(&ipc_puts) == 3 && ipc.ref_count == 0 && ipc.handling_request == 0,
	      "after failed posts: %d puts, handling %d", atomic_load(&ipc_puts),
	      ipc.handling_request);
	memset(ipc_buf, 0, 4096);
	if (xfer(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, VE_DMA_VHVA, me(), (uint64_t)ipc_buf, 4096, 0))
		return -1;
	CHECK(check_fill(ipc_buf, 4096, 95) < 0, "data");
	munmap(ipc_buf, 4096);
	return 0;
}

/* a request freed while it runs is cancelled and its references dropped */
static int t_free_running(void)
{
	char *b = vh_alloc(4096);

	CHECK(b, "mmap");
	stall();
	ve_dma_req_hdl *r = ve_dma_post_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMVA,
					     TEST_VEPID, VEMVA_BASE + PAGE2M, 4096);
	if (r)
		ve_dma_req_free(r);
	unstall();
	CHECK(r, "post: errno %d", errno);
	for (int i = 0; i < 100 && ve_dma_is_busy(hdl); i++)
		usleep(10000);
	CHECK(!ve_dma_is_busy(hdl), "still busy");
	CHECK(atomic_load(&page_refs[1]) == 0, "references");
	munmap(b, 4096);
	return 0;
}

#define OFF_CNT_STARTED 0x138
#define OFF_CTL_EXC_AT 0x180

/* an engine exception fails the request (ERROR), others and later ones are unaffected */
static int t_exception(void)
{
	size_t len = 3 * PAGE2M;
	char *b = vh_alloc(len);

	CHECK(b, "mmap");
	fill(b, len, 97);
	/* the first descriptor started from now on fails */
	emu_block[OFF_CTL_EXC_AT / 8] = emu_block[OFF_CNT_STARTED / 8] + 1;
	__sync_synchronize();
	ve_dma_status_t s = ve_dma_xfer_p_va(hdl, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMAA, 0,
					     VEMAA_SCRATCH, 4096);
	emu_block[OFF_CTL_EXC_AT / 8] = 0;
	CHECK(s == VE_DMA_STATUS_ERROR, "exception: %s", st_name(s));
	/* a VEMVA request in several kernel requests, one of which fails: ERROR, references dropped */
	setenv("VEDMA_TEST_MAX_EXTENTS", "1", 1);
	ve_dma_hdl *h = ve_dma_open_p(&vh);
	unsetenv("VEDMA_TEST_MAX_EXTENTS");
	CHECK(h, "open: errno %d", errno);
	emu_block[OFF_CTL_EXC_AT / 8] = emu_block[OFF_CNT_STARTED / 8] + 1;
	__sync_synchronize();
	ve_dma_req_hdl *r = ve_dma_post_p_va(h, VE_DMA_VHVA, me(), (uint64_t)b, VE_DMA_VEMVA,
					     TEST_VEPID, VEMVA_BASE + 20 * PAGE2M, len);
	ve_dma_status_t s2 = r ? ve_dma_wait(r) : VE_DMA_STATUS_ERROR;
	emu_block[OFF_CTL_EXC_AT / 8] = 0;
	if (r)
		ve_dma_req_free(r);
	CHECK(ve_dma_close_p(h) == 0, "close");
	CHECK(r, "post: errno %d", errno);
	CHECK(s2 == VE_DMA_STATUS_ERROR, "split request with an exception: %s", st_name(s2));
	return vh_roundtrip(VE_DMA_VEMAA, 0, VEMAA_SCRATCH, 64 << 10, 98, 0);
}

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
	{ "open_close_errnos", t_open_close },
	{ "open_eperm", t_eperm },
	{ "vhva_vemaa", t_vhva_vemaa },
	{ "options_sync_ro_ido", t_options },
	{ "vhva_vemva", t_vemva },
	{ "vemva_refs_held_until_end", t_vemva_refs_held },
	{ "vemva_split_lists", t_vemva_split },
	{ "vemaa_vemaa", t_vemaa_vemaa },
	{ "veraa_vhva", t_veraa },
	{ "vhsaa", t_vhsaa },
	{ "vhva_vhva", t_vhva_vhva },
	{ "post_errnos", t_errnos },
	{ "timedwait_expiry_close_busy", t_timedwait },
	{ "terminate_all", t_terminate_all },
	{ "threads_over_64", t_threads },
	{ "pseudo_process_killed", t_pseudo_killed },
	{ "ipc_sync_swap_exclusion", t_ipc_sync },
	{ "free_while_running", t_free_running },
	{ "engine_exception_error", t_exception },
};

int main(void)
{
	unsigned int n = sizeof(tests) / sizeof(tests[0]), pass = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n# ve_dma_api_test\n1..%u\n", n);
	card_fd = open("/dev/ve0", O_RDWR);
	if (card_fd < 0 || map_emu() < 0) {
		printf("# open /dev/ve0 or the emulator's BAR2: %s\n", strerror(errno));
		for (unsigned int i = 0; i < n; i++)
			printf("not ok %u %s\n", i + 1, tests[i].name);
		printf("# Totals: pass:0 fail:%u xfail:0 xpass:0 skip:0 error:0\n", n);
		return 1;
	}
	vh.fd = card_fd;
	hdl = ve_dma_open_p(&vh);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t a0, r0, a1, r1;
		struct timespec t0, t1;

		failures_in_test = 0;
		fail_msg[0] = 0;
		pin_counters(&a0, &r0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = hdl ? tests[i].fn() : (fail(__FILE__, __LINE__, "ve_dma_open_p: %s",
						     strerror(errno)), -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		emu_block[OFF_CTL_STALL / 8] = 0;
		emu_block[OFF_CTL_EXC_AT / 8] = 0;
		if (hdl && ve_dma_is_busy(hdl)) {
			ve_dma_terminate_all(hdl);
			if (!rc)
				fail(__FILE__, __LINE__, "busy after the test"), rc = -1;
		}
		pin_counters(&a1, &r1);
		if (!rc && a1 - r1 != a0 - r0)
			fail(__FILE__, __LINE__, "pins: %lld still held",
			     (long long)((a1 - r1) - (a0 - r0))), rc = -1;
		for (unsigned int p = 0; p < VEMVA_PAGES; p++) {
			int left = atomic_exchange(&page_refs[p], 0);
			if (!rc && left)
				fail(__FILE__, __LINE__, "VE page %u: %d references left", p, left),
					rc = -1;
		}
		if (!rc && atomic_exchange(&ref_errors, 0))
			fail(__FILE__, __LINE__, "veos_put_page without a reference"), rc = -1;
		printf("# %s: %ld ms\n", tests[i].name,
		       (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (rc || failures_in_test) {
			printf("# %s\nnot ok %u %s\n", fail_msg, i + 1, tests[i].name);
			failed++;
		} else {
			printf("ok %u %s\n", i + 1, tests[i].name);
			pass++;
		}
	}
	if (hdl && ve_dma_close_p(hdl) != 0) {
		printf("# final ve_dma_close_p failed\n");
		failed++;
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n", pass, failed);
	return failed ? 1 : 0;
}
