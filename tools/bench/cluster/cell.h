/* cell.h — running one cell of the cluster benchmark and
 * its progress line (cell.c, main.c). */
#ifndef FABRAFT_TOOLS_BENCH_CLUSTER_CELL_H
#define FABRAFT_TOOLS_BENCH_CLUSTER_CELL_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_cluster.h"

/* State of the progress line. */
struct bc_cell_ctx {
	int index;	     /* this cell, from 1 */
	int total;	     /* cells in the run */
	uint64_t run_t0;     /* when the run started (ns) */
	bool tty;	     /* stderr is a terminal: redraw one line */
	uint64_t last_ns;    /* previous progress update */
	uint64_t last_ops;   /* ops done then */
	uint64_t printed_ns; /* last line printed (non-tty) */
};

/** Run the cell r->spec (store started and stopped here; r filled).
 * @o, @root borrowed.  0, or -1 with r->error set. */
int bc_cell_run(const struct bc_opts *o, const char *root, struct bc_result *r,
		struct bc_cell_ctx *ctx);
/** Redraw the progress line for the running cell. */
void bc_cell_progress(struct bc_cell_ctx *ctx, const struct bc_load *ld,
		      uint64_t now_ns);

#endif /* FABRAFT_TOOLS_BENCH_CLUSTER_CELL_H */
