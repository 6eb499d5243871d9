/*
 * real.h — the libc functions behind the shim's hooks, resolved once with
 * dlsym(RTLD_NEXT) (STYLE.md 10).  The shim's own libc calls go through
 * these, never through its own hooks.
 */
#ifndef NETSHIM_REAL_H
#define NETSHIM_REAL_H

#include <netdb.h>
#include <resolv.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct real_fns {
#define HOOK(name, ret, params, args) ret(*name) params;
#include "hooks.def"
#undef HOOK
	int resolved;
};

/* The table, resolved on first use (pthread_once). */
const struct real_fns *real(void);

#endif
