/*
 * config.h — netshim's configuration: the NETSHIM_* environment variables,
 * parsed and checked in one place.  The library (engine.c) reads it once at
 * load; the launcher (launcher.c) turns its command-line options into the
 * same variables and checks them with the same parser before it runs the
 * program, so both print the same one-line errors.
 */
#ifndef NETSHIM_CONFIG_H
#define NETSHIM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "stack.h"

#define SHIM_MAX_DNS 3
#define SHIM_MAX_SEARCH 6
#define SHIM_SEARCH_LEN 256
#define SHIM_PATH_LEN 4096
#define SHIM_ERRLEN 512

/* Exit status of a program that netshim refused to run (bad configuration,
 * no device, no permission): 125, as env(1) and container runtimes use for
 * "the tool itself failed". */
#define SHIM_EXIT_CONFIG 125

enum shim_log_level {
	SHIM_LOG_NONE = 0, /* default: quiet */
	SHIM_LOG_ERROR,
	SHIM_LOG_WARN,
	SHIM_LOG_INFO,
	SHIM_LOG_DEBUG,
};

struct shim_config {
	char tun[16];             /* NETSHIM_TUN, "" = create a new device */
	struct stack_sockaddr addr4; /* NETSHIM_ADDR (family 0 = "none") */
	unsigned prefix4;
	struct stack_sockaddr addr6; /* NETSHIM_ADDR6 (family 0 = "none") */
	unsigned prefix6;
	struct stack_sockaddr gw4; /* NETSHIM_GATEWAY: kernel side, default route */
	struct stack_sockaddr gw6; /* NETSHIM_GATEWAY6 */
	uint32_t mtu;              /* NETSHIM_MTU, 0 = the device's */
	struct stack_sockaddr dns[SHIM_MAX_DNS]; /* NETSHIM_DNS (port 53 unless given) */
	int ndns;
	char search[SHIM_MAX_SEARCH][SHIM_SEARCH_LEN]; /* NETSHIM_SEARCH */
	int nsearch;
	bool search_set; /* NETSHIM_SEARCH given (even empty): ignore resolv.conf */
	char hosts[SHIM_PATH_LEN]; /* NETSHIM_HOSTS, "" = none */
	char pcap[SHIM_PATH_LEN];  /* NETSHIM_PCAP, "" = none */
	enum shim_log_level log_level; /* NETSHIM_LOG level */
	char log_file[SHIM_PATH_LEN];  /* NETSHIM_LOG "LEVEL:FILE", "" = stderr */
	uint32_t linger_ms; /* NETSHIM_LINGER: at exit, time to finish sending */
	char tcp_congestion[16]; /* NETSHIM_TCP_CONGESTION, "" = the stack's default */
};

/* Read the NETSHIM_* variables from the environment into cfg, with the
 * documented defaults for those not set.  Returns 0, or -1 with err set to
 * one line (no newline) naming the variable, the bad value and the fix. */
int shim_config_load(struct shim_config *cfg, char *err, size_t errlen);

#endif
