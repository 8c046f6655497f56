/* node_vec.c — making room in the runtime's FIFO arrays (the read queue,
 * the pending records, the forward queue): reuse the popped front first,
 * then double the allocation, overflow-checked and bounded. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "heap.h"
#include "node_int.h"

void *node__fifo_reserve(void *arr, size_t size, size_t *head, size_t *n,
			 size_t *cap, size_t cap_first, size_t cap_max,
			 int *err)
{
	char *a = arr;
	size_t grown;

	assert(size > 0 && cap_first > 0 && *head <= *n && *n <= *cap);
	if (*n < *cap) {
		return arr;
	}
	if (*head > 0) { /* slide the live part down over the popped front */
		memmove(a, a + *head * size, (*n - *head) * size);
		*n -= *head;
		*head = 0;
		return arr;
	}
	grown = *cap == 0 ? cap_first : *cap * 2;
	/* Refused: past the caller's bound, or the count or the byte size
	 * would wrap around. */
	if (*cap > SIZE_MAX / 2 || grown > cap_max || grown > SIZE_MAX / size) {
		*err = FR_BUSY;
		return NULL;
	}
	a = fr_realloc(arr, grown * size);
	if (a == NULL) {
		*err = FR_NOMEM;
		return NULL;
	}
	*cap = grown;
	return a;
}
