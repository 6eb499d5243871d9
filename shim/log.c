/*
 * log.c — shim_log() and shim_say(): one formatted line per call, written
 * with raw syscalls (open, fcntl, write) so they never enter the library's
 * own hooks and work from any hook, the stack thread or the constructor.
 * Called by every part of the library; configured once by engine.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_BYTES 1024 /* a longer line is cut, ending "..." */
#define HIGH_FD 512

/* Set once by shim_log_init() before other threads exist, then only read. */
static enum shim_log_level log_level = SHIM_LOG_NONE;
static int log_fd = -1; /* -1: stderr */

static const char *const level_names[] = {
    [SHIM_LOG_NONE] = "none", [SHIM_LOG_ERROR] = "error", [SHIM_LOG_WARN] = "warn",
    [SHIM_LOG_INFO] = "info", [SHIM_LOG_DEBUG] = "debug",
};

/* write(2) through the kernel, not through our write() hook; a short
 * write (a signal, a full pipe) goes on with the rest. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		long n = syscall(SYS_write, fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

int shim_fd_move_high(int fd)
{
	long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, HIGH_FD);

	if (hi < 0)
		return fd;
	syscall(SYS_close, fd);
	return (int)hi;
}

/* Format prefix + fmt into one line with a newline; control characters
 * from the message become spaces so one call is always one line. */
static size_t format_line(char *line, size_t size, const char *prefix, const char *fmt, va_list ap)
{
	int p = snprintf(line, size, "%s", prefix);
	int m;
	size_t len;

	if (p < 0)
		p = 0;
	if ((size_t)p >= size - 2)
		p = (int)size - 2;
	m = vsnprintf(line + p, size - 1 - (size_t)p, fmt, ap);
	if (m < 0)
		m = 0;
	len = (size_t)p + (size_t)m;
	if (len > size - 2) { /* cut: say so */
		len = size - 2;
		memcpy(line + len - 3, "...", 3);
	}
	while (len > (size_t)p && line[len - 1] == '\n')
		len--;
	for (size_t i = (size_t)p; i < len; i++)
		if ((unsigned char)line[i] < ' ' && line[i] != '\t')
			line[i] = ' ';
	line[len++] = '\n';
	return len;
}

int shim_log_init(enum shim_log_level lvl, const char *file)
{
	int saved = errno, rc = 0;

	log_level = lvl;
	log_fd = -1;
	if (file && *file) {
		long fd = syscall(SYS_openat, AT_FDCWD, file,
				  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);

		if (fd < 0) {
			rc = -errno;
			shim_say("cannot open log file %s: %s; logging to stderr", file,
				 strerror(-rc));
		} else {
			log_fd = shim_fd_move_high((int)fd);
		}
	}
	errno = saved;
	return rc;
}

bool shim_log_on(enum shim_log_level lvl)
{
	return lvl != SHIM_LOG_NONE && lvl <= log_level;
}

void shim_log(enum shim_log_level lvl, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES], prefix[64];
	int saved = errno;
	va_list ap;
	size_t len;

	if (!shim_log_on(lvl))
		return;
	snprintf(prefix, sizeof(prefix), "netshim[%ld]: %s: ", syscall(SYS_getpid),
		 level_names[lvl]);
	va_start(ap, fmt);
	len = format_line(line, sizeof(line), prefix, fmt, ap);
	va_end(ap);
	write_all(log_fd >= 0 ? log_fd : STDERR_FILENO, line, len);
	errno = saved;
}

void shim_say(const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	int saved = errno;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	len = format_line(line, sizeof(line), "netshim: ", fmt, ap);
	va_end(ap);
	write_all(STDERR_FILENO, line, len);
	errno = saved;
}

int shim_log_fd(void)
{
	return log_fd;
}
