/*
 * launcher.c — build/netshim: `netshim [options] [--] PROGRAM [ARGS...]`.
 * Turns its options into NETSHIM_* variables, checks them with
 * shim_config_load() (config.c), puts libnetshim.so (found next to this
 * executable) first in LD_PRELOAD, with --sandbox enters a private network
 * namespace, and execs the program: it does not stay resident.  The
 * library (engine.c) then reads the same variables and creates the TUN.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"

#ifndef NETSHIM_VERSION
#define NETSHIM_VERSION "0.1"
#endif

#define PROG "netshim"
#define LIBNAME "libnetshim.so"
#define EXIT_NOEXEC 126	  /* found but cannot run, as env(1) and sh */
#define EXIT_NOTFOUND 127 /* not found, as env(1) and sh */

/* ---- options: each one sets a NETSHIM_* variable ---------------------------- */

enum optkind {
	OPT_VALUE, /* passed as given */
	OPT_PATH,  /* made absolute: the program may chdir before it is read */
	OPT_LOG,   /* LEVEL[:FILE], FILE made absolute */
};

static const struct {
	const char *name, *var, *arg;
	enum optkind kind;
	const char *help;
} opts[] = {
    {"tun", "NETSHIM_TUN", "NAME", OPT_VALUE,
     "TUN device: created (its kernel side configured) when\n"
     "missing, attached to when it exists (default: new tunN)"},
    {"addr", "NETSHIM_ADDR", "A/PREFIX", OPT_VALUE,
     "the program's IPv4 address, or none\n"
     "(default 192.0.2.2/24)"},
    {"addr6", "NETSHIM_ADDR6", "A/PREFIX", OPT_VALUE,
     "the program's IPv6 address, or none\n"
     "(default 2001:db8::2/64)"},
    {"gateway", "NETSHIM_GATEWAY", "A", OPT_VALUE,
     "the kernel side's IPv4 address, the default route,\n"
     "inside --addr's prefix (default: its first host)"},
    {"gateway6", "NETSHIM_GATEWAY6", "A", OPT_VALUE, "the same for IPv6 (default: its first host)"},
    {"mtu", "NETSHIM_MTU", "N", OPT_VALUE,
     "device MTU, 68..65535, at least 1280 with IPv6\n"
     "(default: the device's)"},
    {"dns", "NETSHIM_DNS", "A[,A...]", OPT_VALUE,
     "up to 3 DNS servers: A, A:PORT, A6 or [A6]:PORT\n"
     "(default: none)"},
    {"search", "NETSHIM_SEARCH", "DOMAINS", OPT_VALUE,
     "up to 6 search domains, space- or comma-separated\n"
     "(\"\" = none; default: /etc/resolv.conf's)"},
    {"hosts", "NETSHIM_HOSTS", "FILE", OPT_PATH, "a hosts file consulted before /etc/hosts"},
    {"pcap", "NETSHIM_PCAP", "FILE", OPT_PATH,
     "write every packet of the TUN device to FILE\n"
     "(pcap format: tcpdump -r FILE)"},
    {"log", "NETSHIM_LOG", "LEVEL[:FILE]", OPT_LOG,
     "error, warn, info or debug; to FILE, not stderr"},
    {"linger", "NETSHIM_LINGER", "MS", OPT_VALUE,
     "at exit, time to finish sending queued data and\n"
     "FINs, 0..600000 (default 10000)"},
    {"congestion", "NETSHIM_TCP_CONGESTION", "NAME", OPT_VALUE,
     "TCP congestion control of every socket: cubic\n"
     "(default), reno or bbr"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* getopt values: opts[i] is OPT_BASE + i (0 means "unknown" to getopt) */
enum { OPT_SANDBOX = 256, OPT_HELP, OPT_VERSION, OPT_BASE = 1024 };

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [options] [--] PROGRAM [ARGS...]\n"
		   "Run PROGRAM with its IPv4/IPv6 sockets served by netshim's userland TCP/IP\n"
		   "stack, which exchanges raw IP packets with the kernel through a TUN device.\n"
		   "(`--` is needed only when PROGRAM starts with '-'.)\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		char left[40];
		const char *h = opts[i].help, *nl;

		snprintf(left, sizeof(left), "--%s %s", opts[i].name, opts[i].arg);
		fprintf(f, "  %-22s", left);
		for (bool first = true; *h; first = false, h = nl + 1) {
			nl = strchr(h, '\n');
			fprintf(f, "%*s%.*s\n", first ? 0 : 24, "",
				(int)(nl ? nl - h : (ptrdiff_t)strlen(h)), h);
			if (!nl)
				break;
		}
	}
	fprintf(f, "  --sandbox             run PROGRAM in a private network namespace whose\n"
		   "                        only way out is netshim's TUN device: what bypasses\n"
		   "                        LD_PRELOAD (static binaries, raw syscalls) then\n"
		   "                        reaches no network.  As root: a new network\n"
		   "                        namespace.  Otherwise: a new user namespace too, in\n"
		   "                        which PROGRAM runs as uid 0 (mapped to your uid),\n"
		   "                        with the capabilities to create the TUN device.\n"
		   "  --help                this text\n"
		   "  --version             print the version\n\n"
		   "Each option sets the NETSHIM_* variable named after it (--dns: NETSHIM_DNS);\n"
		   "variables already in the environment apply too.  Relative FILEs are made\n"
		   "absolute.  Exit status: PROGRAM's; 125 when netshim refuses to run it\n"
		   "(bad option, no device, no permission); 126 when PROGRAM cannot be executed;\n"
		   "127 when it is not found.\n");
}

/* A fatal error of the launcher itself: one line, exit 125. */
__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(SHIM_EXIT_CONFIG);
}

__attribute__((format(printf, 1, 2))) static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* path made absolute against the current directory (not resolved: the
 * file need not exist yet). */
static void absolute(const char *path, char *out, size_t n)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !path[0]) {
		if ((size_t)snprintf(out, n, "%s", path) >= n)
			die("path too long: %s", path);
		return;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		die("cannot tell the current directory to make %s absolute: %s", path,
		    strerror(errno));
	if ((size_t)snprintf(out, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) >= n)
		die("path too long: %s/%s", cwd, path);
}

static void set_option(size_t i, const char *val)
{
	char buf[SHIM_PATH_LEN + 32];
	const char *colon;

	switch (opts[i].kind) {
	case OPT_VALUE:
		snprintf(buf, sizeof(buf), "%s", val);
		break;
	case OPT_PATH:
		absolute(val, buf, sizeof(buf));
		break;
	case OPT_LOG:
		colon = strchr(val, ':');
		if (!colon || !colon[1]) {
			snprintf(buf, sizeof(buf), "%s", val);
			break;
		}
		if ((size_t)(colon - val) > 16)
			die("--log: \"%.40s\" is not LEVEL[:FILE] (e.g. debug:/tmp/netshim.log)",
			    val);
		memcpy(buf, val, (size_t)(colon - val) + 1);
		absolute(colon + 1, buf + (colon - val) + 1, sizeof(buf) - 18);
		break;
	}
	if (setenv(opts[i].var, buf, 1))
		die("cannot set %s: %s", opts[i].var, strerror(errno));
}

/* Parse the options; returns the index of PROGRAM in argv. */
static int parse_options(int argc, char **argv, bool *sandbox)
{
	struct option longopts[NOPTS + 4];
	int c;

	for (size_t i = 0; i < NOPTS; i++)
		longopts[i] =
		    (struct option){opts[i].name, required_argument, NULL, OPT_BASE + (int)i};
	longopts[NOPTS] = (struct option){"sandbox", no_argument, NULL, OPT_SANDBOX};
	longopts[NOPTS + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[NOPTS + 2] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[NOPTS + 3] = (struct option){0};

	opterr = 0; /* our own one-line messages */
	/* "+": stop at PROGRAM, its own options are its own */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c >= OPT_BASE && (size_t)(c - OPT_BASE) < NOPTS) {
			set_option((size_t)(c - OPT_BASE), optarg);
			continue;
		}
		switch (c) {
		case OPT_SANDBOX:
			*sandbox = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf(PROG " %s\n", NETSHIM_VERSION);
			exit(0);
		default:
			if (optopt >= OPT_BASE && (size_t)(optopt - OPT_BASE) < NOPTS) {
				size_t i = (size_t)(optopt - OPT_BASE);

				die("--%s needs a value: --%s %s (" PROG
				    " --help lists the options)",
				    opts[i].name, opts[i].name, opts[i].arg);
			}
			if (optopt > 0 && optopt < 256)
				die("unknown option -%c (" PROG " --help lists the options)",
				    optopt);
			die("unknown option %s (" PROG " --help lists the options)",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die("no program to run (usage: " PROG " [options] [--] PROGRAM [ARGS...]; " PROG
		    " --help lists the options)");
	return optind;
}

/* ---- the library ------------------------------------------------------------- */

static bool regular_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* libnetshim.so next to this executable: build/ holds both, an install
 * puts them in bin/ and lib/. */
static void find_library(char *out, size_t n)
{
	char exe[PATH_MAX], try1[PATH_MAX + 32], try2[PATH_MAX + 32], *slash;
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (k < 0)
		die("cannot find my own executable: /proc/self/exe: %s (is /proc mounted?)",
		    strerror(errno));
	exe[k] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(try1, sizeof(try1), "%s/" LIBNAME, exe);
	snprintf(try2, sizeof(try2), "%s/../lib/" LIBNAME, exe);
	if (!regular_file(try1) && !regular_file(try2))
		die(LIBNAME " not found: looked for %s and %s (run make, or make install)", try1,
		    try2);
	if (!realpath(regular_file(try1) ? try1 : try2, out))
		die("cannot resolve the path of " LIBNAME ": %s", strerror(errno));
	if (strlen(out) >= n)
		die("path of " LIBNAME " too long: %s", out);
	/* ld.so splits LD_PRELOAD at spaces and colons */
	if (strpbrk(out, " :\t"))
		die("%s: LD_PRELOAD cannot carry a path with a space or ':' in it (install "
		    "netshim in another directory)",
		    out);
	if (access(out, R_OK))
		die("%s: %s", out, strerror(errno));
}

/* LD_PRELOAD = the library, then what was there (without a second copy
 * of the library). */
static void set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *val = malloc(n), *copy, *tok, *save = NULL;

	if (!val || !(copy = strdup(old ? old : "")))
		die("out of memory");
	strcpy(val, lib);
	for (tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
		if (!strcmp(tok, lib))
			continue;
		strcat(val, " ");
		strcat(val, tok);
	}
	if (setenv("LD_PRELOAD", val, 1))
		die("cannot set LD_PRELOAD: %s", strerror(errno));
	free(copy);
	free(val);
}

/* ---- the program: what LD_PRELOAD cannot reach ---------------------------------- */

/* PROGRAM as execvp() will find it, or false. */
static bool resolve_program(const char *prog, char *out, size_t n)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(prog, '/'))
		return (size_t)snprintf(out, n, "%s", prog) < n;
	if (!path)
		path = "/bin:/usr/bin"; /* glibc's default */
	for (p = path; p; p = *end ? end + 1 : NULL) {
		end = strchrnul(p, ':');
		if ((size_t)snprintf(out, n, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "",
				     prog) >= n)
			continue;
		if (!access(out, X_OK) && regular_file(out))
			return true;
	}
	return false;
}

/* Does the ELF file have no PT_INTERP (statically linked)?  false for
 * anything else (scripts, unreadable files): exec will tell. */
static bool static_elf(const char *path)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf32_Ehdr e32;
		Elf64_Ehdr e64;
	} h;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool is64, interp = false;
	uint64_t phoff;
	unsigned phnum, phentsize;

	if (fd < 0)
		return false;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h.ident, ELFMAG, SELFMAG))
		goto not_static;
	is64 = h.ident[EI_CLASS] == ELFCLASS64;
	phoff = is64 ? h.e64.e_phoff : h.e32.e_phoff;
	phnum = is64 ? h.e64.e_phnum : h.e32.e_phnum;
	phentsize = is64 ? h.e64.e_phentsize : h.e32.e_phentsize;
	if (!phnum || phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		goto not_static;
	for (unsigned i = 0; i < phnum && i < 256; i++) {
		union {
			Elf32_Phdr p32;
			Elf64_Phdr p64;
		} ph;

		if (pread(fd, &ph, is64 ? sizeof(ph.p64) : sizeof(ph.p32),
			  (off_t)(phoff + (uint64_t)i * phentsize)) <= 0)
			goto not_static;
		if ((is64 ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP)
			interp = true;
	}
	close(fd);
	return !interp;
not_static:
	close(fd);
	return false;
}

/* Why the dynamic loader would ignore LD_PRELOAD for path (it runs in
 * secure-execution mode, ld.so(8)), or NULL. */
static const char *secure_exec(const char *path)
{
	struct stat st;
	struct statvfs vfs;

	if (stat(path, &st) || (!statvfs(path, &vfs) && (vfs.f_flag & ST_NOSUID)))
		return NULL; /* set-id bits and file capabilities do nothing there */
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return "set-user-ID";
	if ((st.st_mode & S_ISGID) && st.st_gid != getegid())
		return "set-group-ID";
	if (geteuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
		return "given file capabilities";
	return NULL;
}

/* A program LD_PRELOAD cannot reach would use the host's network as if
 * netshim were not there: refuse it, unless --sandbox cuts it off. */
static void check_reachable(const char *prog, bool sandbox)
{
	char path[PATH_MAX];
	bool is_static;
	const char *why;

	if (!resolve_program(prog, path, sizeof(path)))
		return; /* execvp reports it */
	is_static = static_elf(path);
	why = is_static ? "statically linked" : secure_exec(path);
	if (!why)
		return;
	if (sandbox) {
		warn("%s is %s: the loader ignores LD_PRELOAD for it, so netshim cannot serve "
		     "its sockets (in the sandbox it reaches no network)",
		     path, why);
		return;
	}
	die("%s is %s: the loader ignores LD_PRELOAD for it, so its sockets would bypass "
	    "netshim and use the host's network (run it with --sandbox to cut it off%s)",
	    path, why, is_static ? "" : ", or run netshim as its owner");
}

/* ---- --sandbox ------------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text)) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* The first line of a /proc/sys file, or "" when it does not exist. */
static const char *sysctl_value(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, (int)n, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	return buf;
}

/* Why an unprivileged user namespace cannot be made, with the fix. */
static void die_userns(const char *what, int err)
{
	char v[32];

	if (!strcmp(sysctl_value("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof(v)), "0"))
		die("--sandbox: unprivileged user namespaces disabled: sysctl "
		    "kernel.unprivileged_userns_clone=1 or run as root");
	if (!strcmp(sysctl_value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", v,
				 sizeof(v)),
		    "1"))
		die("--sandbox: unprivileged user namespaces restricted by AppArmor: sysctl "
		    "kernel.apparmor_restrict_unprivileged_userns=0 or run as root");
	if (!strcmp(sysctl_value("/proc/sys/user/max_user_namespaces", v, sizeof(v)), "0") ||
	    err == ENOSPC || err == EUSERS)
		die("--sandbox: user namespaces disabled or exhausted: sysctl "
		    "user.max_user_namespaces=10000 or run as root");
	if (err == EINVAL)
		die("--sandbox: this kernel has no user namespaces (CONFIG_USER_NS): run as root");
	die("--sandbox: %s: %s (a container or seccomp policy may forbid user namespaces: run "
	    "as root)",
	    what, strerror(err));
}

/* A fresh network namespace has lo down; programs expect it up. */
static void lo_up(void)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("--sandbox: socket: %s", strerror(errno));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		die("--sandbox: cannot read lo's flags: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("--sandbox: cannot bring lo up: %s", strerror(errno));
	close(s);
}

/* Enter a private network namespace (and, without root, a user namespace
 * where we are uid 0 with CAP_NET_ADMIN, enough to create the TUN). */
static void enter_sandbox(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int fd;

	if (uid == 0) {
		if (unshare(CLONE_NEWNET))
			die("--sandbox: cannot create a network namespace: %s (it needs "
			    "CAP_SYS_ADMIN; in a container, allow it)",
			    strerror(errno));
		lo_up();
		return;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		die_userns("cannot create a user and network namespace", errno);
	/* an unprivileged map of gids needs setgroups(2) off (user_namespaces(7)) */
	if (write_file("/proc/self/setgroups", "deny") && errno != ENOENT)
		die_userns("cannot write /proc/self/setgroups", errno);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map))
		die_userns("cannot write /proc/self/uid_map", errno);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map))
		die_userns("cannot write /proc/self/gid_map", errno);
	lo_up();
	/* the device node belongs to the real root: we are only its "others" */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		die("--sandbox: /dev/net/tun is not open to other users, so the namespace cannot "
		    "create its TUN device: chmod 0666 /dev/net/tun (Debian's default) or run as "
		    "root");
	if (fd < 0 && errno == ENOENT)
		die("--sandbox: /dev/net/tun is missing: modprobe tun (as root)");
	if (fd >= 0)
		close(fd);
}

/* ---- main ------------------------------------------------------------------------ */

/* Run inside a session (a netshim program ran this launcher): this launch
 * is a session of its own, so what the session exported — its name, its
 * owner, its device and MTU — must not reach the new program.  Set empty
 * (the library's exec hooks put back only what is missing, and empty
 * means "the default" to the configuration), before the options, which
 * may name a device again. */
static void leave_session(void)
{
	const char *h = getenv("NETSHIM_HOLDER");
	static const char *const vars[] = {"NETSHIM_SESSION", "NETSHIM_HOLDER", "NETSHIM_TUN",
					   "NETSHIM_MTU", "NETSHIM_MEMBER_FD"};

	if (!h || !*h)
		return;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (setenv(vars[i], "", 1))
			die("cannot set %s: %s", vars[i], strerror(errno));
}

int main(int argc, char **argv)
{
	struct shim_config cfg;
	char err[SHIM_ERRLEN], lib[PATH_MAX];
	bool sandbox = false;
	int first;

	leave_session();
	first = parse_options(argc, argv, &sandbox);
	const char *prog = argv[first];

	if (shim_config_load(&cfg, err, sizeof(err)))
		die("%s", err);
	find_library(lib, sizeof(lib));
	check_reachable(prog, sandbox);
	if (sandbox)
		enter_sandbox();
	set_preload(lib);
	fflush(stdout);
	execvp(prog, argv + first);
	if (errno == ENOENT || errno == ENOTDIR) {
		fprintf(stderr, PROG ": %s: %s\n", prog,
			strchr(prog, '/') ? "No such file or directory" : "command not found");
		return EXIT_NOTFOUND;
	}
	fprintf(stderr, PROG ": %s: %s\n", prog, strerror(errno));
	return EXIT_NOEXEC;
}
