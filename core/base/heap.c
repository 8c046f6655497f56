/* heap.c — default libc heap, the pluggable hook and fault injection. */
#include "heap.h"

#include <stdlib.h>

static void *default_malloc(void *data, size_t size)
{
	(void)data;
	return malloc(size);
}

static void *default_calloc(void *data, size_t n, size_t size)
{
	(void)data;
	return calloc(n, size);
}

static void *default_realloc(void *data, void *ptr, size_t size)
{
	(void)data;
	return realloc(ptr, size);
}

static void default_free(void *data, void *ptr)
{
	(void)data;
	free(ptr);
}

static const struct fr_heap default_heap = {
    .data = NULL,
    .malloc = default_malloc,
    .calloc = default_calloc,
    .realloc = default_realloc,
    .free = default_free,
};

static const struct fr_heap *heap = &default_heap;

/* Fault injection: fail when delay reaches 0, for `repeat` calls. */
static int fault_delay = -1;
static int fault_repeat;

void fr_heap_set(const struct fr_heap *h)
{
	heap = h != NULL ? h : &default_heap;
}

void fr_heap_fault_config(int delay, int repeat)
{
	fault_delay = delay;
	fault_repeat = repeat;
}

static int fault_tick(void)
{
	if (fault_delay < 0) {
		return 0;
	}
	if (fault_delay > 0) {
		fault_delay--;
		return 0;
	}
	if (fault_repeat > 0) {
		fault_repeat--;
		return 1;
	}
	fault_delay = -1;
	return 0;
}

void *fr_malloc(size_t size)
{
	if (fault_tick()) {
		return NULL;
	}
	return heap->malloc(heap->data, size);
}

void *fr_calloc(size_t n, size_t size)
{
	if (fault_tick()) {
		return NULL;
	}
	return heap->calloc(heap->data, n, size);
}

void *fr_realloc(void *ptr, size_t size)
{
	if (fault_tick()) {
		return NULL;
	}
	return heap->realloc(heap->data, ptr, size);
}

void fr_free(void *ptr)
{
	heap->free(heap->data, ptr);
}
