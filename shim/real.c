/*
 * real.c — resolves the next definition of every hooked libc symbol once,
 * from the constructor and from every hook (pthread_once), and refuses a
 * symbol that resolves back into this library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "real.h"

static struct real_fns real_table;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
#define HOOK(name, ret, params, args)                                          \
	do {                                                                   \
		Dl_info self, found;                                           \
		void *sym = dlsym(RTLD_NEXT, #name);                           \
		if (sym && dladdr(sym, &found) && dladdr((void *)resolve, &self) && \
		    found.dli_fbase == self.dli_fbase)                         \
			sym = NULL; /* our own hook: never call it as "real" */ \
		real_table.name = (ret(*) params)sym;                          \
	} while (0);
#include "hooks.def"
#undef HOOK
	real_table.resolved = 1;
}

const struct real_fns *real(void)
{
	pthread_once(&real_once, resolve);
	return &real_table;
}
