/* thr.c — the client-thread driver shared by the RESP and the
 * HTTP load drivers: split the clients over ld->threads threads, start
 * them, run the window (bc_load_wait), join them and merge their counts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cluster.h"

/* Thread @i of the array @mem of @size-byte driver structs.  Through void *:
 * each struct begins with a struct bc_thr, and calloc aligns the array. */
static struct bc_thr *thr_at(void *mem, size_t size, int i)
{
	void *p = (char *)mem + (size_t)i * size;

	return p;
}

/* Add one thread's counts to the cell's.  Only the calling thread merges,
 * after the join, so no lock is needed. */
static void merge(struct bc_result *dst, const struct bc_result *src)
{
	for (int k = 0; k < BC_CLASSES; k++) {
		dst->ops[k] += src->ops[k];
		bc_hist_merge(&dst->lat_cls[k], &src->lat_cls[k]);
	}
	bc_hist_merge(&dst->lat, &src->lat);
	dst->errors += src->errors;
	dst->retries += src->retries;
	dst->misses += src->misses;
	dst->client_bytes += src->client_bytes;
	dst->new_connections += src->new_connections;
	if (dst->error[0] == '\0' && src->error[0] != '\0') {
		memcpy(dst->error, src->error, sizeof(dst->error));
	}
}

int bc_run_threads(struct bc_load *ld, const struct bc_thr_ops *ops)
{
	int nt = ld->threads;
	void *mem = calloc((size_t)nt, ops->size);
	pthread_t *tid = calloc((size_t)nt, sizeof(*tid));
	int per = ld->spec->clients / nt;
	int extra = ld->spec->clients % nt;
	int first = 0;
	int started = 0;
	int rv = 0;

	if (mem == NULL || tid == NULL) {
		free(mem);
		free(tid);
		snprintf(ld->res->error, sizeof(ld->res->error), "no memory");
		return -1;
	}
	for (int i = 0; i < nt && rv == 0; i++) {
		struct bc_thr *t = thr_at(mem, ops->size, i);

		t->ld = ld;
		t->index = i;
		t->first = first;
		t->n = per + (i < extra);
		first += t->n;
		rv = ops->init(t);
	}
	for (int i = 0; rv == 0 && i < nt; i++) {
		if (pthread_create(&tid[i], NULL, ops->main,
				   thr_at(mem, ops->size, i)) != 0) {
			rv = -1;
			break;
		}
		started++;
	}
	if (started == nt) {
		bc_load_wait(ld);
	}
	for (int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		merge(ld->res, &thr_at(mem, ops->size, i)->r);
	}
	for (int i = 0; i < nt; i++) {
		ops->fini(thr_at(mem, ops->size, i));
	}
	free(mem);
	free(tid);
	if (rv != 0) {
		snprintf(ld->res->error, sizeof(ld->res->error), "%s",
			 ops->setup_error);
	}
	return rv;
}
