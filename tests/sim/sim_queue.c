/* sim_queue.c — the simulator's event queue: a binary min-heap. */
#include <stdlib.h>

#include "sim_private.h"

static bool before(const struct sim_event *a, const struct sim_event *b)
{
	return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

void sim__push(struct sim *s, struct sim_event ev)
{
	ev.seq = s->seq++;
	s->q = sim__grow(s->q, &s->q_cap, s->q_n + 1, sizeof(*s->q));
	uint64_t i = s->q_n++;
	while (i > 0) {
		uint64_t p = (i - 1) / 2;
		if (!before(&ev, &s->q[p])) {
			break;
		}
		s->q[i] = s->q[p];
		i = p;
	}
	s->q[i] = ev;
	if (ev.type != SIM_TICK) {
		s->q_pending_io++;
	}
}

bool sim__pop(struct sim *s, struct sim_event *ev)
{
	if (s->q_n == 0) {
		return false;
	}
	*ev = s->q[0];
	struct sim_event last = s->q[--s->q_n];
	uint64_t i = 0;
	for (;;) {
		uint64_t l = 2 * i + 1;
		if (l >= s->q_n) {
			break;
		}
		uint64_t c = l + 1 < s->q_n && before(&s->q[l + 1], &s->q[l])
				 ? l + 1
				 : l;
		if (!before(&s->q[c], &last)) {
			break;
		}
		s->q[i] = s->q[c];
		i = c;
	}
	if (s->q_n > 0) {
		s->q[i] = last;
	}
	if (ev->type != SIM_TICK) {
		s->q_pending_io--;
	}
	return true;
}

void sim__queue_close(struct sim *s)
{
	for (uint64_t i = 0; i < s->q_n; i++) {
		if (s->q[i].type == SIM_DELIVER) {
			free(s->q[i].ptr);
		}
	}
	free(s->q);
	s->q = NULL;
	s->q_n = s->q_cap = 0;
}
