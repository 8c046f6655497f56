/* resp_listen.c — the listening socket: address parsing, bind, accept. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resp_int.h"

/* Accepts per resp_server_handle() call, so a connection storm cannot
 * starve the clients already connected. */
#define ACCEPT_BATCH 128
/* Redis' default tcp-backlog. */
#define LISTEN_BACKLOG 511

#define MSG_MAXCLIENTS "-ERR max number of clients reached\r\n"

/*
 * Split "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" into @host (empty =
 * any address) and @port.  Returns FR_INVALID with @errmsg on bad input.
 */
static int split_addr(const char *addr, char *host, size_t hostn, char *port,
		      size_t portn, char *errmsg)
{
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || colon[1] == '\0') {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "listen address '%s': expected HOST:PORT", addr);
		return FR_INVALID;
	}
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	} else if (memchr(h, ':', hl) != NULL) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "listen address '%s': put an IPv6 address in "
			 "brackets, e.g. [::1]:6379",
			 addr);
		return FR_INVALID;
	}
	if (hl == 1 && h[0] == '*') {
		hl = 0;
	}
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || p < 0 || p > 65535 || hl >= hostn ||
	    strlen(colon + 1) >= portn) {
		snprintf(errmsg, FR_ERRMSG_SIZE,
			 "listen address '%s': bad host or port", addr);
		return FR_INVALID;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portn, "%ld", p);
	return 0;
}

static int bind_one(const struct addrinfo *ai, bool any, char *errmsg)
{
	int fd = socket(ai->ai_family,
			ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	int zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 && any &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) !=
		 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int resp__listen(struct resp_server *s, const char *addr, char *errmsg)
{
	char host[256];
	char port[8];
	int rv =
	    split_addr(addr, host, sizeof(host), port, sizeof(port), errmsg);
	if (rv != 0) {
		return rv;
	}
	bool any = host[0] == '\0';
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res;
	int g = getaddrinfo(any ? NULL : host, port, &hints, &res);
	if (g != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "listen address '%s': %s",
			 addr, gai_strerror(g));
		return FR_INVALID;
	}
	/* For "any", bind the dual-stack IPv6 socket first: it takes IPv4
	 * too; otherwise the first address that binds wins. */
	int fd = -1;
	char why[FR_ERRMSG_SIZE] = "no address";
	for (int pass = 0; pass < 2 && fd < 0; pass++) {
		for (struct addrinfo *ai = res; ai != NULL && fd < 0;
		     ai = ai->ai_next) {
			bool v6 = ai->ai_family == AF_INET6;
			if (any && pass == 0 && !v6) {
				continue;
			}
			if (any && pass == 1 && v6) {
				continue;
			}
			fd = bind_one(ai, any, why);
		}
		if (!any) {
			break;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "listen on '%.100s': %.120s",
			 addr, why);
		return FR_IO;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(errmsg, FR_ERRMSG_SIZE, "getsockname: %s",
			 strerror(errno));
		close(fd);
		return FR_IO;
	}
	s->port = ntohs(ss.ss_family == AF_INET6
			    ? ((struct sockaddr_in6 *)&ss)->sin6_port
			    : ((struct sockaddr_in *)&ss)->sin_port);
	s->lfd = fd;
	return 0;
}

/* How long the listener rests when no descriptor is left even to shed a
 * connection: the level-triggered listener must not spin the loop. */
#define ACCEPT_PAUSE_MS 100u

void resp__accept_pause(struct resp_server *s)
{
	struct epoll_event ev = {.events = 0, .data.u64 = RESP__LISTENER_TAG};
	if (s->lfd < 0 || s->accept_resume_ms != 0) {
		return;
	}
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev) != 0) {
		resp__log(s, "epoll_ctl pause listener: %s", strerror(errno));
		return;
	}
	s->accept_resume_ms = resp__now_ms() + ACCEPT_PAUSE_MS;
	s->st.accept_pauses++;
}

void resp__accept_resume(struct resp_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = RESP__LISTENER_TAG};
	s->accept_resume_ms = 0;
	if (s->lfd >= 0 &&
	    epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev) != 0) {
		resp__log(s, "epoll_ctl resume listener: %s", strerror(errno));
	}
	if (s->spare_fd < 0) {
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

/* Out of fds: give the spare back, accept and drop the connection, take the
 * spare again.  Otherwise the level-triggered listener would spin.  Without
 * a spare (another part of the process took the last descriptor) the
 * listener pauses instead.  Returns whether accepting may go on. */
static bool shed_emfile(struct resp_server *s)
{
	if (s->spare_fd < 0) {
		resp__log_limited(s, RESP__RL_FDS,
				  "out of file descriptors; not accepting "
				  "for %u ms",
				  ACCEPT_PAUSE_MS);
		resp__accept_pause(s);
		return false;
	}
	close(s->spare_fd);
	int fd = accept(s->lfd, NULL, NULL);
	if (fd >= 0) {
		s->st.rejected_total++;
		(void)!send(fd, MSG_MAXCLIENTS, sizeof(MSG_MAXCLIENTS) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	resp__log_limited(s, RESP__RL_FDS,
			  "out of file descriptors; refused a connection");
	if (fd < 0 || s->spare_fd < 0) {
		resp__accept_pause(s);
		return false;
	}
	return true;
}

static void tune(int fd, int family)
{
	int one = 1;
	if (family == AF_INET || family == AF_INET6) {
		/* Replies are small and latency matters (Redis does this). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
				 sizeof(one));
	}
}

void resp__accept(struct resp_server *s)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO) {
				continue;
			}
			if (errno == EMFILE || errno == ENFILE) {
				if (shed_emfile(s)) {
					continue;
				}
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				resp__log(s, "accept: %s", strerror(errno));
			}
			return;
		}
		if (s->nfree == 0) {
			/* Best effort: the socket is new, its buffer empty. */
			(void)!send(fd, MSG_MAXCLIENTS,
				    sizeof(MSG_MAXCLIENTS) - 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			s->st.rejected_total++;
			continue;
		}
		tune(fd, ss.ss_family);
		char host[INET6_ADDRSTRLEN + 8] = "?";
		char serv[8] = "?";
		(void)getnameinfo((struct sockaddr *)&ss, sl, host,
				  sizeof(host), serv, sizeof(serv),
				  NI_NUMERICHOST | NI_NUMERICSERV);
		char addr[64];
		snprintf(addr, sizeof(addr), "%s:%s", host, serv);
		struct resp_conn *c;
		if (resp__conn_new(s, fd, addr, &c) != 0) {
			close(fd);
			s->st.rejected_total++;
		}
	}
}
