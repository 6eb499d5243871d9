/*
 * log.h — netshim's diagnostics: "netshim[PID]: level: message" lines to
 * stderr or to NETSHIM_LOG's file.  Called from anywhere in the library
 * (engine, hooks, stack thread); writes with raw syscalls, never through
 * the library's own hooks, and leaves errno as it found it.
 */
#ifndef NETSHIM_LOG_H
#define NETSHIM_LOG_H

#include <stdbool.h>

#include "config.h" /* enum shim_log_level */

/* Set the level and the destination: file NULL or "" = stderr.  The file
 * is opened O_APPEND | O_CLOEXEC and its descriptor moved to 512 or above
 * when the limit allows.  Returns 0, or -errno when the file cannot be
 * opened (logging then goes to stderr and shim_say() has said why).  Call
 * once, from the constructor, before other threads exist. */
int shim_log_init(enum shim_log_level lvl, const char *file);

/* One line "netshim[PID]: LEVEL: message\n" when lvl is enabled; a longer
 * message is cut, a newline in it becomes a space. */
void shim_log(enum shim_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Would shim_log(lvl, ...) print?  To skip costly arguments. */
bool shim_log_on(enum shim_log_level lvl);

/* "netshim: message\n" on stderr whatever the level: fatal errors and
 * one-time warnings the user must see. */
void shim_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The log file's descriptor, or -1 when logging goes to stderr: the
 * engine keeps the program's close()/dup2() off it. */
int shim_log_fd(void);

/* Move fd to a free descriptor >= 512 (close-on-exec), out of the range
 * programs use and assume free; returns the new descriptor, or fd itself
 * when that is not possible (a low RLIMIT_NOFILE).  Shared with pcap.c. */
int shim_fd_move_high(int fd);

#endif
