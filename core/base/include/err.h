/* err.h — the one project-wide error enum (0 = success) and its strings. */
#ifndef FABRAFT_ERR_H
#define FABRAFT_ERR_H

/*
 * Every fallible function in fabraft returns int: 0 on success, or one of
 * these positive codes.  Each layer adds context to an errmsg buffer as the
 * error travels up; the code itself stays the same.  fabric/ converts
 * libfabric's negative -FI_E* codes at its boundary.
 *
 * One X-macro table generates both the enum and fr_strerror(), so the two
 * can never drift apart.
 */
#define FR_ERR_MAP(X)                                                          \
	X(FR_NOMEM, "out of memory")                                           \
	X(FR_INVALID, "invalid argument")                                      \
	X(FR_MALFORMED, "malformed input")                                     \
	X(FR_CORRUPT, "data corrupted (checksum mismatch)")                    \
	X(FR_NOTLEADER, "not the leader")                                      \
	X(FR_NOCONN, "no connection")                                          \
	X(FR_AGAIN, "resource temporarily unavailable")                        \
	X(FR_BUSY, "busy")                                                     \
	X(FR_TOOBIG, "too big")                                                \
	X(FR_NOSPACE, "no space left")                                         \
	X(FR_IO, "I/O error")                                                  \
	X(FR_NOTFOUND, "not found")                                            \
	X(FR_EXISTS, "already exists")                                         \
	X(FR_MISMATCH, "identity mismatch")                                    \
	X(FR_UNSUPPORTED, "not supported")                                     \
	X(FR_AUTH, "authentication failed")                                    \
	X(FR_STALE, "stale term or request")                                   \
	X(FR_SHUTDOWN, "shutting down")                                        \
	X(FR_TIMEOUT, "timed out")                                             \
	X(FR_FABRIC, "libfabric error")                                        \
	X(FR_UNKNOWN, "outcome unknown: the write may or may not have been "   \
		      "applied")                                               \
	X(FR_REFUSED, "refused by the server")

enum fr_err {
	FR_OK = 0,
#define FR__ERR_ENUM(code, str) code,
	FR_ERR_MAP(FR__ERR_ENUM)
#undef FR__ERR_ENUM
	    FR_ERR_NR /* number of codes + 1; not an error */
};

/** Human-readable text of an error code; never NULL. */
const char *fr_strerror(int rv);

/** Size of every errmsg buffer carried by long-lived objects. */
#define FR_ERRMSG_SIZE 256

#endif /* FABRAFT_ERR_H */
