/*
 * sock.h — the socket layer's entry points for the shim's own use (the DNS
 * client in names.c).  They run the same code as the hooks of the same
 * name and behave like the libc calls: -1 with errno set on error.  The
 * descriptors they return are ordinary netshim sockets (a kernel AF_UNIX
 * descriptor the kernel can poll; close them with shim_close).
 */
#ifndef NETSHIM_SOCK_H
#define NETSHIM_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"

int shim_socket(int domain, int type, int protocol);
int shim_connect(int fd, const struct sockaddr *sa, socklen_t len);
ssize_t shim_sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *to, socklen_t tolen);
ssize_t shim_recvfrom(int fd, void *buf, size_t len, int flags,
		      struct sockaddr *from, socklen_t *fromlen);
int shim_close(int fd);

/* The configuration read at load (never NULL once the library is loaded). */
const struct shim_config *shim_cfg(void);
/* Whether the stack has a non-loopback address of family (AF_INET or
 * AF_INET6) configured: AI_ADDRCONFIG. */
bool shim_has_addr(int family);
/* The stack's interfaces and their addresses, under the engine lock
 * (stack_if_list); 0 interfaces when this process has no stack. */
int shim_if_list(struct stack_if_info *out, int max);
/* Interface ioctls on a netshim socket (ifaces.c): which, and the answer. */
bool shim_if_ioctl_handles(unsigned long req);
int shim_if_ioctl(int fd, unsigned long req, void *arg);
/* Whether this process has a working stack (false in a descendant that
 * was refused the network, see README "Processes"). */
bool shim_network_ok(void);

#endif
