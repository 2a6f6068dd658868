# natlens - one non-recursive Makefile (lz4 style): user CFLAGS kept,
# strict warnings always, WERROR=1 for -Werror, sanitizer build in build-asan/.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
INCDIR  ?= $(PREFIX)/include
LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=
VERSION := 0.1.0

CC      ?= cc
BUILD   ?= build
PKG_CONFIG ?= pkg-config

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-align -Wwrite-strings -Wformat=2 \
           -Wundef -Wvla -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif

PCAP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS   := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
CURSES_CFLAGS := $(shell $(PKG_CONFIG) --cflags ncursesw 2>/dev/null)
CURSES_LIBS := $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null || echo -lncursesw)
NET_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libnet 2>/dev/null)
NET_LIBS    := $(shell $(PKG_CONFIG) --libs libnet 2>/dev/null || echo -lnet)
# record readers: JSON through json-c, conntrack's XML through libxml2
REC_CFLAGS  := $(shell $(PKG_CONFIG) --cflags json-c libxml-2.0 2>/dev/null)
REC_LIBS    := $(shell $(PKG_CONFIG) --libs json-c libxml-2.0 2>/dev/null || echo -ljson-c -lxml2)
NFCT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnetfilter_conntrack 2>/dev/null)
NFCT_LIBS   := $(shell $(PKG_CONFIG) --libs libnetfilter_conntrack 2>/dev/null || echo -lnetfilter_conntrack)
# compressed captures and records (by content)
IO_PKGS     := zlib libzstd liblzma liblz4
IO_CFLAGS   := $(shell $(PKG_CONFIG) --cflags $(IO_PKGS) 2>/dev/null)
IO_LIBS     := $(shell $(PKG_CONFIG) --libs $(IO_PKGS) 2>/dev/null || echo -lz -lzstd -llzma -llz4)
# Wireshark's capture-file library (pcapng with mixed link types); Debian
# ships no wiretap.pc, so its include directory is named when pkg-config
# does not know "wireshark"
WIRETAP_CFLAGS := $(shell $(PKG_CONFIG) --cflags wireshark 2>/dev/null || \
                    echo -I/usr/include/wireshark $$($(PKG_CONFIG) --cflags glib-2.0 2>/dev/null))
WIRETAP_LIBS   := -lwiretap -lwsutil $(shell $(PKG_CONFIG) --libs glib-2.0 2>/dev/null || echo -lglib-2.0)

CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(PCAP_CFLAGS) $(REC_CFLAGS) $(IO_CFLAGS) \
           -DNATLENS_VERSION=\"$(VERSION)\"
LDLIBS  += $(PCAP_LIBS) $(REC_LIBS) $(IO_LIBS) $(WIRETAP_LIBS) -lnettle -lm -lpthread

LIB_SRC := $(sort $(wildcard analyzer/*.c))
CLI_SRC := $(sort $(wildcard analyzer/cli/*.c))
TUI_SRC := $(sort $(wildcard analyzer/tui/*.c))
CAP_SRC := $(sort $(wildcard capture/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/fleet_sql.o
TUI_OBJ := $(TUI_SRC:%.c=$(BUILD)/%.o)
CAP_OBJ := $(CAP_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIB     := $(BUILD)/libnatlens.a
# shared library: libnatlens.so -> libnatlens.so.0 (soname) -> libnatlens.so.0.1.0
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME  := libnatlens.so.$(SOMAJOR)
SHLIB   := $(BUILD)/libnatlens.so.$(VERSION)
BINS    := $(BUILD)/natlens $(BUILD)/natlens-capture

.PHONY: all clean test demo bench asan fuzz install deps-test deps-build check-deps FORCE print-libs print-cflags
all: $(LIB) $(SHLIB) $(BINS) natlens natlens-capture

$(BUILD)/%.o: %.c Makefile $(wildcard include/natlens/*.h) $(wildcard analyzer/*.h analyzer/tui/*.h analyzer/cli/*.h capture/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(BUILD)/analyzer/tui/%.o: override CFLAGS += $(CURSES_CFLAGS)
$(BUILD)/capture/%.o: override CFLAGS += $(NET_CFLAGS) $(NFCT_CFLAGS)
$(BUILD)/analyzer/source_wiretap.o: override CFLAGS += $(WIRETAP_CFLAGS)

# library objects are position independent: the same objects make the
# static archive and the shared library
$(LIB_OBJ): override CFLAGS += -fPIC
# `natlens fleet` carries its ClickHouse SQL inside the binary: the files
# in analyzer/sql/clickhouse/ become C strings fleet_sql_<name>.
FLEET_SQL := analyzer/sql/clickhouse/schema.sql analyzer/sql/clickhouse/pair.sql \
             analyzer/sql/clickhouse/egress.sql
$(BUILD)/gen/fleet_sql.c: $(FLEET_SQL)
	@mkdir -p $(dir $@)
	@{ for f in $(FLEET_SQL); do echo "const char fleet_sql_$$(basename $$f .sql)[] ="; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $$f; echo "    ;"; done; } >$@
$(BUILD)/gen/fleet_sql.o: $(BUILD)/gen/fleet_sql.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# the shared library records what it needs (DT_NEEDED from LDLIBS), so a
# program links it with -lnatlens alone
$(SHLIB): $(LIB_OBJ)
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)
	@ln -sf libnatlens.so.$(VERSION) $(BUILD)/$(SONAME)
	@ln -sf $(SONAME) $(BUILD)/libnatlens.so

$(BUILD)/natlens: $(CLI_OBJ) $(TUI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(TUI_OBJ) $(LIB) $(CURSES_LIBS) $(LDLIBS)

$(BUILD)/natlens-capture: $(CAP_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CAP_OBJ) $(LIB) $(NET_LIBS) $(NFCT_LIBS) $(LDLIBS)

# Convenience links at the top so `./natlens` works after `make`.
natlens: $(BUILD)/natlens
	@ln -sf $(BUILD)/natlens natlens
natlens-capture: $(BUILD)/natlens-capture
	@ln -sf $(BUILD)/natlens-capture natlens-capture

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# test tools built with the units: a pcapng with any host context,
# written by natlens-capture's own writer
$(BUILD)/tests/gen_hostmeta: tests/tools/gen_hostmeta.c capture/cap_pcapng.c capture/cap_pcapng.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/tools/gen_hostmeta.c capture/cap_pcapng.c $(PCAP_LIBS)

# what trace_load read, frame by frame (compared with tshark)
$(BUILD)/tests/dump_records: tests/tools/dump_records.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

units: $(UNIT_BIN) $(BUILD)/tests/gen_hostmeta $(BUILD)/tests/dump_records

# ---- dependencies: install when root, else say the exact command (exit 2)
BUILD_PKGS := build-essential pkg-config libpcap-dev libnet1-dev libncurses-dev nettle-dev \
              libjson-c-dev libxml2-dev libnetfilter-conntrack-dev \
              zlib1g-dev libzstd-dev liblzma-dev liblz4-dev \
              libwiretap-dev libwsutil-dev libglib2.0-dev
TEST_PKGS  := tcpdump tshark tmux valgrind clang libclang-rt-14-dev iproute2 iptables conntrack ethtool python3 groff-base mandoc time \
              clickhouse-server clickhouse-client
deps-build:
	@sh tests/deps.sh $(BUILD_PKGS)
deps-test:
	@sh tests/deps.sh $(BUILD_PKGS) $(TEST_PKGS)

demo: deps-build
	@echo "building natlens..."; $(MAKE) -s --no-print-directory all
	@echo '$$ natlens correlate samples/snat-switch/client.pcap samples/snat-switch/server.pcap'
	@./$(BUILD)/natlens correlate samples/snat-switch/client.pcap samples/snat-switch/server.pcap
	@echo; echo '$$ natlens correlate samples/asym-return/client.pcap samples/asym-return/server.pcap'
	@./$(BUILD)/natlens correlate samples/asym-return/client.pcap samples/asym-return/server.pcap

test: deps-test
	@$(MAKE) --no-print-directory all units
	@BUILD=$(BUILD) sh tests/run.sh

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  CFLAGS="-O1 -g" EXTRA_CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" all units

GEN_SRCS := $(wildcard tests/gen/gen_*.c)
$(BUILD)/gen_capture: $(GEN_SRCS) tests/gen/gen.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(GEN_SRCS) $(PCAP_LIBS)

# /usr/bin/time gives the peak RSS; ijson scores multi-GB correlate --json
BENCH_PKGS := time python3-ijson
bench: deps-test all $(BUILD)/gen_capture
	@sh tests/deps.sh $(BENCH_PKGS)
	@BUILD=$(BUILD) sh tests/bench.sh
	@# the fleet path (ClickHouse, 1,000 captures) beside correlate pair by
	@# pair; BENCH_QUICK=1 skips it (minutes, and a ClickHouse server)
	@if [ "$${BENCH_QUICK:-0}" != 1 ]; then BUILD=$(BUILD) sh tests/bench_fleet.sh; fi

fuzz:
	@BUILD=$(BUILD) sh tests/fuzz/run.sh

# what the library links with, for scripts that build against it
print-libs:
	@echo $(LDLIBS)
print-cflags:
	@echo $(PCAP_CFLAGS) $(REC_CFLAGS) $(IO_CFLAGS) $(WIRETAP_CFLAGS)

# natlens.pc: what a program that uses the library needs. Libs.private is
# the library's own LDLIBS (what libnatlens.a needs beside it; the shared
# library records the same as DT_NEEDED). libpcap is named by -lpcap and
# not by Requires.private: libpcap.pc requires dbus-1, whose --static
# libs include -lsystemd, which only a static libpcap needs and Debian
# ships no static or development copy of.
define NATLENS_PC
sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
    -e 's|@LIBS_PRIVATE@|$(strip $(LDLIBS))|g' natlens.pc.in
endef

$(BUILD)/natlens.pc: natlens.pc.in Makefile FORCE
	@mkdir -p $(dir $@)
	@$(NATLENS_PC) > $@.tmp && mv $@.tmp $@
FORCE:

install: all $(BUILD)/natlens.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR)/natlens $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 include/natlens/*.h $(DESTDIR)$(INCDIR)/natlens/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libnatlens.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnatlens.so
	install -m 644 $(BUILD)/natlens.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(wildcard *.1) $(DESTDIR)$(MANDIR)/man1/

clean:
	rm -rf build build-asan build-fuzz natlens natlens-capture
