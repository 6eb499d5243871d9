/*
 * config.c (tests) — suite "config": shim_config_load() (shim/config.c)
 * on the defaults and on good and bad values of every NETSHIM_* variable;
 * every error is one line that starts with the variable's name.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *const vars[] = {
    "NETSHIM_TUN",	"NETSHIM_ADDR", "NETSHIM_ADDR6", "NETSHIM_GATEWAY",
    "NETSHIM_GATEWAY6", "NETSHIM_MTU",	"NETSHIM_DNS",	 "NETSHIM_SEARCH",
    "NETSHIM_HOSTS",	"NETSHIM_PCAP", "NETSHIM_LOG",	 "NETSHIM_LINGER",
    "NETSHIM_TCP_CONGESTION",
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* The caller's values, put back after each test (the tests also run
 * without fork, CK_FORK=no). */
static char *saved[NVARS];

static void env_setup(void)
{
	for (size_t i = 0; i < NVARS; i++) {
		const char *v = getenv(vars[i]);

		saved[i] = v ? strdup(v) : NULL;
		unsetenv(vars[i]);
	}
}

static void env_teardown(void)
{
	for (size_t i = 0; i < NVARS; i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
		saved[i] = NULL;
	}
}

static struct shim_config cfg;
static char err[SHIM_ERRLEN];

static void load_ok(void)
{
	int rc = shim_config_load(&cfg, err, sizeof(err));

	ck_assert_msg(rc == 0, "unexpected error: %s", err);
	ck_assert_str_eq(err, "");
}

/* var=value is refused with one line that starts VAR="..." and, when
 * needle is given, mentions it. */
static void expect_bad(const char *var, const char *value, const char *needle)
{
	char prefix[64];

	setenv(var, value, 1);
	ck_assert_msg(shim_config_load(&cfg, err, sizeof(err)) == -1, "%s=\"%s\" was accepted", var,
		      value);
	snprintf(prefix, sizeof(prefix), "%s=\"", var);
	ck_assert_msg(!strncmp(err, prefix, strlen(prefix)), "%s=\"%s\": error \"%s\"", var, value,
		      err);
	ck_assert_msg(!strchr(err, '\n'), "error has a newline: %s", err);
	if (needle)
		ck_assert_msg(strstr(err, needle), "%s=\"%s\": \"%s\" lacks \"%s\"", var, value,
			      err, needle);
	unsetenv(var);
}

static void expect_addr(const struct stack_sockaddr *a, const char *text)
{
	char buf[STACK_ADDRSTRLEN];

	ck_assert_str_eq(stack_addr_format(a, buf, sizeof(buf)), text);
}

START_TEST(defaults)
{
	load_ok();
	ck_assert_str_eq(cfg.tun, "");
	expect_addr(&cfg.addr4, "192.0.2.2");
	ck_assert_uint_eq(cfg.prefix4, 24);
	expect_addr(&cfg.addr6, "2001:db8::2");
	ck_assert_uint_eq(cfg.prefix6, 64);
	expect_addr(&cfg.gw4, "192.0.2.1");
	expect_addr(&cfg.gw6, "2001:db8::1");
	ck_assert_uint_eq(cfg.mtu, 0);
	ck_assert_int_eq(cfg.ndns, 0);
	ck_assert_int_eq(cfg.nsearch, 0);
	ck_assert(!cfg.search_set);
	ck_assert_str_eq(cfg.hosts, "");
	ck_assert_str_eq(cfg.pcap, "");
	ck_assert_int_eq(cfg.log_level, SHIM_LOG_NONE);
	ck_assert_str_eq(cfg.log_file, "");
	ck_assert_uint_eq(cfg.linger_ms, 10000);
	/* set but empty is the default too (except NETSHIM_SEARCH) */
	setenv("NETSHIM_ADDR", "", 1);
	setenv("NETSHIM_MTU", "", 1);
	load_ok();
	expect_addr(&cfg.addr4, "192.0.2.2");
}
END_TEST

START_TEST(tun)
{
	setenv("NETSHIM_TUN", "ns0", 1);
	load_ok();
	ck_assert_str_eq(cfg.tun, "ns0");
	setenv("NETSHIM_TUN", "abcdefghijklmno", 1); /* 15: the most */
	load_ok();
	ck_assert_str_eq(cfg.tun, "abcdefghijklmno");
	expect_bad("NETSHIM_TUN", "abcdefghijklmnop", "15 characters");
	expect_bad("NETSHIM_TUN", "a/b", NULL);
	expect_bad("NETSHIM_TUN", "a:b", NULL);
	expect_bad("NETSHIM_TUN", "a b", NULL);
	expect_bad("NETSHIM_TUN", "a\tb", NULL);
	expect_bad("NETSHIM_TUN", ".", NULL);
	expect_bad("NETSHIM_TUN", "..", NULL);
}
END_TEST

START_TEST(addr4)
{
	setenv("NETSHIM_ADDR", "198.51.100.7/24", 1);
	load_ok();
	expect_addr(&cfg.addr4, "198.51.100.7");
	ck_assert_uint_eq(cfg.prefix4, 24);
	expect_addr(&cfg.gw4, "198.51.100.1"); /* derived: the first host */
	setenv("NETSHIM_ADDR", "198.51.100.1/24", 1);
	load_ok();
	expect_addr(&cfg.gw4, "198.51.100.2"); /* the first host is taken */
	setenv("NETSHIM_ADDR", "198.51.100.7/31", 1);
	load_ok();
	expect_addr(&cfg.gw4, "198.51.100.6"); /* RFC 3021 */
	setenv("NETSHIM_ADDR", "10.0.0.5/8", 1);
	load_ok();
	expect_addr(&cfg.gw4, "10.0.0.1");
	setenv("NETSHIM_ADDR", "none", 1);
	load_ok();
	ck_assert_uint_eq(cfg.addr4.family, 0);
	ck_assert_uint_eq(cfg.gw4.family, 0);
	unsetenv("NETSHIM_ADDR");

	expect_bad("NETSHIM_ADDR", "300.1.2.3/24", "not an IPv4 address/prefix (e.g. 192.0.2.2/24");
	expect_bad("NETSHIM_ADDR", "192.0.2.2", "/prefix");
	expect_bad("NETSHIM_ADDR", "192.0.2.2/", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.2/0", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.2/33", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.2/-1", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.2/24x", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.2 /24", NULL);
	expect_bad("NETSHIM_ADDR", "2001:db8::2/64", "IPv4");
	expect_bad("NETSHIM_ADDR", "127.0.0.2/8", "loopback");
	expect_bad("NETSHIM_ADDR", "224.0.0.5/24", "multicast");
	expect_bad("NETSHIM_ADDR", "0.0.0.0/24", NULL);
	expect_bad("NETSHIM_ADDR", "192.0.2.0/24", "network address");
	expect_bad("NETSHIM_ADDR", "192.0.2.255/24", "broadcast");
	expect_bad("NETSHIM_ADDR", "192.0.2.2/32", "no room");
}
END_TEST

START_TEST(addr6)
{
	setenv("NETSHIM_ADDR6", "2001:db8:1::7/48", 1);
	load_ok();
	expect_addr(&cfg.addr6, "2001:db8:1::7");
	ck_assert_uint_eq(cfg.prefix6, 48);
	expect_addr(&cfg.gw6, "2001:db8:1::1");
	setenv("NETSHIM_ADDR6", "2001:db8::1/64", 1);
	load_ok();
	expect_addr(&cfg.gw6, "2001:db8::2");
	setenv("NETSHIM_ADDR6", "2001:db8::a/127", 1);
	load_ok();
	expect_addr(&cfg.gw6, "2001:db8::b"); /* RFC 6164 */
	setenv("NETSHIM_ADDR6", "NONE", 1);
	load_ok();
	ck_assert_uint_eq(cfg.addr6.family, 0);
	ck_assert_uint_eq(cfg.gw6.family, 0);
	unsetenv("NETSHIM_ADDR6");

	expect_bad("NETSHIM_ADDR6", "2001:db8::g/64",
		   "not an IPv6 address/prefix (e.g. 2001:db8::2/64");
	expect_bad("NETSHIM_ADDR6", "2001:db8::2", NULL);
	expect_bad("NETSHIM_ADDR6", "2001:db8::2/129", NULL);
	expect_bad("NETSHIM_ADDR6", "192.0.2.2/24", "IPv6");
	expect_bad("NETSHIM_ADDR6", "::1/64", "loopback");
	expect_bad("NETSHIM_ADDR6", "::/64", "unspecified");
	expect_bad("NETSHIM_ADDR6", "ff02::1/64", "multicast");
	expect_bad("NETSHIM_ADDR6", "::ffff:192.0.2.2/96", "IPv4-mapped");
	expect_bad("NETSHIM_ADDR6", "2001:db8::2/128", "no room");
}
END_TEST

START_TEST(no_address_at_all)
{
	setenv("NETSHIM_ADDR", "none", 1);
	setenv("NETSHIM_ADDR6", "none", 1);
	ck_assert_int_eq(shim_config_load(&cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NETSHIM_ADDR="));
	ck_assert_ptr_nonnull(strstr(err, "NETSHIM_ADDR6="));
	ck_assert_ptr_null(strchr(err, '\n'));
	/* either one alone is fine */
	setenv("NETSHIM_ADDR6", "2001:db8::2/64", 1);
	load_ok();
	ck_assert_uint_eq(cfg.addr4.family, 0);
}
END_TEST

START_TEST(gateway4)
{
	setenv("NETSHIM_GATEWAY", "192.0.2.254", 1);
	load_ok();
	expect_addr(&cfg.gw4, "192.0.2.254");
	unsetenv("NETSHIM_GATEWAY");

	expect_bad("NETSHIM_GATEWAY", "198.51.100.1",
		   "not inside NETSHIM_ADDR's prefix 192.0.2.2/24");
	expect_bad("NETSHIM_GATEWAY", "192.0.2.2", "the same as NETSHIM_ADDR");
	expect_bad("NETSHIM_GATEWAY", "192.0.2.255", "broadcast");
	expect_bad("NETSHIM_GATEWAY", "2001:db8::1", "IPv4");
	expect_bad("NETSHIM_GATEWAY", "gateway", "e.g. 192.0.2.1");
	expect_bad("NETSHIM_GATEWAY", "192.0.2.1/24", NULL);
	setenv("NETSHIM_ADDR", "none", 1);
	expect_bad("NETSHIM_GATEWAY", "192.0.2.1", "NETSHIM_ADDR is none");
}
END_TEST

START_TEST(gateway6)
{
	setenv("NETSHIM_GATEWAY6", "2001:db8::ffff", 1);
	load_ok();
	expect_addr(&cfg.gw6, "2001:db8::ffff");
	unsetenv("NETSHIM_GATEWAY6");

	expect_bad("NETSHIM_GATEWAY6", "2001:db8:1::1", "not inside NETSHIM_ADDR6's prefix");
	expect_bad("NETSHIM_GATEWAY6", "2001:db8::2", "the same as NETSHIM_ADDR6");
	expect_bad("NETSHIM_GATEWAY6", "192.0.2.1", "IPv6");
	expect_bad("NETSHIM_GATEWAY6", "ff02::1", "multicast");
	setenv("NETSHIM_ADDR6", "none", 1);
	expect_bad("NETSHIM_GATEWAY6", "2001:db8::1", "NETSHIM_ADDR6 is none");
}
END_TEST

START_TEST(mtu)
{
	setenv("NETSHIM_MTU", "1500", 1);
	load_ok();
	ck_assert_uint_eq(cfg.mtu, 1500);
	setenv("NETSHIM_MTU", "0", 1);
	load_ok();
	ck_assert_uint_eq(cfg.mtu, 0);
	setenv("NETSHIM_MTU", "65535", 1);
	load_ok();
	setenv("NETSHIM_MTU", "1280", 1);
	load_ok();
	setenv("NETSHIM_ADDR6", "none", 1);
	setenv("NETSHIM_MTU", "68", 1);
	load_ok(); /* IPv4 only: RFC 791's minimum */
	ck_assert_uint_eq(cfg.mtu, 68);
	expect_bad("NETSHIM_MTU", "67", "68");
	unsetenv("NETSHIM_ADDR6");

	expect_bad("NETSHIM_MTU", "1000", "1280");
	expect_bad("NETSHIM_MTU", "65536", "68..65535");
	expect_bad("NETSHIM_MTU", "99999999999999999999999", NULL);
	expect_bad("NETSHIM_MTU", "-1", NULL);
	expect_bad("NETSHIM_MTU", "1500x", NULL);
	expect_bad("NETSHIM_MTU", "0x5dc", NULL);
	expect_bad("NETSHIM_MTU", "big", NULL);
}
END_TEST

START_TEST(dns)
{
	setenv("NETSHIM_DNS", "192.0.2.53", 1);
	load_ok();
	ck_assert_int_eq(cfg.ndns, 1);
	expect_addr(&cfg.dns[0], "192.0.2.53");
	ck_assert_uint_eq(cfg.dns[0].port, 53);

	setenv("NETSHIM_DNS", "192.0.2.53:5353, [2001:db8::53]:54,2001:db8::35", 1);
	load_ok();
	ck_assert_int_eq(cfg.ndns, 3);
	ck_assert_uint_eq(cfg.dns[0].port, 5353);
	expect_addr(&cfg.dns[1], "2001:db8::53");
	ck_assert_uint_eq(cfg.dns[1].port, 54);
	expect_addr(&cfg.dns[2], "2001:db8::35");
	ck_assert_uint_eq(cfg.dns[2].port, 53);

	setenv("NETSHIM_DNS", "[2001:db8::1]", 1);
	load_ok();
	ck_assert_uint_eq(cfg.dns[0].port, 53);
	setenv("NETSHIM_DNS", "none", 1);
	load_ok();
	ck_assert_int_eq(cfg.ndns, 0);
	/* a server on the stack's own loopback needs no interface address */
	setenv("NETSHIM_ADDR", "none", 1);
	setenv("NETSHIM_DNS", "127.0.0.1:5353", 1);
	load_ok();
	expect_bad("NETSHIM_DNS", "192.0.2.1", "NETSHIM_ADDR is none");
	unsetenv("NETSHIM_ADDR");
	setenv("NETSHIM_ADDR6", "none", 1);
	expect_bad("NETSHIM_DNS", "2001:db8::1", "NETSHIM_ADDR6 is none");
	unsetenv("NETSHIM_ADDR6");

	expect_bad("NETSHIM_DNS", "192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4", "more than 3");
	expect_bad("NETSHIM_DNS", "192.0.2.300", "\"192.0.2.300\" is not a server address");
	expect_bad("NETSHIM_DNS", "192.0.2.1:0", NULL);
	expect_bad("NETSHIM_DNS", "192.0.2.1:65536", NULL);
	expect_bad("NETSHIM_DNS", "192.0.2.1:", NULL);
	expect_bad("NETSHIM_DNS", "[2001:db8::1", NULL);
	expect_bad("NETSHIM_DNS", "[2001:db8::1]x", NULL);
	expect_bad("NETSHIM_DNS", "[192.0.2.1]:53", NULL);
	expect_bad("NETSHIM_DNS", "192.0.2.1,,192.0.2.2", "empty");
	expect_bad("NETSHIM_DNS", "192.0.2.1,", "empty");
	expect_bad("NETSHIM_DNS", "dns.example.com", NULL);
	expect_bad("NETSHIM_DNS", "0.0.0.0", NULL);
	expect_bad("NETSHIM_DNS", "224.0.0.251", "multicast");
}
END_TEST

START_TEST(search)
{
	setenv("NETSHIM_SEARCH", "example.com corp.example.net.", 1);
	load_ok();
	ck_assert(cfg.search_set);
	ck_assert_int_eq(cfg.nsearch, 2);
	ck_assert_str_eq(cfg.search[0], "example.com");
	ck_assert_str_eq(cfg.search[1], "corp.example.net");

	setenv("NETSHIM_SEARCH", "a,b  c,d e,f", 1);
	load_ok();
	ck_assert_int_eq(cfg.nsearch, 6);
	ck_assert_str_eq(cfg.search[5], "f");

	setenv("NETSHIM_SEARCH", "", 1); /* given and empty: no search list */
	load_ok();
	ck_assert(cfg.search_set);
	ck_assert_int_eq(cfg.nsearch, 0);

	char label[80];

	memset(label, 'a', 64);
	strcpy(label + 64, ".example");
	expect_bad("NETSHIM_SEARCH", "a b c d e f g", "more than 6");
	expect_bad("NETSHIM_SEARCH", label, "not a domain name");
	expect_bad("NETSHIM_SEARCH", "example..com", NULL);
	expect_bad("NETSHIM_SEARCH", ".example.com", NULL);
	expect_bad("NETSHIM_SEARCH", "exa!mple.com", NULL);
}
END_TEST

START_TEST(hosts)
{
	char path[] = "/tmp/netshim-unit-hosts.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "192.0.2.9 h\n", 12), 12);
	close(fd);
	setenv("NETSHIM_HOSTS", path, 1);
	load_ok();
	ck_assert_str_eq(cfg.hosts, path);
	unsetenv("NETSHIM_HOSTS");
	unlink(path);

	expect_bad("NETSHIM_HOSTS", path, "No such file");
	expect_bad("NETSHIM_HOSTS", "/tmp", "a directory");
}
END_TEST

START_TEST(pcap)
{
	setenv("NETSHIM_PCAP", "/tmp/netshim-unit.pcap", 1);
	load_ok();
	ck_assert_str_eq(cfg.pcap, "/tmp/netshim-unit.pcap");
	setenv("NETSHIM_PCAP", "relative.pcap", 1); /* in ".", which exists */
	load_ok();
	unsetenv("NETSHIM_PCAP");

	expect_bad("NETSHIM_PCAP", "/nonexistent-netshim/x.pcap",
		   "directory /nonexistent-netshim does not exist");
	expect_bad("NETSHIM_PCAP", "/tmp", "is a directory");
	expect_bad("NETSHIM_PCAP", "/etc/hostname/x.pcap", "does not exist");
}
END_TEST

START_TEST(log_level_and_file)
{
	static const struct {
		const char *v;
		enum shim_log_level lvl;
	} good[] = {
	    {"error", SHIM_LOG_ERROR}, {"warn", SHIM_LOG_WARN},	  {"info", SHIM_LOG_INFO},
	    {"debug", SHIM_LOG_DEBUG}, {"DEBUG", SHIM_LOG_DEBUG}, {"none", SHIM_LOG_NONE},
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("NETSHIM_LOG", good[i].v, 1);
		load_ok();
		ck_assert_int_eq(cfg.log_level, good[i].lvl);
		ck_assert_str_eq(cfg.log_file, "");
	}
	setenv("NETSHIM_LOG", "info:/tmp/netshim-unit.log", 1);
	load_ok();
	ck_assert_int_eq(cfg.log_level, SHIM_LOG_INFO);
	ck_assert_str_eq(cfg.log_file, "/tmp/netshim-unit.log");
	unsetenv("NETSHIM_LOG");

	expect_bad("NETSHIM_LOG", "loud", "not a log level");
	expect_bad("NETSHIM_LOG", "debugx", NULL);
	expect_bad("NETSHIM_LOG", "debug:", "no file");
	expect_bad("NETSHIM_LOG", "debug:/nonexistent-netshim/x.log", "does not exist");
}
END_TEST

START_TEST(linger)
{
	setenv("NETSHIM_LINGER", "0", 1);
	load_ok();
	ck_assert_uint_eq(cfg.linger_ms, 0);
	setenv("NETSHIM_LINGER", "600000", 1);
	load_ok();
	ck_assert_uint_eq(cfg.linger_ms, 600000);
	unsetenv("NETSHIM_LINGER");

	expect_bad("NETSHIM_LINGER", "600001", "0..600000");
	expect_bad("NETSHIM_LINGER", "10s", NULL);
	expect_bad("NETSHIM_LINGER", "-5", NULL);
}
END_TEST

START_TEST(tcp_congestion)
{
	load_ok();
	ck_assert_str_eq(cfg.tcp_congestion, ""); /* the stack's default */
	setenv("NETSHIM_TCP_CONGESTION", "bbr", 1);
	load_ok();
	ck_assert_str_eq(cfg.tcp_congestion, "bbr");
	setenv("NETSHIM_TCP_CONGESTION", "reno", 1);
	load_ok();
	ck_assert_str_eq(cfg.tcp_congestion, "reno");
	unsetenv("NETSHIM_TCP_CONGESTION");

	expect_bad("NETSHIM_TCP_CONGESTION", "vegas", "cubic, the default, reno or bbr");
	expect_bad("NETSHIM_TCP_CONGESTION", "bbrbbrbbrbbrbbrbbr", NULL);
}
END_TEST

START_TEST(error_line_shape)
{
	char longv[600];

	/* a long value is cut, so the fix at the end stays in the line */
	memset(longv, '9', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	expect_bad("NETSHIM_MTU", longv, "...\": ");
	ck_assert_ptr_nonnull(strstr(err, "e.g. 1500"));
	/* control characters never break the line */
	expect_bad("NETSHIM_ADDR", "192.0.2.2\n/24", "192.0.2.2?/24");
	/* a short buffer gets a cut line, never an overflow */
	setenv("NETSHIM_ADDR", "bad", 1);
	ck_assert_int_eq(shim_config_load(&cfg, err, 8), -1);
	ck_assert_str_eq(err, "NETSHIM");
	ck_assert_int_eq(shim_config_load(&cfg, NULL, 0), -1);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, tun);
	tcase_add_test(tc, addr4);
	tcase_add_test(tc, addr6);
	tcase_add_test(tc, no_address_at_all);
	tcase_add_test(tc, gateway4);
	tcase_add_test(tc, gateway6);
	tcase_add_test(tc, mtu);
	tcase_add_test(tc, dns);
	tcase_add_test(tc, search);
	tcase_add_test(tc, hosts);
	tcase_add_test(tc, pcap);
	tcase_add_test(tc, log_level_and_file);
	tcase_add_test(tc, linger);
	tcase_add_test(tc, tcp_congestion);
	tcase_add_test(tc, error_line_shape);
	suite_add_tcase(s, tc);
	return s;
}
