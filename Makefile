# xmppd - see README.md. `make` builds, `make check` runs every test,
# `make run` serves localhost:5222 with its own Redis.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DESTDIR   ?=

CC        ?= cc
PKGS      := expat hiredis openssl libidn nettle
CFLAGS    ?= -O2 -g
# Not position-independent: a PIE's relocated tables (OpenSSL's above all)
# are private dirty pages in every process, about 380 KiB per connection.
LDFLAGS   ?= -no-pie
XCFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Ihandler -Irouter \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Libraries are linked statically: each connection is a fresh process, and
# every shared library costs it exec time and private pages (bench/README.md).
# STATIC=no links them dynamically. libsystemd is dlopen()ed by log.c.
STATIC    ?= yes
ifeq ($(STATIC),yes)
LDLIBS    := -Wl,-Bstatic -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn -Wl,-Bdynamic -ldl -pthread
else
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn) -ldl
endif

# B is the build directory: build/ normally, build/san/ for the sanitizer build.
B         ?= build
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

COMMON    := handler/xmalloc.c handler/config.c handler/netaddr.c handler/jid.c handler/log.c handler/scram.c handler/tls.c \
             router/format.c router/store.c router/account.c router/session.c router/route.c router/roster.c router/authfail.c
HANDLER   := handler/main.c handler/xml.c handler/stream.c handler/sasl.c \
             handler/iqauth.c handler/bind.c handler/serveriq.c handler/deliver.c handler/rosteriq.c handler/presence.c handler/ackq.c handler/io.c
CTL       := ctl/xmppctl.c handler/xml.c
LUA       := $(wildcard router/lua/*.lua)
UNITTESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(B)/%.o,$(1))

all: $(B)/xmpp-handler $(B)/xmppctl

$(B)/%.o: %.c $(wildcard handler/*.h router/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

# Lua scripts become C strings so a handler never reads files at run time.
$(B)/gen/scripts.c: $(LUA) tests/embed-lua.sh
	@mkdir -p $(dir $@)
	sh tests/embed-lua.sh $(LUA) > $@

$(B)/gen/scripts.o: $(B)/gen/scripts.c
	$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(B)/xmpp-handler: $(call obj,$(HANDLER) $(COMMON)) $(B)/gen/scripts.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/xmppctl: $(call obj,$(CTL) $(COMMON)) $(B)/gen/scripts.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(call obj,$(COMMON) handler/xml.c) $(B)/gen/scripts.o
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) $(filter-out %.h,$^) $(LDLIBS) -o $@

unit: $(addprefix $(B)/tests/,$(UNITTESTS))
	@for t in $^; do echo "== $$t"; $$t || exit 1; done

deps:
	@sh tests/deps.sh

# Every test, against binaries built with AddressSanitizer and UBSan.
check: deps all
	$(MAKE) --no-print-directory B=build/san CFLAGS="-O1 -g $(SANFLAGS)" LDFLAGS="$(SANFLAGS)" all unit
	sh tests/run.sh build/san
	sh tests/fuzz/regress.sh
	bash tests/systemd/run.sh

# libFuzzer over the parser and the whole stream (tests/fuzz/README.md).
FUZZ_SECONDS ?= 600
fuzz:
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Beside Prosody and ejabberd: see bench/README.md (minutes; not part of check).
bench: all
	sh bench/run.sh

run: deps all
	sh tests/run-server.sh $(B)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/xmpp
	install -m 755 $(B)/xmpp-handler $(B)/xmppctl $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(UNITDIR)/xmpp@.service.d $(DESTDIR)$(UNITDIR)/xmpps@.service.d
	install -m 644 units/xmpp.socket units/xmpps.socket $(DESTDIR)$(UNITDIR)/
	for u in xmpp xmpps; do \
	    sed 's|@BINDIR@|$(BINDIR)|g' units/$$u@.service.in > $(DESTDIR)$(UNITDIR)/$$u@.service && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u@.service && \
	    install -m 644 units/xmpp-sandbox.conf $(DESTDIR)$(UNITDIR)/$$u@.service.d/10-sandbox.conf || exit 1; \
	done
	test -e $(DESTDIR)$(SYSCONFDIR)/xmpp/xmpp.conf || \
	    install -m 644 xmpp.conf.example $(DESTDIR)$(SYSCONFDIR)/xmpp/xmpp.conf

clean:
	rm -rf build

.PHONY: all unit deps check run bench fuzz install clean
