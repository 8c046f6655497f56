/* heap.h — the pluggable allocator every fabraft module allocates through. */
#ifndef FABRAFT_HEAP_H
#define FABRAFT_HEAP_H

#include <stddef.h>

/*
 * All allocation goes through fr_malloc()/fr_free() so tests can inject
 * failures at every call site (STYLE §4).  The default heap is libc's.  The
 * heap is the one piece of process-wide state the pure libraries touch; it is
 * set once at start-up (or by a test) and never changes under a running core.
 */
struct fr_heap {
	void *data;				  /* for the hooks */
	void *(*malloc)(void *data, size_t size); /* may return NULL */
	void *(*calloc)(void *data, size_t n,
			size_t size); /* may return NULL */
	void *(*realloc)(void *data, void *ptr, size_t size);
	void (*free)(void *data, void *ptr);
};

/** Replace the heap; NULL restores the default.  @heap is borrowed for as
 * long as it is installed. */
void fr_heap_set(const struct fr_heap *heap);

void *fr_malloc(size_t size);
void *fr_calloc(size_t n, size_t size);
void *fr_realloc(void *ptr, size_t size);
void fr_free(void *ptr);

/**
 * Test helper: make the @delay-th next allocation (0 = the next one) and the
 * following @repeat - 1 ones fail.  Counts down across fr_malloc, fr_calloc
 * and fr_realloc.  fr_heap_fault_config(-1, 0) disables it.
 */
void fr_heap_fault_config(int delay, int repeat);

#endif /* FABRAFT_HEAP_H */
