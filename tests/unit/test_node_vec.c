/* test_node_vec.c — node__fifo_reserve(), the runtime's one way to make
 * room in its FIFO arrays: it reuses the popped front before it
 * reallocates, doubles, keeps the live elements in order, and refuses
 * (array untouched) past its bound, on size overflow and without memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"
#include "node_int.h"

/* A FIFO of ints the way the runtime keeps its queues. */
struct fifo {
	int *a;	     /* the array (fr_realloc'd) */
	size_t head; /* first live element */
	size_t n;    /* one past the last */
	size_t cap;  /* allocated */
};

/* Push @v at the end of @f, at most @cap_max elements; the reserve's
 * result (0 or its error, @f untouched then). */
static int push(struct fifo *f, int v, size_t cap_max)
{
	int rv = 0;
	int *q = node__fifo_reserve(f->a, sizeof(*q), &f->head, &f->n, &f->cap,
				    4, cap_max, &rv);

	if (q == NULL) {
		assert_int_not_equal(rv, 0);
		return rv;
	}
	f->a = q;
	f->a[f->n++] = v;
	return 0;
}

/* Push 0, 1, ..., @count - 1 into an empty @f. */
static void fill(struct fifo *f, int count, size_t cap_max)
{
	memset(f, 0, sizeof(*f));
	for (int v = 0; v < count; v++) {
		assert_int_equal(push(f, v, cap_max), 0);
	}
}

static void grows_and_reuses_front(void **state)
{
	struct fifo f;

	(void)state;
	fill(&f, 4, 64);
	assert_int_equal(f.cap, 4); /* cap_first */
	f.head = 3;		    /* pop 0, 1, 2 */
	int *before = f.a;
	assert_int_equal(push(&f, 4, 64), 0);
	/* The front was reused: same array, live part [3, 4] slid down. */
	assert_ptr_equal(f.a, before);
	assert_int_equal(f.cap, 4);
	assert_int_equal(f.head, 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.a[0], 3);
	assert_int_equal(f.a[1], 4);
	for (int v = 5; v < 11; v++) {
		assert_int_equal(push(&f, v, 64), 0);
	}
	assert_int_equal(f.cap, 8); /* doubled once, then full again */
	assert_int_equal(f.n, 8);
	for (size_t i = 0; i < f.n; i++) {
		assert_int_equal(f.a[i], (int)i + 3);
	}
	assert_int_equal(push(&f, 11, 64), 0);
	assert_int_equal(f.cap, 16);
	fr_free(f.a);
}

static void refuses_past_bound_and_overflow(void **state)
{
	struct fifo f;
	size_t head = 0;
	size_t n = 1;
	size_t cap = 1;
	int rv = 0;

	(void)state;
	fill(&f, 8, 8);
	/* Full at the bound: refused, nothing moved or freed. */
	assert_int_equal(push(&f, 8, 8), FR_BUSY);
	assert_int_equal(f.cap, 8);
	assert_int_equal(f.n, 8);
	assert_int_equal(f.a[7], 7);
	/* Elements so large that twice the capacity in bytes wraps. */
	assert_null(node__fifo_reserve(f.a, SIZE_MAX / 2 + 1, &head, &n, &cap,
				       1, SIZE_MAX, &rv));
	assert_int_equal(rv, FR_BUSY);
	/* A capacity whose double does not fit in size_t. */
	n = cap = SIZE_MAX / 2 + 1;
	rv = 0;
	assert_null(
	    node__fifo_reserve(f.a, 1, &head, &n, &cap, 1, SIZE_MAX, &rv));
	assert_int_equal(rv, FR_BUSY);
	fr_free(f.a);
}

static void reports_no_memory(void **state)
{
	struct fifo f;

	(void)state;
	fill(&f, 4, 64);
	fr_heap_fault_config(0, 1);
	assert_int_equal(push(&f, 4, 64), FR_NOMEM);
	fr_heap_fault_config(-1, 0);
	/* The old array is intact and still the caller's. */
	assert_int_equal(f.cap, 4);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.a[3], 3);
	assert_int_equal(push(&f, 4, 64), 0);
	assert_int_equal(f.a[4], 4);
	fr_free(f.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grows_and_reuses_front),
	    cmocka_unit_test(refuses_past_bound_and_overflow),
	    cmocka_unit_test(reports_no_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
