/*
 * real.h — the libc functions behind the shim's hooks, resolved once with
 * dlsym(RTLD_NEXT) (STYLE.md 10).  The shim's own libc calls go through
 * these, never through its own hooks.
 */
#ifndef NETSHIM_REAL_H
#define NETSHIM_REAL_H

struct real_fns {
#define HOOK(name, ret, params, args) ret(*name) params;
#include "hooks.def"
#undef HOOK
	int resolved;
};

/* The table, resolved on first use (pthread_once). */
const struct real_fns *real(void);

#endif
