/*
 * shim_exec.c — the program shim_exec.sh runs under netshim (compiled by
 * the script).  It runs itself again through one libc entry point with
 * LD_PRELOAD and NETSHIM_* stripped from the new program's environment,
 * and the new program reports what it got:
 *   shim_exec run HOW ARGS...  run "shim_exec ARGS..." through HOW, with an
 *                              emptied environment (or one of the program's
 *                              own: HOW ending in "+own" passes
 *                              LD_PRELOAD=libm and NETSHIM_LOG=error)
 *   shim_exec fetch ADDR PORT  connect and print the server's line, or
 *                              "error ENAME"
 *   shim_exec env              print LD_PRELOAD and two NETSHIM_* values
 * HOW: execve execveat fexecve execv execvp execvpe execl execlp execle
 * (same process: the new image gets its own stack) and posix_spawn
 * posix_spawnp system popen vfork (a child: its ancestor holds the device,
 * so it must get no network at all — never the host's).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *empty_env[] = {NULL};
static char *own_env[] = {"LD_PRELOAD=/lib/x86_64-linux-gnu/libm.so.6", "NETSHIM_LOG=error",
			  NULL};

static int fetch(const char *addr, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	char line[256] = {0};
	ssize_t n;
	int fd;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 0;
	}
	shutdown(fd, SHUT_WR); /* the server reads to our FIN first */
	n = read(fd, line, sizeof(line) - 1);
	printf("%s", n > 0 ? line : "error short read\n");
	return 0;
}

static int env(void)
{
	const char *p = getenv("LD_PRELOAD"), *t = getenv("NETSHIM_TUN"),
		   *l = getenv("NETSHIM_LOG");

	printf("LD_PRELOAD=%s NETSHIM_TUN=%s NETSHIM_LOG=%s\n", p ? p : "-", t ? t : "-",
	       l ? l : "-");
	return 0;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int run(const char *how_arg, int argc, char **argv)
{
	char how[64];
	char *self = "/proc/self/exe", exe[4096];
	char *av[16] = {NULL};
	char **envp = strstr(how_arg, "+own") ? own_env : empty_env;
	char cmd[8192];
	ssize_t n = readlink(self, exe, sizeof(exe) - 1);
	pid_t pid;

	if (n < 0 || argc > 14)
		return 2;
	snprintf(how, sizeof(how), "%.*s", (int)strcspn(how_arg, "+"), how_arg);
	exe[n] = 0;
	av[0] = exe;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	if (!strcmp(how, "execve"))
		execve(exe, av, envp);
	else if (!strcmp(how, "execveat"))
		execveat(AT_FDCWD, exe, av, envp, 0);
	else if (!strcmp(how, "fexecve")) {
		int fd = open(exe, O_RDONLY | O_CLOEXEC);
		fexecve(fd, av, envp);
	} else if (!strcmp(how, "execv")) {
		clearenv();
		execv(exe, av);
	} else if (!strcmp(how, "execvp")) {
		clearenv();
		execvp(exe, av);
	} else if (!strcmp(how, "execvpe"))
		execvpe(exe, av, envp);
	else if (!strcmp(how, "execl")) {
		clearenv();
		execl(exe, exe, av[1], av[2], av[3], (char *)NULL);
	} else if (!strcmp(how, "execlp")) {
		clearenv();
		execlp(exe, exe, av[1], av[2], av[3], (char *)NULL);
	} else if (!strcmp(how, "execle"))
		execle(exe, exe, av[1], av[2], av[3], (char *)NULL, envp);
	else if (!strcmp(how, "posix_spawn") || !strcmp(how, "posix_spawnp")) {
		int e = how[11] ? posix_spawnp(&pid, exe, NULL, NULL, av, envp)
				: posix_spawn(&pid, exe, NULL, NULL, av, envp);
		if (e) {
			printf("spawn: %s\n", strerror(e));
			return 1;
		}
		fflush(stdout);
		return wait_child(pid);
	} else if (!strcmp(how, "vfork")) {
		pid = vfork();
		if (pid == 0) {
			execve(exe, av, envp);
			_exit(127);
		}
		return wait_child(pid);
	} else if (!strcmp(how, "system") || !strcmp(how, "popen")) {
		snprintf(cmd, sizeof(cmd), "exec '%s'", exe);
		for (int i = 0; i < argc; i++)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " '%s'", argv[i]);
		clearenv();
		for (char **e = envp; *e; e++)
			putenv(*e); /* their environment is the process's */
		fflush(stdout);
		if (how[0] == 's')
			return system(cmd) == 0 ? 0 : 1;
		FILE *f = popen(cmd, "r");
		char line[512];
		if (!f)
			return 1;
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		return pclose(f) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "unknown HOW %s\n", how);
		return 2;
	}
	printf("exec failed: %s\n", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "run"))
		return run(argv[2], argc - 3, argv + 3);
	if (argc == 4 && !strcmp(argv[1], "fetch"))
		return fetch(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "env"))
		return env();
	fprintf(stderr, "usage: shim_exec run HOW ARGS... | fetch ADDR PORT | env\n");
	return 2;
}
