/* fabraft_secret.h — the cluster secret file, written alike by the CLI's
 * `fabraft cluster start` and the cluster benchmark
 * (tools/cli/fabraft_secret.c).
 */
#ifndef FABRAFT_TOOLS_SECRET_H
#define FABRAFT_TOOLS_SECRET_H

/** Write a fresh cluster secret to @path (borrowed): 32 bytes from
 * /dev/urandom as 64 hex digits and a newline (inside fab.h's
 * FAB_SECRET_BYTES_MIN..MAX), in a file only its owner
 * can read (0600), replacing any old one.  0, or -1 if /dev/urandom or
 * the file failed. */
int cl_secret_write(const char *path);

#endif /* FABRAFT_TOOLS_SECRET_H */
