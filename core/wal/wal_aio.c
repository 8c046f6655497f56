/* wal_aio.c — a batch and its tail slot written together with O_DIRECT:
 * one Linux native AIO submission, batch first (docs/storage.md "Tail
 * slot"). */
#include <errno.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wal_io.h"
#include "wal_private.h"

/*
 * Design notes
 * ============
 * Written one after the other, the slot's O_DIRECT write waits for the
 * device a second time per flush (fabraft-bench wal: clearly fewer
 * flushes per second).  Submitted together they are in flight at once. Ordering
 * for a process kill: io_submit() issues the iocbs in array order, the batch
 * first, and an AIO write once issued completes even if the process dies
 * (exit waits for in-flight AIO; nothing cancels a file write).  So a
 * kill -9 never leaves the slot without the batch before it; only a power
 * cut may (the accepted false positive).  io_uring is not used: it may
 * cancel a write it punted to a worker and had not started when the
 * process dies (the slot's write having gone through), and linking the
 * two makes them serial again.  Raw system calls: no library needed.
 */

void wal__aio_init(struct wal *w)
{
	aio_context_t ctx = 0;
	if (!w->direct) {
		return; /* buffered: the page cache already takes both */
	}
	if (syscall(SYS_io_setup, 2, &ctx) != 0) {
		fr_log(FR_LOG_WARN, "wal",
		       "io_setup: %s: each batch and its tail slot are written "
		       "one after the other (slower flushes)",
		       strerror(errno));
		return;
	}
	w->aio_ctx = (unsigned long)ctx;
}

void wal__aio_close(struct wal *w)
{
	if (w->aio_ctx != 0) {
		syscall(SYS_io_destroy, (aio_context_t)w->aio_ctx);
		w->aio_ctx = 0;
	}
}

static void iocb_set(struct iocb *cb, int fd, const void *buf, size_t len,
		     uint64_t off)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_PWRITE;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = len;
	cb->aio_offset = (int64_t)off;
}

/* Reap @n completions; a short write is finished with pwrite.
 * Returns the first error (an errno) or 0. */
static int aio_reap(struct wal *w, int fd, long n)
{
	struct io_event ev[2];
	int err = 0;
	long got = 0;
	while (got < n) {
		long r = syscall(SYS_io_getevents, (aio_context_t)w->aio_ctx,
				 n - got, n - got, ev + got, NULL);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return errno != 0 ? errno : EIO; /* cannot happen */
		}
		got += r;
	}
	for (long i = 0; i < n; i++) {
		const struct iocb *cb =
		    (const struct iocb *)(uintptr_t)ev[i].obj;
		if (ev[i].res < 0) {
			err = err != 0 ? err : (int)-ev[i].res;
		} else if ((uint64_t)ev[i].res < cb->aio_nbytes && err == 0) {
			uint64_t done = (uint64_t)ev[i].res;
			err = wal__pwrite_all(
			    fd, (const uint8_t *)(uintptr_t)cb->aio_buf + done,
			    cb->aio_nbytes - done,
			    (uint64_t)cb->aio_offset + done);
		}
	}
	return err;
}

int wal__write_with_slot(struct wal *w, int fd, const void *buf, size_t len,
			 uint64_t off)
{
	if (w->aio_ctx == 0) {
		int e = wal__pwrite_all(fd, buf, len, off);
		return e != 0 ? e
			      : wal__pwrite_all(fd, w->hdr_blk, WAL_BLOCK, 0);
	}
	struct iocb cbs[2], *p[2] = {&cbs[0], &cbs[1]};
	iocb_set(&cbs[0], fd, buf, len, off);
	iocb_set(&cbs[1], fd, w->hdr_blk, WAL_BLOCK, 0);
	long n = syscall(SYS_io_submit, (aio_context_t)w->aio_ctx, 2, p);
	if (n < 0 && errno != EAGAIN) {
		/* E.g. a file system without AIO support for O_DIRECT: not
		 * the log's failure, go on without AIO. */
		fr_log(FR_LOG_WARN, "wal",
		       "io_submit: %s: each batch and its tail slot are "
		       "written one after the other from now on",
		       strerror(errno));
		wal__aio_close(w);
	}
	if (n < 0) {
		n = 0; /* nothing issued: write them in order ourselves */
	}
	int e = n > 0 ? aio_reap(w, fd, n) : 0;
	/* Not issued by io_submit (n < 2): written here, after the batch. */
	if (e == 0 && n < 1) {
		e = wal__pwrite_all(fd, buf, len, off);
	}
	if (e == 0 && n < 2) {
		e = wal__pwrite_all(fd, w->hdr_blk, WAL_BLOCK, 0);
	}
	return e;
}
