/*
 * handler: the reference points of the pager benchmark, and the client
 * workload every path runs.
 *
 *	handler mkfile PATH SIZE [STRIDE]
 *		writes the pattern file; with STRIDE it is sparse: one page of
 *		pattern at every multiple of STRIDE, holes between.
 *	handler warm FILE SIZE PATTERN PAGES CHUNK
 *		reads what a run will read, so every path starts from the
 *		same page cache.
 *	handler run MODE FILE SIZE PATTERN PAGES THREADS CHUNK
 *		MODE mmap: the kernel's own paging of the file;
 *		MODE read: pread(2) of the same bytes;
 *		MODE uffd: the minimal userfaultfd handler: one thread reads
 *		the fault events and answers each with UFFDIO_COPY of the
 *		CHUNK around it, from a pread of the file.  Nothing else.
 *		MODE uffd2: the same handler in a process of its own, as
 *		pagerd is: the scheduler places two processes differently.
 *	handler start N PROGRAM [ARG...]
 *		the median wall time of N runs of PROGRAM.
 *
 * PATTERN is seq (touch each page in order), back (in reverse order),
 * stride8 (every eighth page, then the ones after them), rand (in a
 * fixed random order) or read (copy every byte out, a megabyte at a time).  PAGES
 * pages are touched, spread evenly over SIZE.  run prints one line:
 * ns= faults= sum= hcpu= (the handler thread's CPU time) readns= copyns=
 * (the handler's time in pread and in UFFDIO_COPY).
 *
 * Built with -DLIB this is libtouch.so: bench_work alone, which the
 * benchmark calls on a map attached through pagerd, so that the toolkit's
 * clients run exactly this workload, in native code.
 *
 * Built with -DLIBPAGER and linked with libpager it is also a C client
 * of pagerd:
 *	handler run lib MAP SIZE PATTERN PAGES THREADS CHUNK
 *		attaches MAP with pager_attach(3) and runs the workload on it;
 *		faults= is 0 (pagerd counts them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef LIBPAGER
#include <pager.h>
#endif

enum { Page = 4096, Buf = 1 << 20 };
enum { Seq, Rand, Read, Back, Stride8 };

typedef struct Slice Slice;
struct Slice {
	char *base;	/* memory to touch, or nil to pread fd */
	int fd;
	int pattern;
	long *pages;	/* page numbers to touch */
	long npages;
	long off, len;	/* byte range to copy, for Read */
	int cpu;
	pthread_barrier_t *go;
	uint64_t sum;
	long t0, t1;	/* when this thread started and finished */
};

static long
nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void
fatal(char *what)
{
	fprintf(stderr, "handler: %s: %s\n", what, strerror(errno));
	exit(1);
}

int
patternof(char *s)
{
	if(strcmp(s, "seq") == 0)
		return Seq;
	if(strcmp(s, "rand") == 0)
		return Rand;
	if(strcmp(s, "read") == 0)
		return Read;
	if(strcmp(s, "back") == 0)
		return Back;
	if(strcmp(s, "stride8") == 0)
		return Stride8;
	fprintf(stderr, "handler: bad pattern %s\n", s);
	exit(1);
}

/*
 * The pages a run touches: n of them, evenly spread over size, in
 * order, in reverse (back), every eighth page and then the pages after
 * those (stride8: 0, 8, 16, ... 1, 9, 17, ...), or shuffled with a fixed
 * seed, so every path sees the same order.
 */
static long*
touchlist(long size, int pattern, long n)
{
	long i, j, k, t, stride, *p;
	uint64_t x;

	stride = size / Page / n;
	p = malloc(n * sizeof p[0]);
	for(i = 0; i < n; i++)
		p[i] = i * stride;
	if(pattern == Back)
		for(i = 0; i < n; i++)
			p[i] = (n - 1 - i) * stride;
	if(pattern == Stride8)
		for(i = 0, k = 0; k < 8; k++)
			for(j = k; j < n; j += 8)
				p[i++] = j * stride;
	if(pattern != Rand)
		return p;
	x = 0x2545f4914f6cdd1dULL;
	for(i = n - 1; i > 0; i--){
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		j = x % (i + 1);
		t = p[i]; p[i] = p[j]; p[j] = t;
	}
	return p;
}

/* One word of each page read, so every byte path is checked for sameness. */
static uint64_t
pagesum(char *b, long len)
{
	uint64_t s;
	long o;

	s = 0;
	for(o = 0; o < len; o += Page)
		s += *(volatile uint64_t*)(b + o);
	return s;
}

static void*
worker(void *v)
{
	Slice *s;
	cpu_set_t set;
	char *buf;
	long i, o, n;

	s = v;
	if(s->cpu >= 0){
		CPU_ZERO(&set);
		CPU_SET(s->cpu, &set);
		sched_setaffinity(0, sizeof set, &set);
	}
	buf = aligned_alloc(Page, Buf);
	memset(buf, 0, Buf);
	pthread_barrier_wait(s->go);
	s->t0 = nsec();
	if(s->pattern == Read){
		for(o = s->off; o < s->off + s->len; o += n){
			n = s->off + s->len - o;
			if(n > Buf)
				n = Buf;
			if(s->base != NULL)
				memcpy(buf, s->base + o, n);
			else if(pread(s->fd, buf, n, o) != n)
				fatal("pread");
			s->sum += pagesum(buf, n);
		}
	}else{
		for(i = 0; i < s->npages; i++){
			o = s->pages[i] * Page;
			if(s->base != NULL)
				s->sum += *(volatile uint64_t*)(s->base + o);
			else{
				if(pread(s->fd, buf, 8, o) != 8)
					fatal("pread");
				s->sum += *(uint64_t*)buf;
			}
		}
	}
	s->t1 = nsec();
	free(buf);
	return NULL;
}

/*
 * The workload: threads split the touch list (or the bytes, for Read)
 * into contiguous slices.  Timed from the first thread's start (after
 * all are ready) to the last one's end, by the threads themselves: the
 * caller may not run again until they are done.  cpu >= 0 pins every
 * thread there.
 * Returns nanoseconds; *sum is the checksum of what was read.
 */
long
bench_work(char *base, int fd, long size, int pattern, long npages, int threads, int cpu, uint64_t *sum)
{
	pthread_t *t;
	pthread_barrier_t go;
	Slice *s;
	long *pages, t0, t1;
	int i;

	pages = touchlist(size, pattern, npages);
	s = calloc(threads, sizeof s[0]);
	t = calloc(threads, sizeof t[0]);
	pthread_barrier_init(&go, NULL, threads + 1);
	for(i = 0; i < threads; i++){
		s[i].base = base;
		s[i].fd = fd;
		s[i].pattern = pattern;
		s[i].pages = pages + npages * i / threads;
		s[i].npages = npages * (i + 1) / threads - npages * i / threads;
		/* byte slices in whole megabytes, so chunks line up alike */
		s[i].off = size / Buf * i / threads * Buf;
		s[i].len = (i == threads - 1 ? size : size / Buf * (i + 1) / threads * Buf) - s[i].off;
		s[i].cpu = cpu;
		s[i].go = &go;
		pthread_create(&t[i], NULL, worker, &s[i]);
	}
	pthread_barrier_wait(&go);
	*sum = 0;
	t0 = -1;
	t1 = 0;
	for(i = 0; i < threads; i++){
		pthread_join(t[i], NULL);
		*sum += s[i].sum;
		if(t0 < 0 || s[i].t0 < t0)
			t0 = s[i].t0;
		if(s[i].t1 > t1)
			t1 = s[i].t1;
	}
	pthread_barrier_destroy(&go);
	free(pages);
	free(s);
	free(t);
	return t1 - t0;
}

#ifndef LIB

typedef struct Handler Handler;
struct Handler {
	int uffd, fd;
	char *base;
	long size, chunk;
	long faults;
	long readns, copyns;	/* time in pread and in UFFDIO_COPY */
};

/*
 * The minimal handler: block in read for events, answer each with the
 * aligned chunk around the fault.  A chunk already there (another
 * thread faulted in it too) fails with EEXIST; its threads are woken.
 */
static void*
handle(void *v)
{
	Handler *h;
	struct uffd_msg m[16];
	struct uffdio_copy c;
	struct uffdio_range r;
	char *buf;
	long off, len, got, n, i, t0, t1, t2;

	h = v;
	buf = aligned_alloc(Page, h->chunk);
	memset(buf, 0, h->chunk);
	for(;;){
		n = read(h->uffd, m, sizeof m);
		if(n < 0){
			if(errno == EINTR || errno == EAGAIN)
				continue;
			fatal("read userfaultfd");
		}
		for(i = 0; i < n / (long)sizeof m[0]; i++){
			if(m[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			__atomic_add_fetch(&h->faults, 1, __ATOMIC_RELAXED);
			off = (m[i].arg.pagefault.address - (uint64_t)h->base) & ~(h->chunk - 1);
			len = h->size - off < h->chunk ? h->size - off : h->chunk;
			t0 = nsec();
			got = pread(h->fd, buf, len, off);
			t1 = nsec();
			if(got < 0)
				fatal("pread");
			memset(buf + got, 0, len - got);
			c.dst = (uint64_t)h->base + off;
			c.src = (uint64_t)buf;
			c.len = len;
			c.mode = 0;
			c.copy = 0;
			if(ioctl(h->uffd, UFFDIO_COPY, &c) < 0 && errno == EEXIST){
				r.start = m[i].arg.pagefault.address & ~(uint64_t)(Page - 1);
				r.len = Page;
				ioctl(h->uffd, UFFDIO_WAKE, &r);
			}
			t2 = nsec();
			__atomic_add_fetch(&h->readns, t1 - t0, __ATOMIC_RELAXED);
			__atomic_add_fetch(&h->copyns, t2 - t1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static long
proccpu(int pid)
{
	char path[64];
	long ns;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if(f == NULL)
		return 0;
	if(fscanf(f, "%ld", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/* Registers the memfd mapping; the caller starts the handler. */
static char*
uffdmap(Handler *h)
{
	struct uffdio_api api;
	struct uffdio_register reg;
	int mfd;

	mfd = memfd_create("handler", MFD_CLOEXEC);
	if(mfd < 0 || ftruncate(mfd, h->size) < 0)
		fatal("memfd");
	h->base = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mfd, 0);
	if(h->base == MAP_FAILED)
		fatal("mmap memfd");
	h->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if(h->uffd < 0)
		fatal("userfaultfd");
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_MISSING_SHMEM;
	if(ioctl(h->uffd, UFFDIO_API, &api) < 0)
		fatal("UFFDIO_API");
	reg.range.start = (uint64_t)h->base;
	reg.range.len = h->size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if(ioctl(h->uffd, UFFDIO_REGISTER, &reg) < 0)
		fatal("UFFDIO_REGISTER");
	return h->base;
}

static long
threadcpu(pthread_t t)
{
	clockid_t c;
	struct timespec ts;

	if(pthread_getcpuclockid(t, &c) != 0 || clock_gettime(c, &ts) < 0)
		return 0;
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static long
minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int
run(char *mode, char *file, long size, int pattern, long npages, int threads, long chunk)
{
	Handler *h;
	pthread_t t;
	uint64_t sum;
	long ns, f0, c0, hcpu, faults;
	char *base;
	int fd, pid;

	fd = strcmp(mode, "lib") == 0 ? -1 : open(file, O_RDONLY | O_CLOEXEC);
	if(fd < 0 && strcmp(mode, "lib") != 0)
		fatal(file);
	hcpu = 0;
	faults = 0;
	/* shared, so that a handler process's counts are seen here */
	h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if(strcmp(mode, "mmap") == 0){
		base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if(base == MAP_FAILED)
			fatal("mmap");
		f0 = minflt();
		ns = bench_work(base, -1, size, pattern, npages, threads, -1, &sum);
		faults = minflt() - f0;
	}else if(strcmp(mode, "read") == 0){
		f0 = minflt();
		ns = bench_work(NULL, fd, size, pattern, npages, threads, -1, &sum);
		faults = minflt() - f0;
	}else if(strcmp(mode, "uffd") == 0 || strcmp(mode, "uffd2") == 0){
		h->fd = fd;
		h->size = size;
		h->chunk = chunk;
		base = uffdmap(h);
		pid = 0;
		if(strcmp(mode, "uffd2") == 0){
			pid = fork();
			if(pid < 0)
				fatal("fork");
			if(pid == 0){
				handle(h);
				_exit(0);
			}
			c0 = proccpu(pid);
		}else{
			pthread_create(&t, NULL, handle, h);
			c0 = threadcpu(t);
		}
		ns = bench_work(base, -1, size, pattern, npages, threads, -1, &sum);
		hcpu = (pid ? proccpu(pid) : threadcpu(t)) - c0;
		faults = __atomic_load_n(&h->faults, __ATOMIC_RELAXED);
		if(pid)
			kill(pid, SIGKILL);
#ifdef LIBPAGER
	}else if(strcmp(mode, "lib") == 0){
		base = pager_attach(file, PAGER_RO, NULL, NULL);
		if(base == NULL){
			fprintf(stderr, "handler: %s\n", pager_errstr());
			return 1;
		}
		ns = bench_work(base, -1, size, pattern, npages, threads, -1, &sum);
#endif
	}else{
		fprintf(stderr, "handler: bad mode %s\n", mode);
		return 1;
	}
	printf("ns=%ld faults=%ld sum=%lx hcpu=%ld readns=%ld copyns=%ld\n", ns, faults, (unsigned long)sum, hcpu,
		__atomic_load_n(&h->readns, __ATOMIC_RELAXED), __atomic_load_n(&h->copyns, __ATOMIC_RELAXED));
	fflush(stdout);
	_exit(0);	/* the handler thread stays blocked in read */
}

static int
mkfile(char *path, long size, long stride)
{
	uint64_t *b;
	long o, n, i;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if(fd < 0 || ftruncate(fd, size) < 0)
		fatal(path);
	b = malloc(Buf);
	n = stride == 0 ? Buf : Page;
	if(stride == 0)
		stride = Buf;
	for(o = 0; o < size; o += stride){
		for(i = 0; i < n / 8; i++)
			b[i] = (o + i * 8) ^ 0x9e3779b97f4a7c15ULL;
		if(pwrite(fd, b, n, o) != n)
			fatal("pwrite");
	}
	close(fd);
	return 0;
}

static int
warm(char *file, long size, int pattern, long npages, long chunk)
{
	char *buf;
	long *p, i, o;
	int fd;

	fd = open(file, O_RDONLY);
	if(fd < 0)
		fatal(file);
	buf = aligned_alloc(Page, chunk > Buf ? chunk : Buf);
	if(pattern == Read)
		for(o = 0; o < size; o += Buf)
			pread(fd, buf, Buf, o);
	else{
		p = touchlist(size, pattern, npages);
		for(i = 0; i < npages; i++)
			pread(fd, buf, chunk, p[i] * Page & ~(chunk - 1));
	}
	return 0;
}

static int
cmpl(const void *a, const void *b)
{
	long x = *(long*)a, y = *(long*)b;

	return x < y ? -1 : x > y;
}

static int
start(int n, char **argv)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	long *t, t0;
	pid_t pid;
	int i, st;

	t = calloc(n, sizeof t[0]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for(i = 0; i < n; i++){
		t0 = nsec();
		if(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
			fatal(argv[0]);
		if(waitpid(pid, &st, 0) < 0)
			fatal("waitpid");
		t[i] = nsec() - t0;
	}
	qsort(t, n, sizeof t[0], cmpl);
	printf("ns=%ld min=%ld status=%d\n", t[n / 2], t[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: handler mkfile PATH SIZE [STRIDE]\n"
		"       handler warm FILE SIZE PATTERN PAGES CHUNK\n"
		"       handler run mmap|read|uffd|uffd2|lib FILE SIZE PATTERN PAGES THREADS CHUNK\n"
		"       handler start N PROGRAM [ARG...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if(argc >= 4 && strcmp(argv[1], "mkfile") == 0)
		return mkfile(argv[2], atol(argv[3]), argc > 4 ? atol(argv[4]) : 0);
	if(argc == 7 && strcmp(argv[1], "warm") == 0)
		return warm(argv[2], atol(argv[3]), patternof(argv[4]), atol(argv[5]), atol(argv[6]));
	if(argc == 9 && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], atol(argv[4]), patternof(argv[5]), atol(argv[6]), atoi(argv[7]), atol(argv[8]));
	if(argc >= 4 && strcmp(argv[1], "start") == 0)
		return start(atoi(argv[2]), argv + 3);
	usage();
	return 2;
}

#endif
