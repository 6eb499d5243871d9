# netshim — build, test, demo.  See README.md.
#   make          build everything into build/
#   make test     install what is missing (Debian), build, run every test
#   make deps     only the install step (scripts/setup-deps.sh)

CC      ?= cc
PKGS    := libbsd-overlay
CHECK   := check
BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -fPIC \
	-Wno-missing-field-initializers $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS) -Istack -Itun -Ishim
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

B := build
STACK_SRC := $(wildcard stack/*.c)
TUN_SRC   := $(wildcard tun/*.c)
SHIM_SRC  := $(filter-out shim/launcher.c,$(wildcard shim/*.c))
# Pure shim modules (no hooks, no globals) the unit tests also exercise.
SHIM_UNIT_SRC := shim/config.c shim/dns.c
UNIT_SRC  := $(wildcard tests/unit/*.c)
HDRS      := $(wildcard stack/*.h tun/*.h shim/*.h shim/*.def tests/unit/*.h)

STACK_OBJ     := $(STACK_SRC:%.c=$(B)/obj/%.o)
STACK_SAN_OBJ := $(STACK_SRC:%.c=$(B)/san/%.o)
TUN_OBJ       := $(TUN_SRC:%.c=$(B)/obj/%.o)
SHIM_OBJ      := $(SHIM_SRC:%.c=$(B)/obj/%.o)
UNIT_OBJ      := $(UNIT_SRC:%.c=$(B)/san/%.o) $(SHIM_UNIT_SRC:%.c=$(B)/san/%.o)

TOOLS := $(B)/netshim-echod $(B)/netshim-tcpdrv
TEST_TOOLS := $(B)/tests/udpprobe $(B)/tests/tcpprobe $(B)/tests/tcphostile $(B)/tests/tcpdrv-san
PD_SO := $(B)/netshim-packetdrill.so
PD_DRIVE := $(B)/tests/pdrive

.PHONY: all test unit integration deps clean format demo bench install
PREFIX ?= /usr/local
all: $(B)/libnetshim-stack.a $(B)/libnetshim.so $(B)/netshim $(TOOLS) $(TEST_TOOLS) $(PD_SO) $(PD_DRIVE)

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -Itests/unit -I$(B)/san -c $< -o $@

$(B)/libnetshim-stack.a: $(STACK_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The LD_PRELOAD library exports only the hooks listed in shim/hooks.def.
$(B)/netshim.map: $(wildcard shim/hooks*.def)
	@mkdir -p $(B)
	@{ echo '{'; echo '  global:'; cat $^ | sed -n 's/^HOOK(\([A-Za-z_0-9]*\),.*/    \1;/p'; \
	   echo '  local: *;'; echo '};'; } > $@

$(B)/libnetshim.so: $(SHIM_OBJ) $(STACK_OBJ) $(TUN_OBJ) $(B)/netshim.map
	$(CC) -shared -Wl,--version-script=$(B)/netshim.map -Wl,-z,defs -o $@ \
		$(SHIM_OBJ) $(STACK_OBJ) $(TUN_OBJ) $(LIBS) -ldl -pthread

# The launcher: options -> NETSHIM_* + LD_PRELOAD, then exec (README.md).
$(B)/netshim: shim/launcher.c shim/config.c $(B)/libnetshim-stack.a $(HDRS)
	$(CC) $(ALL_CFLAGS) -o $@ shim/launcher.c shim/config.c $(B)/libnetshim-stack.a $(LIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(B)/netshim $(DESTDIR)$(PREFIX)/bin/netshim
	install -m 755 $(B)/libnetshim.so $(DESTDIR)$(PREFIX)/lib/libnetshim.so

demo: deps
	$(MAKE) all
	scripts/demo.sh

$(B)/netshim-echod: tools/echod.c $(TUN_OBJ) $(B)/libnetshim-stack.a $(HDRS)
	$(CC) $(ALL_CFLAGS) -o $@ tools/echod.c $(TUN_OBJ) $(B)/libnetshim-stack.a $(LIBS)

$(B)/netshim-tcpdrv: tools/tcpdrv.c tools/sha256.c tools/sha256.h tools/pattern.h $(TUN_OBJ) \
		$(B)/libnetshim-stack.a $(HDRS)
	$(CC) $(ALL_CFLAGS) -o $@ tools/tcpdrv.c tools/sha256.c $(TUN_OBJ) $(B)/libnetshim-stack.a $(LIBS)

$(B)/tests/tcpprobe: tests/integration/tcpprobe.c tools/sha256.c tools/sha256.h tools/pattern.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ tests/integration/tcpprobe.c tools/sha256.c

# The hostile peer of tcp_hostile.sh (raw sockets, crafted segments).
$(B)/tests/tcphostile: tests/integration/tcphostile.c tools/pattern.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ tests/integration/tcphostile.c

# netshim-tcpdrv over the stack built with ASan and UBSan: tcp_hostile.sh
# feeds the stack hostile input, where a memory error must not pass quietly.
$(B)/tests/tcpdrv-san: tools/tcpdrv.c tools/sha256.c tools/sha256.h tools/pattern.h $(TUN_OBJ) \
		$(STACK_SAN_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ tools/tcpdrv.c tools/sha256.c $(TUN_OBJ) $(STACK_SAN_OBJ) $(LIBS)

$(B)/tests/udpprobe: tests/integration/udpprobe.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# packetdrill's --so_filename interface over the stack (README.md,
# "packetdrill"); exports packetdrill_interface_init only.
$(B)/netshim-packetdrill.map:
	@mkdir -p $(B)
	@printf '{\n  global: packetdrill_interface_init;\n  local: *;\n};\n' > $@

$(PD_SO): tools/packetdrill_so.c tools/packetdrill_so.h $(STACK_OBJ) $(B)/netshim-packetdrill.map
	$(CC) $(ALL_CFLAGS) -Itools -shared -Wl,--version-script=$(B)/netshim-packetdrill.map \
		-Wl,-z,defs -o $@ tools/packetdrill_so.c $(STACK_OBJ) $(LIBS) -pthread

# The driver that plays packetdrill's part against the .so (make test runs
# it through tests/integration/packetdrill.sh).
$(PD_DRIVE): tests/packetdrill/pdrive.c tools/packetdrill_so.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ tests/packetdrill/pdrive.c -ldl -pthread

# Unit tests: every tests/unit/*.c may define `Suite *suite_NAME(void)`;
# the list is generated so adding a suite touches no other file.
$(B)/san/suites.h: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^Suite \*suite_[a-z0-9_]*(void)' $(UNIT_SRC) | \
		sed 's/^Suite \*\(suite_[a-z0-9_]*\)(void)/SUITE(\1)/' | sort > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(UNIT_OBJ): $(B)/san/suites.h

$(B)/unit-tests: $(UNIT_OBJ) $(STACK_SAN_OBJ)
	$(CC) $(SAN) -o $@ $^ $(shell pkg-config --libs $(CHECK)) $(LIBS)

deps:
	scripts/setup-deps.sh

unit: $(B)/unit-tests
	$(B)/unit-tests

test: deps
	$(MAKE) all $(B)/unit-tests
	scripts/run-tests.sh

bench: all
	scripts/bench.sh

format:
	clang-format -i $(STACK_SRC) $(TUN_SRC) $(SHIM_SRC) $(UNIT_SRC) $(HDRS) tools/*.c tests/integration/*.c

clean:
	rm -rf $(B)
