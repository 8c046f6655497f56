/* bench_wal.c — `fabraft-bench wal`: entries/s and MB/s of the durable log
 * for several entry sizes and numbers of concurrent appenders, against a
 * raw pwrite+fdatasync loop measured in the same run. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_wal.h"
#include "heap.h"
#include "opt.h"
#include "trace.h"
#include "wal.h"

int bench_wal_main(int argc, char **argv);

#define MAX_LIST 8
/* Raw loops append into a freshly preallocated file, as the log appends
 * into freshly preallocated segments (each fdatasync then also persists the
 * extent conversion); they wrap around only past this size. */
#define RAW_FILE_BYTES (256ull << 20)
#define RAW_FILE_MAX   (4ull << 30)
/* Raw loops into zero-filled blocks (--raw-zeroed, and the same-work loop
 * when the log zero-fills its segments) use one file of this size. */
#define ZERO_FILE	"zero.bench"
#define ZERO_FILE_BYTES (64ull << 20)

struct bench_opts {
	const char *dir;	  /* scratch directory */
	double seconds;		  /* per measurement */
	uint32_t sizes[MAX_LIST]; /* entry payload bytes */
	uint32_t n_sizes;
	uint32_t appenders[MAX_LIST]; /* concurrent appenders */
	uint32_t n_appenders;
	int direct_io; /* enum wal_direct_io */
	uint32_t batch_wait_us;
	bool same_bytes; /* also run the equal-work raw loop */
	bool spin;	 /* keep one CPU busy while measuring */
	bool threads;	 /* run the thread mode (wal_append per thread) */
	bool async;	 /* run the async mode (wal_submit, one thread) */
	bool zero_fill;	 /* the log zero-fills spare segments (default) */
	uint32_t zero_fill_max; /* ... while batches average under this */
	bool raw_zeroed; /* the 1-fsync/entry loop too writes zeroed blocks */
};

struct result {
	double secs;
	uint64_t entries;
	uint64_t bytes; /* payload bytes */
	uint64_t fsyncs;
	uint64_t write_bytes; /* bytes passed to pwrite */
	uint64_t log_bytes;   /* bytes appended (records, headers included) */
	double io_secs;	      /* time inside the pwrite and fdatasync calls */
	double idle_secs;     /* the log's writer thread had nothing queued */
	uint64_t spares_unzeroed; /* spares the log only fallocated */
	bool zero_filling;	  /* at the end: the log zero-fills spares */
	uint64_t segs_prepared, segs_unprepared; /* new segments */
	bool direct;
	uint64_t *lat_ns; /* raw runs: each op's time, or NULL (in) */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The log sink: warnings and errors only (fr_log_set(..., FR_LOG_WARN)). */
static void quiet(void *ctx, int level, const char *tag, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "%s: %s\n", tag != NULL ? tag : "-", msg);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Remove a scratch directory tree (no shell involved). */
static void rm_dir(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT) {
		fprintf(stderr, "bench: cannot remove %s: %s\n", dir,
			strerror(errno));
	}
}

/*
 * Raw baseline: a loop of pwrite + fdatasync appending @len bytes per
 * operation to a preallocated file, for @seconds or @max_ops operations.  The
 * file is RAW_FILE_BYTES, or big enough for @max_ops appends (up to
 * RAW_FILE_MAX): offsets wrap only beyond that, since overwriting already
 * written blocks is cheaper than appending (no extent conversion).
 * Buffered: pwrite(@len) at the append offset.  With
 * @direct, the same byte stream written the way the log does it with
 * O_DIRECT: the aligned blocks covering the new bytes, rewriting the last
 * partial block of the previous write (this is the log's I/O pattern
 * without the log: the comparison for "same bytes and fsyncs").
 */
static int raw_run(const char *dir, uint32_t len, bool direct, bool zeroed,
		   double seconds, uint64_t max_ops, struct result *r)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir,
		 zeroed ? ZERO_FILE : "raw.bench");
	int fd = open(path,
		      O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0) |
			  (zeroed ? 0 : O_CREAT | O_TRUNC),
		      0644);
	uint64_t file_bytes = zeroed ? ZERO_FILE_BYTES : RAW_FILE_BYTES;
	if (zeroed) {
		if (fd < 0) {
			fprintf(stderr, "bench: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	} else if (max_ops != UINT64_MAX) {
		uint64_t need = 4096 + max_ops * ((uint64_t)len + 4096) + 8192;
		if (need > file_bytes) {
			file_bytes = need < RAW_FILE_MAX ? need : RAW_FILE_MAX;
		}
	}
	if (!zeroed &&
	    (fd < 0 || fallocate(fd, 0, 0, (off_t)file_bytes) != 0)) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t cap = (size_t)len + 2 * 4096;
	uint8_t *raw = fr_malloc(cap + 4096);
	if (raw == NULL) {
		close(fd);
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	uint8_t *buf = (uint8_t *)(((uintptr_t)raw + 4095) & ~(uintptr_t)4095);
	memset(buf, 0xab, cap);
	uint64_t off = 4096, ops = 0, written = 0;
	double t0 = now_s(), t = t0, io = 0;
	while (ops < max_ops && t - t0 < seconds) {
		if (off + cap > file_bytes) {
			off = 4096;
		}
		uint64_t start = direct ? off & ~(uint64_t)4095 : off;
		uint64_t end =
		    direct ? (off + len + 4095) & ~(uint64_t)4095 : off + len;
		size_t n = (size_t)(end - start);
		double t_io = now_s();
		if (pwrite(fd, buf, n, (off_t)start) != (ssize_t)n ||
		    fdatasync(fd) != 0) {
			fprintf(stderr, "bench: raw write: %s\n",
				strerror(errno));
			break;
		}
		t = now_s();
		io += t - t_io;
		if (r->lat_ns != NULL) {
			r->lat_ns[ops] = (uint64_t)((t - t_io) * 1e9);
		}
		off += len;
		written += n;
		ops++;
	}
	r->secs = now_s() - t0;
	r->io_secs = io;
	r->entries = ops;
	r->bytes = ops * len;
	r->fsyncs = ops;
	r->write_bytes = written;
	r->direct = direct;
	fr_free(raw);
	close(fd);
	if (!zeroed) {
		unlink(path);
	}
	return 0;
}

/* The zero-filled file of the raw loops that mirror a zero-filling log
 * (made once per row, not timed): every block written before use, as in
 * the log's spare segments; wrapping around rewrites written blocks, which
 * costs the same. */
static int zero_file_make(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, ZERO_FILE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint8_t *z = fr_calloc(1, 1u << 20);
	int rv = fd < 0 || z == NULL ||
		 fallocate(fd, 0, 0, (off_t)ZERO_FILE_BYTES) != 0;
	for (uint64_t off = 0; rv == 0 && off < ZERO_FILE_BYTES;
	     off += 1u << 20) {
		rv = pwrite(fd, z, 1u << 20, (off_t)off) != 1 << 20;
	}
	if (rv == 0 && fdatasync(fd) != 0) {
		rv = 1;
	}
	if (rv != 0) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
	}
	fr_free(z);
	if (fd >= 0) {
		close(fd);
	}
	return rv;
}

/*
 * Thread mode: @n appender threads, each calling wal_append() with one
 * entry in a loop.  The threads are created once per row and parked between
 * slices (so thread creation is not timed); a slice runs from releasing
 * them until every one has finished its last append and parked again.
 */
struct pool {
	struct wal *w;
	uint32_t len;
	uint32_t n;	 /* threads */
	uint32_t parked; /* threads waiting for go (under mu) */
	bool go;	 /* appenders may run (under mu, read atomically) */
	bool quit;	 /* threads exit (under mu) */
	atomic_bool run; /* mirror of go, read between appends */
	_Atomic uint64_t done; /* appends that returned 0 */
	_Atomic int rv;	       /* first append error */
	pthread_mutex_t mu;
	pthread_cond_t cv_go;	  /* appenders: go or quit changed */
	pthread_cond_t cv_parked; /* controller: parked changed */
};

static void *appender_main(void *arg)
{
	struct pool *p = arg;
	uint8_t *buf = fr_malloc(p->len ? p->len : 1);
	if (buf != NULL) {
		memset(buf, 0x5a, p->len);
	} else {
		atomic_store(&p->rv, FR_NOMEM);
	}
	struct raft_entry e = {
	    .term = 1, .index = 0, .type = 1, .len = p->len, .buf = buf};
	pthread_mutex_lock(&p->mu);
	for (;;) {
		p->parked++;
		pthread_cond_signal(&p->cv_parked);
		while (!p->go && !p->quit) {
			pthread_cond_wait(&p->cv_go, &p->mu);
		}
		if (p->quit) {
			break;
		}
		p->parked--;
		pthread_mutex_unlock(&p->mu);
		while (buf != NULL && atomic_load(&p->run)) {
			int rv = wal_append(p->w, &e, 1);
			if (rv != 0) {
				atomic_store(&p->rv, rv);
				atomic_store(&p->run, false);
				break;
			}
			atomic_fetch_add(&p->done, 1);
		}
		pthread_mutex_lock(&p->mu);
		while (p->go && !p->quit) {
			/* wait for the end of the slice (after an error) */
			pthread_cond_wait(&p->cv_go, &p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	fr_free(buf);
	return NULL;
}

static void result_add(struct result *a, const struct result *b);

/* Add to @r one slice of @secs in which @entries entries of @len bytes were
 * appended, the wal's counters going from @st0 to @st1. */
static void result_add_slice(struct result *r, double secs, uint64_t entries,
			     uint64_t len, const struct wal_stats *st0,
			     const struct wal_stats *st1)
{
	struct result x = {
	    .secs = secs,
	    .entries = entries,
	    .bytes = entries * len,
	    .fsyncs = st1->fsyncs - st0->fsyncs,
	    .write_bytes = st1->write_bytes - st0->write_bytes,
	    .log_bytes = st1->bytes - st0->bytes,
	    .segs_prepared = st1->segs_prepared - st0->segs_prepared,
	    .segs_unprepared = st1->segs_unprepared - st0->segs_unprepared,
	    .io_secs = (double)(st1->io_ns - st0->io_ns) / 1e9,
	    .idle_secs = (double)(st1->idle_ns - st0->idle_ns) / 1e9,
	    .spares_unzeroed = st1->spares_unzeroed - st0->spares_unzeroed,
	    .zero_filling = st1->zero_filling,
	};
	result_add(r, &x);
}

/* One thread-mode slice of @seconds; adds to @r. */
static int pool_slice(struct pool *p, double seconds, struct result *r)
{
	struct wal_stats st0, st1;
	uint64_t d0 = atomic_load(&p->done);
	wal_stats_get(p->w, &st0);
	struct timespec ts = {
	    (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	double t0 = now_s();
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->run, true);
	p->go = true;
	pthread_cond_broadcast(&p->cv_go);
	pthread_mutex_unlock(&p->mu);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->run, false);
	p->go = false;
	pthread_cond_broadcast(&p->cv_go);
	while (p->parked < p->n) {
		pthread_cond_wait(&p->cv_parked, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	double t1 = now_s();
	wal_stats_get(p->w, &st1);
	uint64_t d = atomic_load(&p->done) - d0;
	result_add_slice(r, t1 - t0, d, p->len, &st0, &st1);
	int rv = atomic_load(&p->rv);
	if (rv != 0) {
		fprintf(stderr, "bench: append failed: %s\n", fr_strerror(rv));
	}
	return rv != 0;
}

/* Start @n parked appender threads; returns the number started in *@got. */
static int pool_start(struct pool *p, pthread_t *th, struct wal *w,
		      uint32_t len, uint32_t n, uint32_t *got)
{
	*p = (struct pool){.w = w, .len = len, .n = 0};
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_go, NULL);
	pthread_cond_init(&p->cv_parked, NULL);
	for (*got = 0; *got < n; (*got)++) {
		if (pthread_create(&th[*got], NULL, appender_main, p) != 0) {
			fprintf(stderr, "bench: cannot start appender %u\n",
				*got);
			break;
		}
	}
	pthread_mutex_lock(&p->mu);
	p->n = *got;
	while (p->parked < p->n) {
		pthread_cond_wait(&p->cv_parked, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return *got == n ? 0 : 1;
}

static void pool_stop(struct pool *p, pthread_t *th, uint32_t got)
{
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv_go);
	pthread_mutex_unlock(&p->mu);
	for (uint32_t i = 0; i < got; i++) {
		pthread_join(th[i], NULL);
	}
	pthread_cond_destroy(&p->cv_go);
	pthread_cond_destroy(&p->cv_parked);
	pthread_mutex_destroy(&p->mu);
}

/*
 * Async mode: one thread drives @n logical appenders, each with exactly one
 * entry in flight, the way the daemon's event loop submits for its
 * clients: wal_submit() per entry (one call each, so per-call costs are
 * counted), then wait on wal_event_fd() and wal_durable(); every entry that
 * became durable lets its appender submit the next one.  At the end of the
 * slice no new entries are submitted and the slice lasts until all in
 * flight are durable.
 */
static int async_slice(struct wal *w, uint32_t len, uint32_t n, double seconds,
		       struct result *r)
{
	struct wal_stats st0, st1;
	uint8_t *buf = fr_malloc(len ? len : 1);
	if (buf == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	memset(buf, 0x5a, len);
	struct raft_entry e = {
	    .term = 1, .index = 0, .type = 1, .len = len, .buf = buf};
	raft_index durable, d;
	raft_term term;
	int efd = wal_event_fd(w), rv = wal_durable(w, &durable, &term);
	raft_index submitted = durable, first = durable;
	wal_stats_get(w, &st0);
	double t0 = now_s(), t = t0;
	uint64_t ready = n; /* appenders whose entry is durable */
	while (rv == 0) {
		if (t - t0 < seconds) {
			for (; ready > 0 && rv == 0; ready--) {
				rv = wal_submit(w, &e, 1);
				submitted++;
			}
		} else if (durable == submitted) {
			break;
		}
		if (rv != 0) {
			break;
		}
		struct pollfd pfd = {.fd = efd, .events = POLLIN};
		uint64_t v;
		int pr = poll(&pfd, 1, 1000);
		if ((pr < 0 && errno != EINTR) ||
		    (pr > 0 && read(efd, &v, sizeof(v)) < 0 &&
		     errno != EAGAIN)) {
			rv = FR_IO;
			break;
		}
		if (rv == 0 && (rv = wal_durable(w, &d, &term)) == 0) {
			ready += d - durable;
			durable = d;
		}
		t = now_s();
	}
	wal_stats_get(w, &st1);
	fr_free(buf);
	result_add_slice(r, t - t0, durable - first, len, &st0, &st1);
	if (rv != 0) {
		fprintf(stderr, "bench: submit failed: %s\n", fr_strerror(rv));
	}
	return rv != 0;
}

static int wal_start(const struct bench_opts *bo, struct wal **w, bool *direct)
{
	char dir[512], err[FR_ERRMSG_SIZE];
	struct wal_options o;
	struct wal_recovered rec;
	snprintf(dir, sizeof(dir), "%s/wal", bo->dir);
	rm_dir(dir);
	wal_options_default(&o, dir, 1, 1);
	o.direct_io = bo->direct_io;
	o.batch_wait_us = bo->batch_wait_us;
	o.zero_fill = bo->zero_fill;
	o.zero_fill_batch_max = bo->zero_fill_max;
	fr_log_set(quiet, NULL, FR_LOG_WARN);
	if (wal_open(w, &o, &rec, err) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	*direct = rec.direct_io;
	/* A running node has its spare segment ready long before it rolls
	 * into it; a fresh wal is still zero-filling its first one.  Measure
	 * the steady state: wait for it (up to 10 s) before the first
	 * append, which creates the first segment. */
	struct wal_stats st;
	for (int i = 0; i < 1000 && bo->zero_fill; i++) {
		wal_stats_get(*w, &st);
		if (st.spare_ready || st.spare_failures > 0) {
			break;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Add @b into @a. */
static void result_add(struct result *a, const struct result *b)
{
	a->secs += b->secs;
	a->entries += b->entries;
	a->bytes += b->bytes;
	a->fsyncs += b->fsyncs;
	a->write_bytes += b->write_bytes;
	a->log_bytes += b->log_bytes;
	a->segs_prepared += b->segs_prepared;
	a->segs_unprepared += b->segs_unprepared;
	a->io_secs += b->io_secs;
	a->idle_secs += b->idle_secs;
	a->spares_unzeroed += b->spares_unzeroed;
	a->zero_filling = b->zero_filling;
}

/* --spin: a thread that keeps one CPU busy.  On a VM an idle vCPU wakes up
 * late for I/O completions, which can dominate fdatasync latency; spinning
 * puts raw loop and log on the same footing. */
static atomic_bool spin_stop;

static void *spin_main(void *arg)
{
	(void)arg;
	volatile uint64_t x = 0;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
		x++;
	}
	return NULL;
}

/* --mode: bit 0 threads, bit 1 async. */
static const struct opt_choice modes[] = {
    {"threads", 1}, {"async", 2}, {"both", 3}, {NULL, 0}};
static const struct opt_choice io_modes[] = {{"auto", WAL_DIRECT_AUTO},
					     {"direct", WAL_DIRECT_ON},
					     {"buffered", WAL_DIRECT_OFF},
					     {NULL, 0}};

static const struct opt_cmd wal_cmd = {
    .prog = "fabraft-bench wal",
    .usage = "fabraft-bench wal [options]",
    .epilog = "Prints a markdown table: the log against a raw "
	      "pwrite+fdatasync loop\n(one fdatasync per entry, same "
	      "entry size), measured in the same run.\n",
};

/* opt_parse_main() into @bo: an exit code, or -1 to run. */
static int parse_args(int argc, char **argv, struct bench_opts *bo)
{
	int mode = 3;
	const struct opt opts[] = {
	    {"dir", OPT_STRING, &bo->dir, .arg = "DIR", .def = ".",
	     .help = "where to create the scratch directory "
		     "fabraft-bench-wal.<pid> (removed after)"},
	    {"seconds", OPT_DOUBLE, &bo->seconds, .dmin = 0, .dmax = 600,
	     .min_open = true, .arg = "S", .def = "2",
	     .help = "per measurement"},
	    {"sizes", OPT_LIST, bo->sizes, 1, RAFT_MAX_ENTRY_BYTES,
	     .size = MAX_LIST, .count = &bo->n_sizes, .def = "64,1024,16384",
	     .help = "entry bytes"},
	    {"appenders", OPT_LIST, bo->appenders, 1, 4096, .size = MAX_LIST,
	     .count = &bo->n_appenders, .def = "1,16,256",
	     .help = "concurrent appenders"},
	    {"io", OPT_ENUM, &bo->direct_io, .choices = io_modes, .def = "auto",
	     .help = "log I/O mode"},
	    {"batch-wait-us", OPT_UINT, &bo->batch_wait_us, 0, 1000000,
	     .def = "0", .help = "writer batch wait"},
	    {"mode", OPT_ENUM, &mode, .choices = modes, .def = "both",
	     .help =
		 "appenders as threads blocked in wal_append, or as logical "
		 "appenders of one thread using wal_submit and the event fd"},
	    {"no-same-work", OPT_NOFLAG, &bo->same_bytes,
	     .help = "skip the raw loop with the log's own batch sizes"},
	    {"spin", OPT_FLAG, &bo->spin,
	     .help = "keep one CPU busy during all measurements (VMs: idle "
		     "vCPUs wake up late for I/O completions)"},
	    {"no-zero-fill", OPT_NOFLAG, &bo->zero_fill,
	     .help = "the log makes segments with fallocate only (no "
		     "zero-filled spares); the same-work raw loop then appends "
		     "into fallocated space too"},
	    {"zero-fill-batch-max", OPT_UINT, &bo->zero_fill_max, 0, UINT32_MAX,
	     .def = "65536",
	     .help = "the log zero-fills a spare only while its batches "
		     "average under N bytes (0 = always)"},
	    {"raw-zeroed", OPT_FLAG, &bo->raw_zeroed,
	     .help = "the 1-fsync/entry raw loop appends into zero-filled "
		     "blocks (default: fallocated, like a naive log)"},
	};
	int rv;

	*bo = (struct bench_opts){.dir = ".",
				  .seconds = 2,
				  .sizes = {64, 1024, 16384},
				  .n_sizes = 3,
				  .appenders = {1, 16, 256},
				  .n_appenders = 3,
				  .same_bytes = true,
				  .zero_fill = true,
				  .zero_fill_max = WAL_ZERO_FILL_BATCH_MAX};
	rv = opt_parse_main(&wal_cmd, opts, OPT_COUNT(opts), argc, argv);
	bo->threads = (mode & 1) != 0;
	bo->async = (mode & 2) != 0;
	return rv;
}

/*
 * One row: the log with @n appenders of @len-byte entries (@async: logical
 * appenders of one thread, else threads).  The disk of a shared VM changes
 * speed from second to second, so the three loops are interleaved in
 * slices of SLICE_S: a raw one-fsync-per-entry loop, the log, and a raw
 * loop doing the same appends and fsyncs as that log slice did (the log's
 * I/O pattern without the log).
 */
#define SLICE_S 0.25

static int measure(const struct bench_opts *bo, uint32_t len, uint32_t n,
		   bool async)
{
	struct result raw = {0}, r = {0}, eq = {0};
	struct wal *w;
	struct pool pool;
	pthread_t *th = NULL;
	uint32_t got = 0;
	bool direct;
	bool zeroed = bo->zero_fill || bo->raw_zeroed;
	int rv = zeroed ? zero_file_make(bo->dir) : 0;
	if (rv != 0 || (rv = wal_start(bo, &w, &direct)) != 0) {
		return rv;
	}
	if (!async) {
		th = fr_malloc(n * sizeof(*th));
		rv = th == NULL ? 1 : pool_start(&pool, th, w, len, n, &got);
	}
	int slices = (int)(bo->seconds / SLICE_S + 0.5);
	for (int i = 0; i < (slices > 0 ? slices : 1) && rv == 0; i++) {
		struct result x = {0}, y = {0};
		if ((rv = raw_run(bo->dir, len, false, bo->raw_zeroed, SLICE_S,
				  UINT64_MAX, &x)) != 0) {
			break;
		}
		rv = async ? async_slice(w, len, n, SLICE_S, &y)
			   : pool_slice(&pool, SLICE_S, &y);
		if (rv != 0) {
			break;
		}
		result_add(&raw, &x);
		if (bo->same_bytes && y.fsyncs > 0) {
			struct result z = {0};
			uint32_t per = (uint32_t)(y.log_bytes / y.fsyncs);
			/* Into zeroed blocks if the log zero-fills its
			 * spares at this batch size, else fallocated. */
			rv = raw_run(bo->dir, per ? per : 1, direct,
				     bo->zero_fill && y.zero_filling, 1e9,
				     y.fsyncs, &z);
			result_add(&eq, &z);
		}
		result_add(&r, &y);
	}
	if (th != NULL) {
		pool_stop(&pool, th, got);
		fr_free(th);
	}
	wal_close(w);
	if (rv != 0 || r.fsyncs == 0) {
		return 1;
	}
	/* The difference split in two: time inside the same system calls
	 * (the disk: the log's batches, and what the spare preparer's
	 * zero-filling adds to each fdatasync) and time outside them (the
	 * log's own work: locking, hand-offs, checksums, copies). */
	char over[128] = "-";
	if (bo->same_bytes) {
		double own = (r.secs - r.io_secs) - (eq.secs - eq.io_secs);
		snprintf(over, sizeof(over),
			 "%.2f s vs %.2f s (%+.0f%%: in I/O calls %+.0f%%, "
			 "outside %+.1f%%, writer idle %.1f%%)",
			 r.secs, eq.secs, (r.secs / eq.secs - 1) * 100,
			 (r.io_secs - eq.io_secs) / eq.secs * 100,
			 own / eq.secs * 100, r.idle_secs / eq.secs * 100);
	}
	double eps = (double)r.entries / r.secs;
	double raw_eps = (double)raw.entries / raw.secs;
	printf("| %6u | %4u %-7s | %s | %9.0f | %8.2f | %6.0f | %6.1f | "
	       "%6.0f | %7.1fx | %s | %" PRIu64 "/%" PRIu64 " (%" PRIu64
	       " not zeroed) |\n",
	       len, n, async ? "async" : "threads",
	       direct ? "direct" : "buffered", eps,
	       (double)r.bytes / r.secs / 1e6, (double)r.fsyncs / r.secs,
	       (double)r.entries / (double)r.fsyncs, raw_eps, eps / raw_eps,
	       over, r.segs_prepared, r.segs_unprepared, r.spares_unzeroed);
	fflush(stdout);
	return 0;
}

int bench_wal_main(int argc, char **argv)
{
	struct bench_opts bo;
	int done = parse_args(argc, argv, &bo);
	if (done >= 0) {
		return done;
	}
	/* Work in a fresh directory of our own: it is removed at the end. */
	static char work[600];
	snprintf(work, sizeof(work), "%s/fabraft-bench-wal.%ld", bo.dir,
		 (long)getpid());
	bo.dir = work;
	if (mkdir(bo.dir, 0755) != 0) {
		fprintf(stderr, "bench: %s: %s\n", bo.dir, strerror(errno));
		return 1;
	}
	pthread_t spinner;
	if (bo.spin && pthread_create(&spinner, NULL, spin_main, NULL) != 0) {
		bo.spin = false;
		fprintf(stderr, "bench: --spin: cannot start a thread\n");
	}
	printf("<!-- log: %s; raw 1 fsync/entry loop into %s blocks -->\n\n",
	       bo.zero_fill ? "spare segments, zero-filled while batches are "
			      "small (--zero-fill-batch-max)"
			    : "fallocated segments (--no-zero-fill)",
	       bo.raw_zeroed ? "zero-filled" : "fallocated");
	printf("| entry B | appenders | log I/O | log entries/s | log MB/s | "
	       "fsyncs/s | entries/fsync | raw entries/s (1 fsync/entry) | "
	       "log/raw | log vs raw, same appends+fsyncs | new segments "
	       "from a spare/on the spot |\n"
	       "|---|---|---|---|---|---|---|---|---|---|---|\n");
	int rv = 0;
	for (uint32_t s = 0; s < bo.n_sizes && rv == 0; s++) {
		for (uint32_t k = 0; k < bo.n_appenders && rv == 0; k++) {
			if (bo.threads) {
				rv = measure(&bo, bo.sizes[s], bo.appenders[k],
					     false);
			}
			if (bo.async && rv == 0) {
				rv = measure(&bo, bo.sizes[s], bo.appenders[k],
					     true);
			}
		}
	}
	if (bo.spin) {
		atomic_store(&spin_stop, true);
		pthread_join(spinner, NULL);
	}
	rm_dir(bo.dir);
	return rv;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int bench_wal_raw_p50(const char *dir, uint32_t len, uint32_t ops,
		      double *p50_us, bool *direct)
{
	struct result r = {0};
	int rv;

	r.lat_ns = fr_malloc((size_t)ops * sizeof(*r.lat_ns));
	if (r.lat_ns == NULL || ops == 0) {
		fr_free(r.lat_ns);
		return 1;
	}
	/* Overwrites of written blocks, as the log's zero-filled spare
	 * segments take them (appending to fallocated blocks costs an extent
	 * conversion per fdatasync, which the log does not pay). */
	rv = zero_file_make(dir);
	if (rv == 0) {
		char path[512];

		/* O_DIRECT where it works, as the log's --io auto. */
		rv = raw_run(dir, len, true, true, 60.0, ops, &r);
		if (rv != 0) {
			rv = raw_run(dir, len, false, true, 60.0, ops, &r);
		}
		snprintf(path, sizeof(path), "%s/%s", dir, ZERO_FILE);
		unlink(path);
	}
	if (rv == 0 && r.entries > 0) {
		uint64_t mid = r.entries / 2;

		qsort(r.lat_ns, r.entries, sizeof(*r.lat_ns), cmp_u64);
		*p50_us = (double)r.lat_ns[mid] / 1e3;
		*direct = r.direct;
	}
	fr_free(r.lat_ns);
	return rv != 0 || r.entries == 0;
}
