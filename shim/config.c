/*
 * config.c — the NETSHIM_* environment variables -> struct shim_config.
 * Called once by the library at load (engine.c) and by the launcher
 * (launcher.c) before it runs the program; calls only libc (getenv, stat,
 * access), stack_addr_parse() and stack_tcp_congestion_known().  Every error is one line that names the
 * variable, shows its value and says how to fix it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define DEFAULT_ADDR4 "192.0.2.2/24"
#define DEFAULT_ADDR6 "2001:db8::2/64"
#define DEFAULT_LINGER_MS 10000
#define MAX_LINGER_MS 600000
#define DNS_PORT 53
#define SHOW_MAX 100  /* bytes of a bad value quoted in an error */
#define IFNAME_MAX 16 /* IFNAMSIZ, without <net/if.h> */

/* One parse: the error buffer it fills. */
struct ctx {
	char *err;
	size_t errlen;
};

/* ---- errors ------------------------------------------------------------- */

/* Copy a value for an error line: control characters become '?' (the
 * line stays one line) and a long value is cut (the fix stays visible). */
static void show_value(const char *v, char *out, size_t n)
{
	size_t i = 0;

	for (; v[i] && i < SHOW_MAX && i + 4 < n; i++) {
		unsigned char c = (unsigned char)v[i];

		out[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
	}
	if (v[i])
		memcpy(out + i, "...", 4);
	else
		out[i] = 0;
}

/* VAR="value": why (the fix).  Always returns -1. */
__attribute__((format(printf, 4, 5))) static int bad(struct ctx *c, const char *var,
						     const char *val, const char *fmt, ...)
{
	char shown[SHOW_MAX + 8], why[SHIM_ERRLEN];
	va_list ap;

	if (!c->err || !c->errlen)
		return -1;
	show_value(val, shown, sizeof(shown));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s=\"%s\": %s", var, shown, why);
	return -1;
}

/* ---- small parsers -------------------------------------------------------- */

/* The variable's value; unset and empty both mean "the default". */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Decimal digits only (no sign, spaces or base prefix), at most max. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static int addr_bytes(const struct stack_sockaddr *a)
{
	return a->family == STACK_AF_INET ? 4 : 16;
}

/* Is bit i (0 = most significant) of addr set? */
static int bit(const uint8_t *addr, unsigned i)
{
	return addr[i / 8] >> (7 - i % 8) & 1;
}

/* Do a and b agree on their first prefix bits? */
static bool same_prefix(const struct stack_sockaddr *a, const struct stack_sockaddr *b,
			unsigned prefix)
{
	for (unsigned i = 0; i < prefix; i++)
		if (bit(a->addr, i) != bit(b->addr, i))
			return false;
	return true;
}

static bool addr_eq(const struct stack_sockaddr *a, const struct stack_sockaddr *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, (size_t)addr_bytes(a));
}

/* Why an address cannot be an interface's own (ours or the kernel
 * side's), or NULL when it can.  RFC 6890 special-purpose ranges. */
static const char *unusable(const struct stack_sockaddr *a)
{
	const uint8_t *b = a->addr;
	static const uint8_t zero[16], one[16] = {[15] = 1};

	if (a->family == STACK_AF_INET) {
		if (b[0] == 0)
			return "in 0.0.0.0/8 (\"this network\")";
		if (b[0] == 127)
			return "a loopback address, which the stack keeps for itself";
		if (b[0] >= 224 && b[0] < 240)
			return "a multicast address";
		if (b[0] >= 240)
			return "a reserved or broadcast address";
		return NULL;
	}
	if (!memcmp(b, zero, 16))
		return "the unspecified address";
	if (!memcmp(b, one, 16))
		return "the loopback address, which the stack keeps for itself";
	if (b[0] == 0xff)
		return "a multicast address";
	if (!memcmp(b, zero, 10) && b[10] == 0xff && b[11] == 0xff)
		return "an IPv4-mapped address";
	return NULL;
}

/* For an IPv4 prefix of 30 bits or fewer, the all-zeros and all-ones host
 * parts name the network and its broadcast, not a host (RFC 919, 922). */
static const char *not_a_host4(const struct stack_sockaddr *a, unsigned prefix)
{
	bool zeros = true, ones = true;

	if (a->family != STACK_AF_INET || prefix > 30)
		return NULL;
	for (unsigned i = prefix; i < 32; i++) {
		if (bit(a->addr, i))
			zeros = false;
		else
			ones = false;
	}
	if (zeros)
		return "the network address of its prefix, not a host";
	if (ones)
		return "the broadcast address of its prefix, not a host";
	return NULL;
}

/* Add k to the address (big-endian, carrying). */
static void addr_add(struct stack_sockaddr *a, unsigned k)
{
	for (int i = addr_bytes(a) - 1; i >= 0 && k; i--) {
		k += a->addr[i];
		a->addr[i] = (uint8_t)k;
		k >>= 8;
	}
}

/* The default kernel side of addr/prefix: the other address of a /31 or
 * /127 (RFC 3021, RFC 6164), otherwise the prefix's first host (192.0.2.1
 * for 192.0.2.2/24), or the second when the first is addr itself. */
static void default_gateway(const struct stack_sockaddr *addr, unsigned prefix,
			    struct stack_sockaddr *gw)
{
	unsigned bits = (unsigned)addr_bytes(addr) * 8;

	*gw = *addr;
	if (prefix == bits - 1) {
		gw->addr[bits / 8 - 1] ^= 1;
		return;
	}
	for (unsigned i = prefix; i < bits; i++)
		gw->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	addr_add(gw, 1);
	if (addr_eq(gw, addr))
		addr_add(gw, 1);
}

/* ---- the variables --------------------------------------------------------- */

/* The kernel's dev_valid_name(): what tun_name_valid() checks too (tun/ is
 * not linked into the launcher, so the rules are repeated here). */
static int load_tun(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_TUN");
	size_t n;

	if (!v)
		return 0;
	n = strlen(v);
	if (n >= IFNAME_MAX || !strcmp(v, ".") || !strcmp(v, ".."))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '/' || ch == ':' || ch <= ' ' || ch == 0x7f)
			goto fail;
	}
	memcpy(cfg->tun, v, n + 1);
	return 0;
fail:
	return bad(c, "NETSHIM_TUN", v,
		   "not a device name (1 to %d characters, no '/', ':' or whitespace, "
		   "not . or ..; e.g. ns0)",
		   IFNAME_MAX - 1);
}

/* NETSHIM_ADDR or NETSHIM_ADDR6: "A/PREFIX" or "none". */
static int load_addr(struct ctx *c, const char *var, uint16_t family, const char *def,
		     struct stack_sockaddr *addr, unsigned *prefix)
{
	const char *v = env(var), *slash, *why;
	bool v4 = family == STACK_AF_INET;
	unsigned bits = v4 ? 32 : 128;
	const char *kind = v4 ? "an IPv4" : "an IPv6";
	const char *eg = v4 ? DEFAULT_ADDR4 : DEFAULT_ADDR6;
	char host[64];
	unsigned long p;

	if (!v)
		v = def;
	if (!strcasecmp(v, "none")) {
		memset(addr, 0, sizeof(*addr));
		*prefix = 0;
		return 0;
	}
	slash = strrchr(v, '/');
	if (!slash || (size_t)(slash - v) >= sizeof(host))
		goto syntax;
	memcpy(host, v, (size_t)(slash - v));
	host[slash - v] = 0;
	if (stack_addr_parse(host, addr) || addr->family != family)
		goto syntax;
	if (parse_uint(slash + 1, bits, &p) || p == 0)
		goto syntax;
	*prefix = (unsigned)p;
	if ((why = unusable(addr)) || (why = not_a_host4(addr, *prefix)))
		return bad(c, var, v, "%s is %s (use another, e.g. %s)", host, why, eg);
	if (p == bits)
		return bad(c, var, v,
			   "a /%u prefix leaves no room for the kernel side's address "
			   "(use a shorter prefix, e.g. %s)",
			   bits, eg);
	return 0;
syntax:
	return bad(c, var, v, "not %s address/prefix (e.g. %s, or none)", kind, eg);
}

/* NETSHIM_GATEWAY or NETSHIM_GATEWAY6: the kernel side, inside the
 * address's prefix and different from it; derived when not given. */
static int load_gateway(struct ctx *c, const char *var, const char *addr_var,
			const struct stack_sockaddr *addr, unsigned prefix,
			struct stack_sockaddr *gw)
{
	const char *v = env(var), *why;
	bool v4 = addr->family == STACK_AF_INET;
	char a[STACK_ADDRSTRLEN], eg[STACK_ADDRSTRLEN];

	if (!addr->family) {
		memset(gw, 0, sizeof(*gw));
		if (v)
			return bad(c, var, v,
				   "%s is none, so there is no gateway to set "
				   "(unset %s, or give %s an address)",
				   addr_var, var, addr_var);
		return 0;
	}
	default_gateway(addr, prefix, gw);
	if (!v)
		return 0;
	stack_addr_format(gw, eg, sizeof(eg));
	stack_addr_format(addr, a, sizeof(a));
	if (stack_addr_parse(v, gw) || gw->family != addr->family)
		return bad(c, var, v, "not an %s address (e.g. %s)", v4 ? "IPv4" : "IPv6", eg);
	if ((why = unusable(gw)) || (why = not_a_host4(gw, prefix)))
		return bad(c, var, v, "it is %s (use another, e.g. %s)", why, eg);
	if (!same_prefix(gw, addr, prefix))
		return bad(c, var, v,
			   "not inside %s's prefix %s/%u (use an address in it, e.g. %s)", addr_var,
			   a, prefix, eg);
	if (addr_eq(gw, addr))
		return bad(c, var, v,
			   "the same as %s; the kernel side needs its own address "
			   "(e.g. %s)",
			   addr_var, eg);
	return 0;
}

static int load_mtu(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_MTU");
	unsigned long m;

	if (!v)
		return 0;
	if (parse_uint(v, 65535, &m))
		return bad(c, "NETSHIM_MTU", v,
			   "not an MTU (a number of bytes, 68..65535, e.g. 1500; 0 keeps the "
			   "device's)");
	if (m && m < 68)
		return bad(c, "NETSHIM_MTU", v,
			   "below IPv4's minimum of 68 bytes (RFC 791; e.g. 1500, or 0 to keep "
			   "the device's)");
	if (m && m < 1280 && cfg->addr6.family)
		return bad(
		    c, "NETSHIM_MTU", v,
		    "IPv6 needs an MTU of at least 1280 bytes (RFC 8200 section 5; raise it, "
		    "or set NETSHIM_ADDR6=none)");
	cfg->mtu = (uint32_t)m;
	return 0;
}

/* One NETSHIM_DNS entry: 192.0.2.1, 192.0.2.1:5353, 2001:db8::1,
 * [2001:db8::1] or [2001:db8::1]:5353. */
static int parse_dns_one(char *s, struct stack_sockaddr *a)
{
	char *port = NULL, *colon;
	unsigned long p = DNS_PORT;

	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -1;
		if (close[1] == ':')
			port = close + 2;
		*close = 0;
		s++;
		if (!strchr(s, ':'))
			return -1; /* brackets are for IPv6 only */
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		*colon = 0; /* exactly one colon: IPv4:port */
		port = colon + 1;
	}
	if (stack_addr_parse(s, a))
		return -1;
	if (port && (parse_uint(port, 65535, &p) || p == 0))
		return -1;
	a->port = (uint16_t)p;
	return 0;
}

static bool is_loopback(const struct stack_sockaddr *a)
{
	static const uint8_t one[16] = {[15] = 1};

	if (a->family == STACK_AF_INET)
		return a->addr[0] == 127;
	return !memcmp(a->addr, one, 16);
}

static void trim(char **s)
{
	char *e;

	while (isspace((unsigned char)**s))
		(*s)++;
	e = *s + strlen(*s);
	while (e > *s && isspace((unsigned char)e[-1]))
		*--e = 0;
}

static int load_dns(struct ctx *c, struct shim_config *cfg)
{
	static const char eg[] = "e.g. 192.0.2.1, 192.0.2.1:5353, 2001:db8::1 or "
				 "[2001:db8::1]:5353, comma-separated";
	const char *v = env("NETSHIM_DNS");
	char buf[512], *s, *next;

	if (!v || !strcasecmp(v, "none"))
		return 0;
	if (strlen(v) >= sizeof(buf))
		return bad(c, "NETSHIM_DNS", v, "too long (at most %d servers, %s)", SHIM_MAX_DNS,
			   eg);
	strcpy(buf, v);
	for (s = buf; s; s = next) {
		struct stack_sockaddr *a = &cfg->dns[cfg->ndns];
		char entry[sizeof(buf)];
		const char *why;

		next = strchr(s, ',');
		if (next)
			*next++ = 0;
		trim(&s);
		strcpy(entry, s);
		if (!*s)
			return bad(c, "NETSHIM_DNS", v, "an empty entry (%s)", eg);
		if (cfg->ndns == SHIM_MAX_DNS)
			return bad(c, "NETSHIM_DNS", v,
				   "more than %d servers (give at most %d, %s)", SHIM_MAX_DNS,
				   SHIM_MAX_DNS, eg);
		if (parse_dns_one(s, a))
			return bad(c, "NETSHIM_DNS", v, "\"%s\" is not a server address (%s)",
				   entry, eg);
		if ((why = unusable(a)) && !is_loopback(a))
			return bad(c, "NETSHIM_DNS", v, "\"%s\" is %s, not a server (%s)", entry,
				   why, eg);
		if (!is_loopback(a) && a->family == STACK_AF_INET && !cfg->addr4.family)
			return bad(
			    c, "NETSHIM_DNS", v,
			    "\"%s\" is IPv4 but NETSHIM_ADDR is none (give an IPv6 server, or "
			    "an IPv4 address)",
			    entry);
		if (!is_loopback(a) && a->family == STACK_AF_INET6 && !cfg->addr6.family)
			return bad(
			    c, "NETSHIM_DNS", v,
			    "\"%s\" is IPv6 but NETSHIM_ADDR6 is none (give an IPv4 server, or "
			    "an IPv6 address)",
			    entry);
		cfg->ndns++;
	}
	return 0;
}

/* A search domain: labels of letters, digits, '-' and '_', 1..63 bytes
 * each, 253 in all (RFC 1035 section 2.3.4), one trailing dot allowed. */
static bool domain_ok(char *d)
{
	size_t n = strlen(d), label = 0;

	if (n && d[n - 1] == '.')
		d[--n] = 0;
	if (!n || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (ch == '.' || !ch) {
			if (!label)
				return false;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int load_search(struct ctx *c, struct shim_config *cfg)
{
	const char *v = getenv("NETSHIM_SEARCH"); /* set and empty: no search list */
	char buf[SHIM_MAX_SEARCH * SHIM_SEARCH_LEN], *s, *save = NULL;

	if (!v)
		return 0;
	cfg->search_set = true;
	if (strlen(v) >= sizeof(buf))
		return bad(c, "NETSHIM_SEARCH", v,
			   "too long (at most %d domains, e.g. example.com)", SHIM_MAX_SEARCH);
	strcpy(buf, v);
	for (s = strtok_r(buf, " ,\t", &save); s; s = strtok_r(NULL, " ,\t", &save)) {
		char d[SHIM_SEARCH_LEN];

		if (strlen(s) >= sizeof(d))
			return bad(c, "NETSHIM_SEARCH", v, "a domain longer than 253 bytes");
		strcpy(d, s);
		if (!domain_ok(d))
			return bad(c, "NETSHIM_SEARCH", v,
				   "\"%s\" is not a domain name (e.g. example.com; separate "
				   "domains with spaces or commas)",
				   s);
		if (cfg->nsearch == SHIM_MAX_SEARCH)
			return bad(c, "NETSHIM_SEARCH", v, "more than %d domains (give at most %d)",
				   SHIM_MAX_SEARCH, SHIM_MAX_SEARCH);
		strcpy(cfg->search[cfg->nsearch++], d);
	}
	return 0;
}

static int load_hosts(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_HOSTS");
	struct stat st;

	if (!v)
		return 0;
	if (strlen(v) >= SHIM_PATH_LEN)
		return bad(c, "NETSHIM_HOSTS", v, "path too long (at most %d bytes)",
			   SHIM_PATH_LEN - 1);
	if (stat(v, &st))
		return bad(c, "NETSHIM_HOSTS", v, "%s (give an existing file in /etc/hosts format)",
			   strerror(errno));
	if (S_ISDIR(st.st_mode))
		return bad(c, "NETSHIM_HOSTS", v, "a directory (give a file in /etc/hosts format)");
	if (access(v, R_OK))
		return bad(c, "NETSHIM_HOSTS", v, "not readable: %s (fix its permissions)",
			   strerror(errno));
	strcpy(cfg->hosts, v);
	return 0;
}

/* A file the library will create (pcap, log): its directory must exist
 * and take new files; the path itself must not be a directory. */
static int check_new_file(struct ctx *c, const char *var, const char *v, const char *path,
			  char *out)
{
	char dir[SHIM_PATH_LEN], *slash;
	struct stat st;

	if (strlen(path) >= SHIM_PATH_LEN)
		return bad(c, var, v, "path too long (at most %d bytes)", SHIM_PATH_LEN - 1);
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return bad(c, var, v, "%s is a directory (give a file name in it)", path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return bad(c, var, v,
			   "directory %s does not exist (create it, or give a path in an existing "
			   "directory)",
			   dir);
	if (access(dir, W_OK | X_OK))
		return bad(c, var, v, "cannot create files in %s: %s (give a writable directory)",
			   dir, strerror(errno));
	strcpy(out, path);
	return 0;
}

static int load_pcap(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_PCAP");

	return v ? check_new_file(c, "NETSHIM_PCAP", v, v, cfg->pcap) : 0;
}

static int load_log(struct ctx *c, struct shim_config *cfg)
{
	static const struct {
		const char *name;
		enum shim_log_level lvl;
	} levels[] = {
	    {"none", SHIM_LOG_NONE},	{"error", SHIM_LOG_ERROR}, {"warn", SHIM_LOG_WARN},
	    {"warning", SHIM_LOG_WARN}, {"info", SHIM_LOG_INFO},   {"debug", SHIM_LOG_DEBUG},
	};
	const char *v = env("NETSHIM_LOG"), *colon;
	size_t n;

	if (!v)
		return 0;
	colon = strchr(v, ':');
	n = colon ? (size_t)(colon - v) : strlen(v);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strlen(levels[i].name) != n || strncasecmp(v, levels[i].name, n))
			continue;
		cfg->log_level = levels[i].lvl;
		if (!colon)
			return 0;
		if (!colon[1])
			return bad(c, "NETSHIM_LOG", v,
				   "no file after ':' (e.g. debug:/tmp/netshim.log, or just debug "
				   "for stderr)");
		return check_new_file(c, "NETSHIM_LOG", v, colon + 1, cfg->log_file);
	}
	return bad(c, "NETSHIM_LOG", v,
		   "not a log level (error, warn, info or debug, optionally :FILE, e.g. "
		   "info:/tmp/netshim.log)");
}

static int load_linger(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_LINGER");
	unsigned long ms;

	if (!v)
		return 0;
	if (parse_uint(v, MAX_LINGER_MS, &ms))
		return bad(c, "NETSHIM_LINGER", v,
			   "not a time in milliseconds, 0..%d (e.g. %d; 0 exits at once)",
			   MAX_LINGER_MS, DEFAULT_LINGER_MS);
	cfg->linger_ms = (uint32_t)ms;
	return 0;
}

/* Linux's net.ipv4.tcp_congestion_control for every socket. */
static int load_congestion(struct ctx *c, struct shim_config *cfg)
{
	const char *v = env("NETSHIM_TCP_CONGESTION");

	if (!v || !*v)
		return 0;
	if (strlen(v) >= sizeof(cfg->tcp_congestion) || !stack_tcp_congestion_known(v))
		return bad(c, "NETSHIM_TCP_CONGESTION", v,
			   "not a congestion control netshim has (cubic, the default, reno or bbr)");
	snprintf(cfg->tcp_congestion, sizeof(cfg->tcp_congestion), "%s", v);
	return 0;
}

int shim_config_load(struct shim_config *cfg, char *err, size_t errlen)
{
	struct ctx c = {err, errlen};

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = 0;
	cfg->log_level = SHIM_LOG_NONE;
	cfg->linger_ms = DEFAULT_LINGER_MS;

	if (load_tun(&c, cfg) ||
	    load_addr(&c, "NETSHIM_ADDR", STACK_AF_INET, DEFAULT_ADDR4, &cfg->addr4,
		      &cfg->prefix4) ||
	    load_addr(&c, "NETSHIM_ADDR6", STACK_AF_INET6, DEFAULT_ADDR6, &cfg->addr6,
		      &cfg->prefix6))
		return -1;
	if (!cfg->addr4.family && !cfg->addr6.family) {
		if (err && errlen)
			snprintf(
			    err, errlen,
			    "NETSHIM_ADDR=\"none\" and NETSHIM_ADDR6=\"none\": no address at all "
			    "(give at least one, e.g. NETSHIM_ADDR=%s)",
			    DEFAULT_ADDR4);
		return -1;
	}
	if (load_gateway(&c, "NETSHIM_GATEWAY", "NETSHIM_ADDR", &cfg->addr4, cfg->prefix4,
			 &cfg->gw4) ||
	    load_gateway(&c, "NETSHIM_GATEWAY6", "NETSHIM_ADDR6", &cfg->addr6, cfg->prefix6,
			 &cfg->gw6) ||
	    load_mtu(&c, cfg) || load_dns(&c, cfg) || load_search(&c, cfg) || load_hosts(&c, cfg) ||
	    load_pcap(&c, cfg) || load_log(&c, cfg) || load_linger(&c, cfg) ||
	    load_congestion(&c, cfg))
		return -1;
	return 0;
}
