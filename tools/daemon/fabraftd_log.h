/* fabraftd_log.h — the daemon's log sink: time-stamped lines on stderr. */
#ifndef FABRAFT_FABRAFTD_LOG_H
#define FABRAFT_FABRAFTD_LOG_H

#include <stdint.h>

/**
 * Send every library's fr_log() lines at @level (enum fr_log_level) and
 * more severe to stderr as
 *   "HH:MM:SS.mmm fabraftd[ID] LEVEL: [TAG: ]MESSAGE"
 * (UTC; the format operators and tests/e2e grep).  Call once, before
 * node_open() starts any thread.
 */
void fabraftd_log_start(uint32_t id, int level);

#endif /* FABRAFT_FABRAFTD_LOG_H */
