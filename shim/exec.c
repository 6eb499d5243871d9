/*
 * exec.c — the exec family: execve and every libc entry point that runs
 * a program (execv*, execl*, fexecve, execveat, posix_spawn*, system,
 * popen).  The constructor (engine.c) calls shim_exec_capture() once it
 * has set its variables; each hook then hands the new program an
 * environment with LD_PRELOAD naming this library and every NETSHIM_*
 * variable the process loaded with, added where the program left them
 * out (its own values win), and calls libc's own.  A program that strips
 * them (`env -i`, clearenv, an explicit envp) thus never runs a child on
 * the host's network behind netshim's back.  glibc's exec helpers call
 * the kernel's execve directly, so each entry point is hooked.
 *
 * A hook may run in a vfork child, which shares the parent's memory: no
 * allocation, no lock, nothing written outside the hook's own stack —
 * the captured strings are read-only after the constructor (and
 * eng_before_exec does nothing there: its pid is not the owner's).  An
 * owner whose sockets or clients would outlive its image hands the
 * session to a keeper first (engine.c), and the new image joins it.  system and
 * popen (never in a vfork child) prefix the command with the shell
 * assignments instead, since their environment is the process's own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "real.h"

extern char **environ;

#define KEEP_MAX 32	 /* NETSHIM_* variables kept */
#define KEEP_BYTES 16384 /* their text */
#define ARGS_MAX 4096	 /* execl*: arguments at most */

static struct {
	bool on;
	char preload[PATH_MAX + 16]; /* "LD_PRELOAD=<this library>" */
	size_t lib_len;		     /* of the path alone */
	char *keep[KEEP_MAX];	     /* "NETSHIM_X=value", in text */
	size_t nkeep;
	char text[KEEP_BYTES];
} X;

static const char *lib_path(void)
{
	return X.preload + sizeof("LD_PRELOAD=") - 1;
}

void shim_exec_capture(void)
{
	Dl_info di;
	char path[PATH_MAX];
	size_t used = 0;

	if (!dladdr((void *)shim_exec_capture, &di) || !di.dli_fname ||
	    !realpath(di.dli_fname, path))
		return; /* nothing to put back: exec passes environments as they are */
	snprintf(X.preload, sizeof(X.preload), "LD_PRELOAD=%s", path);
	X.lib_len = strlen(path);
	for (char **e = environ; e && *e; e++) {
		size_t n = strlen(*e) + 1;

		if (strncmp(*e, "NETSHIM_", 8) || !strchr(*e, '='))
			continue;
		if (X.nkeep == KEEP_MAX || used + n > sizeof(X.text)) {
			shim_log(SHIM_LOG_WARN, "exec: too many NETSHIM_* variables; %s and later "
						"ones are not put back for new programs", *e);
			break;
		}
		memcpy(X.text + used, *e, n);
		X.keep[X.nkeep++] = X.text + used;
		used += n;
	}
	X.on = true;
}

/* Length of the name part of "NAME=value" (the whole string if no '='). */
static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool same_name(const char *a, const char *b)
{
	size_t n = name_len(a);

	return n == name_len(b) && !strncmp(a, b, n);
}

/* Does the value of an LD_PRELOAD entry name this library?  Its list is
 * separated by spaces or colons (ld.so(8)). */
static bool preload_has_lib(const char *entry)
{
	const char *p = entry + sizeof("LD_PRELOAD=") - 1, *lib = lib_path();

	while (*p) {
		size_t n = strcspn(p, " :");

		if (n == X.lib_len && !strncmp(p, lib, n))
			return true;
		p += n;
		p += strspn(p, " :");
	}
	return false;
}

static bool env_has(char *const envp[], size_t n, const char *kv)
{
	for (size_t i = 0; i < n; i++)
		if (same_name(envp[i], kv))
			return true;
	return false;
}

/* What a fixed copy of an environment needs. */
struct env_plan {
	size_t n;	 /* entries of the program's */
	size_t extra;	 /* entries to add */
	long ld_at;	 /* index of its LD_PRELOAD, -1 = none */
	bool ld_ok;	 /* ... which names this library */
	size_t ld_size;	 /* bytes of a rewritten LD_PRELOAD entry (1: none) */
};

static struct env_plan env_plan(char *const envp[])
{
	struct env_plan pl = {.ld_at = -1, .ld_size = 1};

	if (!X.on)
		return (struct env_plan){.ld_at = -1, .ld_ok = true, .ld_size = 1};
	for (size_t i = 0; envp && envp[i]; i++, pl.n++) {
		if (pl.ld_at < 0 && !strncmp(envp[i], "LD_PRELOAD=", 11)) {
			pl.ld_at = (long)i;
			pl.ld_ok = preload_has_lib(envp[i]);
		}
	}
	if (pl.ld_at < 0)
		pl.extra++;
	else if (!pl.ld_ok)
		pl.ld_size = strlen(envp[pl.ld_at]) + X.lib_len + 2;
	for (size_t k = 0; k < X.nkeep; k++)
		if (!env_has(envp, pl.n, X.keep[k]))
			pl.extra++;
	return pl;
}

static bool plan_changes(const struct env_plan *pl)
{
	return pl->extra || (pl->ld_at >= 0 && !pl->ld_ok);
}

/* "LD_PRELOAD=<this library>:<what the program preloads>" into ld. */
static const char *merged_preload(char *ld, size_t size, const char *entry)
{
	snprintf(ld, size, "%s:%s", X.preload, entry + 11);
	return ld;
}

/* envp itself when nothing is missing, else out (n + extra + 1 slots)
 * filled: the program's entries, then what it lacks. */
static char *const *env_fixed(const struct env_plan *pl, char *const envp[], char **out,
			      char *ld)
{
	size_t o = 0;

	if (!plan_changes(pl))
		return envp;
	for (size_t i = 0; i < pl->n; i++)
		out[o++] = envp[i];
	if (pl->ld_at < 0)
		out[o++] = X.preload;
	else if (!pl->ld_ok)
		out[pl->ld_at] = (char *)merged_preload(ld, pl->ld_size, envp[pl->ld_at]);
	for (size_t k = 0; k < X.nkeep; k++)
		if (!env_has(envp, pl->n, X.keep[k]))
			out[o++] = X.keep[k];
	out[o] = NULL;
	return out;
}

/* Declares `name`, envp fixed, with its storage on the caller's frame. */
#define ENV_FIX(envp, name)                                                                \
	struct env_plan name##_pl = env_plan(envp);                                        \
	char *name##_v[name##_pl.n + name##_pl.extra + 1];                                 \
	char name##_ld[name##_pl.ld_size];                                                 \
	char *const *name = env_fixed(&name##_pl, envp, name##_v, name##_ld)

int execve(const char *path, char *const argv[], char *const envp[])
{
	ENV_FIX(envp, env);

	eng_before_exec();

	return real()->execve(path, argv, env);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	ENV_FIX(envp, env);

	eng_before_exec();

	return real()->execveat(dirfd, path, argv, env, flags);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
	ENV_FIX(envp, env);

	eng_before_exec();

	return real()->fexecve(fd, argv, env);
}

int execv(const char *path, char *const argv[])
{
	ENV_FIX(environ, env);

	eng_before_exec();

	return real()->execve(path, argv, env);
}

int execvp(const char *file, char *const argv[])
{
	ENV_FIX(environ, env);

	eng_before_exec();

	return real()->execvpe(file, argv, env);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ENV_FIX(envp, env);

	eng_before_exec();

	return real()->execvpe(file, argv, env);
}

/* execl*: the variable arguments as an argv on this stack frame. */
static size_t count_args(const char *arg, va_list ap)
{
	size_t n = 1;

	if (!arg)
		return 0;
	while (n < ARGS_MAX && va_arg(ap, const char *))
		n++;
	return n;
}

#define COLLECT_ARGS(arg, argv_name, after)                                                \
	va_list ap_;                                                                       \
	size_t argc_;                                                                      \
	va_start(ap_, arg);                                                                \
	argc_ = count_args(arg, ap_);                                                      \
	va_end(ap_);                                                                       \
	if (argc_ >= ARGS_MAX) {                                                           \
		errno = E2BIG;                                                             \
		return -1;                                                                 \
	}                                                                                  \
	char *argv_name[argc_ + 1];                                                        \
	va_start(ap_, arg);                                                                \
	if (argc_) {                                                                       \
		argv_name[0] = (char *)arg;                                                \
		for (size_t i_ = 1; i_ < argc_; i_++)                                      \
			argv_name[i_] = va_arg(ap_, char *);                               \
		(void)va_arg(ap_, char *); /* the NULL */                                  \
	}                                                                                  \
	argv_name[argc_] = NULL;                                                           \
	after;                                                                             \
	va_end(ap_)

int execl(const char *path, const char *arg, ...)
{
	COLLECT_ARGS(arg, argv, (void)0);
	return execv(path, argv);
}

int execlp(const char *file, const char *arg, ...)
{
	COLLECT_ARGS(arg, argv, (void)0);
	return execvp(file, argv);
}

int execle(const char *path, const char *arg, ...)
{
	char *const *envp;

	COLLECT_ARGS(arg, argv, envp = va_arg(ap_, char *const *));
	return execve(path, argv, envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	ENV_FIX(envp, env);

	return real()->posix_spawn(pid, path, fa, attr, argv, env);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	ENV_FIX(envp, env);

	return real()->posix_spawnp(pid, file, fa, attr, argv, env);
}

/* Append 'v' as one single-quoted shell word. */
static void put_quoted(char **p, const char *v)
{
	*(*p)++ = '\'';
	for (; *v; v++) {
		if (*v == '\'') {
			memcpy(*p, "'\\''", 4);
			*p += 4;
		} else {
			*(*p)++ = *v;
		}
	}
	*(*p)++ = '\'';
}

/* system and popen run "/bin/sh -c cmd" with the process's environment:
 * when that lacks our variables, the shell is given them first
 * ("NAME='value'; export NAME" lines), then the command on a line of its
 * own, so its parsing is unchanged.  NULL: no change needed (or no
 * memory: the command runs as given, and a warning says so). */
static char *shell_prefixed(const char *cmd)
{
	struct env_plan pl = env_plan(environ);
	const char *vars[KEEP_MAX + 1];
	size_t nv = 0, size;
	char *out, *p, *ld = NULL;

	if (!cmd || !plan_changes(&pl))
		return NULL;
	if (pl.ld_at >= 0 && !pl.ld_ok && !(ld = malloc(pl.ld_size)))
		goto nomem;
	if (pl.ld_at < 0)
		vars[nv++] = X.preload;
	else if (!pl.ld_ok)
		vars[nv++] = merged_preload(ld, pl.ld_size, environ[pl.ld_at]);
	for (size_t k = 0; k < X.nkeep; k++)
		if (!env_has(environ, pl.n, X.keep[k]))
			vars[nv++] = X.keep[k];
	size = strlen(cmd) + 1;
	for (size_t i = 0; i < nv; i++) /* NAME='v'"'"... ; export NAME\n */
		size += 4 * strlen(vars[i]) + 2 * name_len(vars[i]) + 16;
	if (!(out = malloc(size)))
		goto nomem;
	p = out;
	for (size_t i = 0; i < nv; i++) {
		size_t nl = name_len(vars[i]);

		memcpy(p, vars[i], nl + 1); /* NAME= */
		p += nl + 1;
		put_quoted(&p, vars[i] + nl + 1);
		memcpy(p, "; export ", 9);
		p += 9;
		memcpy(p, vars[i], nl);
		p += nl;
		*p++ = '\n';
	}
	strcpy(p, cmd);
	free(ld);
	return out;
nomem:
	free(ld);
	shim_log(SHIM_LOG_WARN, "exec: no memory to put LD_PRELOAD back for: %s", cmd);
	return NULL;
}

int system(const char *cmd)
{
	char *c = shell_prefixed(cmd);
	int r = real()->system(c ? c : cmd);
	int e = errno;

	free(c);
	errno = e;
	return r;
}

FILE *popen(const char *cmd, const char *type)
{
	char *c = shell_prefixed(cmd);
	FILE *f = real()->popen(c ? c : cmd, type);
	int e = errno;

	free(c);
	errno = e;
	return f;
}
