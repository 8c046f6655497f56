/* err.c — fr_strerror(), generated from the error table in err.h. */
#include "err.h"

const char *fr_strerror(int rv)
{
	switch (rv) {
	case FR_OK:
		return "success";
#define FR__ERR_CASE(code, str)                                                \
	case code:                                                             \
		return str;
		FR_ERR_MAP(FR__ERR_CASE)
#undef FR__ERR_CASE
	default:
		return "unknown error";
	}
}
