# xmppd - see README.md. `make` builds, `make check` runs every test,
# `make run` serves localhost:5222 with its own Redis.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
DESTDIR   ?=

CC        ?= cc
PKGS      := expat hiredis openssl libidn nettle
CFLAGS    ?= -O2 -g
# Not position-independent: a PIE's relocated tables (OpenSSL's above all)
# are private dirty pages in every process, about 380 KiB per connection.
LDFLAGS   ?= -no-pie
# -MMD: each object depends on the headers it includes, no more.
XCFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -MMD -MP \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Include paths per directory, so that the direction of the code is the
# compiler's to enforce: lib/ sees itself only, router/ sees lib/, the
# programs (handler/, ctl/) see lib/, router/ and their own folder, and
# web/ (xmpp-web, which runs the handler's stream) handler/ too. A router
# file that includes a handler header does not compile. s2s/ (federation)
# sees lib/, router/ and, for the bytes of a connection (io.h, tls.h,
# certid.h) and a room's disco#info (mucinfo.h), handler/: it runs no
# client stream.
INC_lib     := -Ilib
INC_router  := -Ilib -Irouter
INC_handler := -Ilib -Irouter -Ihandler
INC_web     := -Ilib -Irouter -Ihandler -Iweb
INC_ctl     := -Ilib -Irouter -Ictl
INC_listen  := -Ilib
INC_s2s     := -Ilib -Irouter -Ihandler -Is2s
INC_tests   := -Ilib -Irouter -Ihandler
# Programs are linked statically: each connection is a fresh process, and
# every shared library, the C library's too, costs it exec time (dynamic
# loading and relocation: about as much again as a trivial program's whole
# spawn, bench/README.md) and private pages. STATIC=yes links the handler
# and xmppctl fully static; STATIC=libs links the libraries statically and
# the C library shared (what sanitizers need: make check uses it);
# STATIC=no links everything shared. xmppctl speaks no TLS: it links
# neither tls.c nor OpenSSL. xmpp-listen, one long-lived process, links
# libsystemd shared.
#
# A fully static link draws three notes from the linker, about code that
# the C library can only serve with its shared modules at run time:
# getaddrinfo (hiredis, for a Redis host name; glibc's static "files" and
# "dns" lookups work without them), and OpenSSL's dlopen (engines and
# providers that an openssl.cnf may name) and gethostbyname (BIO
# connections, unused). link_static filters exactly those three and
# shows any other.
STATIC    ?= yes
# xmpp-web (web/) adds libhttp-parser and libwslay to the handler's
# libraries. Debian ships libwslay as a shared library only, so xmpp-web
# is always linked dynamically (with every library it can have static
# linked statically, as STATIC=libs); that is why it is a program of its
# own and xmpp-handler stays as STATIC says.
LIBS_WEB  := -Wl,-Bstatic -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn -lhttp_parser \
             -Wl,-Bdynamic -lwslay -ldl -pthread
ifeq ($(STATIC),no)
LIBS_WEB  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn) \
             -lhttp_parser -lwslay -ldl
endif
# s2s/ resolves remote domains with c-ares. Like libwslay for xmpp-web it
# links shared (-lcares), whatever STATIC says: a program of its own.
LIBS_S2S  := $(shell pkg-config --libs libcares 2>/dev/null || echo -lcares)
LIBS_S2SPROG := -Wl,-Bstatic -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn \
             -Wl,-Bdynamic $(LIBS_S2S) -ldl -pthread
ifeq ($(STATIC),no)
LIBS_S2SPROG := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn) \
             $(LIBS_S2S) -ldl
endif
ifeq ($(STATIC),yes)
LIBS_CTL  := -static -lexpat -lhiredis -lnettle -lidn
LIBS_HANDLER := -static -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn -pthread
else ifeq ($(STATIC),libs)
LIBS_CTL  := -Wl,-Bstatic -lexpat -lhiredis -lnettle -lidn -Wl,-Bdynamic -ldl
LIBS_HANDLER := -Wl,-Bstatic -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn -Wl,-Bdynamic -ldl -pthread
else
LIBS_CTL  := $(shell pkg-config --libs expat hiredis libidn nettle 2>/dev/null || echo -lexpat -lhiredis -lnettle -lidn) -ldl
LIBS_HANDLER := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn) -ldl
endif
STATIC_NOTES := -e 'Using .\(getaddrinfo\|dlopen\|gethostbyname\). in statically linked applications' \
                -e ': in function .\(_redisContextConnectTcp\|dlfcn_globallookup\|BIO_gethostbyname\).:$$'
# link_static: the link command $(1), its known notes filtered out.
link_static = $(1) 2> $@.ld; rc=$$?; grep -v $(STATIC_NOTES) $@.ld >&2; rm -f $@.ld; exit $$rc

# B is the build directory: build/ normally, build/san/ for the sanitizer build.
B         ?= build
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# What each program is made of (README.md, "Source layout").
LIB       := $(wildcard lib/*.c)
ROUTER    := $(wildcard router/*.c)
HANDLER   := $(wildcard handler/*.c)
WEB       := $(wildcard web/*.c)
CTL       := $(wildcard ctl/*.c)
LISTEN    := $(wildcard listen/*.c)
S2S       := $(wildcard s2s/*.c)
LUA       := $(wildcard router/lua/*.lua)
LUALIB    := $(wildcard router/lua/lib/*.lua)
UNITTESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(B)/%.o,$(1))
LIBOBJ    := $(call obj,$(LIB))
ROUTEROBJ := $(call obj,$(ROUTER)) $(B)/gen/scripts.o
# The stream, the modules and the loop: everything of handler/ but its main().
STREAMOBJ := $(call obj,$(filter-out handler/main.c,$(HANDLER))) $(B)/gen/seccomp.o
# Federation: each program is its main file and what s2s/ shares (the
# rest of s2s/), with the connection's bytes from handler/ (TLS, the
# certificate's names), the disco#info of a room (mucinfo.c) and of the
# server (serverinfo.c) with their forms, the router and lib/.
S2SMAIN   := s2s/in.c s2s/out.c s2s/component.c
S2SOBJ    := $(call obj,$(filter-out $(S2SMAIN),$(S2S))) $(B)/handler/io.o \
             $(B)/handler/tls.o $(B)/handler/certid.o $(B)/handler/mucinfo.o \
             $(B)/handler/serverinfo.o $(B)/handler/xdata.o $(ROUTEROBJ) $(LIBOBJ)
# srvlookup (test_s2s_dns.py) drives the resolver alone.
S2SDNSOBJ := $(B)/s2s/dns.o $(B)/lib/random.o

# The federation programs whose main file exists (s2s/in.c, s2s/out.c),
# and the external components' (s2s/component.c: XEP-0114), which shares
# their queues and streams.
S2SPROGS  := $(patsubst s2s/%.c,$(B)/xmpp-s2s-%,$(wildcard s2s/in.c s2s/out.c)) \
             $(if $(wildcard s2s/component.c),$(B)/xmpp-component)

all: $(B)/xmpp-handler $(B)/xmpp-web $(B)/xmppctl $(B)/xmpp-listen $(S2SPROGS)

# The first folder of the source names its include paths.
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(INC_$(firstword $(subst /, ,$<))) $(CFLAGS) -c $< -o $@

# Lua scripts become C strings so a handler never reads files at run time;
# router/lua/lib/ holds what scripts include (tests/embed-lua.sh).
$(B)/gen/scripts.c: $(LUA) $(LUALIB) tests/embed-lua.sh
	@mkdir -p $(dir $@)
	sh tests/embed-lua.sh $(LUA) > $@.tmp
	mv $@.tmp $@

$(B)/gen/scripts.o: $(B)/gen/scripts.c
	$(CC) $(XCFLAGS) $(INC_router) $(CFLAGS) -c $< -o $@

# Only the files that include handler/version.h see XMPPD_VERSION, and they
# are rebuilt when it changes: $(B)/gen/version holds the value they were
# built with and is rewritten only when it differs.
VERSIONED := $(B)/handler/main.o $(B)/handler/serveriq.o $(B)/web/main.o
$(VERSIONED): $(B)/gen/version
$(VERSIONED): XCFLAGS += $(if $(XMPPD_VERSION),-DXMPPD_VERSION='"$(XMPPD_VERSION)"')
$(B)/gen/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(XMPPD_VERSION)' | cmp -s - $@ || echo '$(XMPPD_VERSION)' > $@

# The seccomp filter is compiled once, here, with libseccomp (a build
# tool's dependency only): handler/bpf/gen-filter.c prints it as C.
$(B)/gen-filter: handler/bpf/gen-filter.c handler/sandbox.h
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(INC_handler) $(CFLAGS) $(LDFLAGS) $< \
	    $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp) -o $@

$(B)/gen/seccomp.c: $(B)/gen-filter
	@mkdir -p $(dir $@)
	$< > $@.tmp
	mv $@.tmp $@

$(B)/gen/seccomp.o: $(B)/gen/seccomp.c
	$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(B)/xmpp-handler: $(B)/handler/main.o $(STREAMOBJ) $(ROUTEROBJ) $(LIBOBJ)
	@$(call link_static,$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS_HANDLER) -o $@)

$(B)/xmpp-web: $(call obj,$(WEB)) $(STREAMOBJ) $(ROUTEROBJ) $(LIBOBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS_WEB) -o $@

# xmpp-s2s-in and xmpp-s2s-out link c-ares shared, the rest as xmpp-web
# does.
# Through the pattern rule the objects would be intermediate files, which
# make deletes after linking (and rebuilds the next time).
.SECONDARY: $(call obj,$(S2S))
$(B)/xmpp-s2s-%: $(B)/s2s/%.o $(S2SOBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS_S2SPROG) -o $@
# The inbound side parses what anyone sends: it sandboxes itself as the
# client handler does (handler/sandbox.h). So does a component's end.
$(B)/xmpp-s2s-in: $(B)/handler/sandbox.o $(B)/gen/seccomp.o
$(B)/xmpp-component: $(B)/s2s/component.o $(S2SOBJ) $(B)/handler/sandbox.o $(B)/gen/seccomp.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS_S2SPROG) -o $@

$(B)/xmppctl: $(call obj,$(CTL)) $(ROUTEROBJ) $(LIBOBJ)
	@$(call link_static,$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS_CTL) -o $@)

# The listener logs through lib/log.c and takes its sockets with libsystemd
# (one long-lived process: linking it costs nothing per connection).
$(B)/xmpp-listen: $(call obj,$(LISTEN)) $(B)/lib/log.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd) -o $@

# Unit tests link lib/, router/, the TLS layer and its connection wrapper
# (test_tls, test_tls_peer), the sandbox (test_sandbox) and certificate
# identities (test_certid), never a main().
$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(ROUTEROBJ) $(LIBOBJ) $(B)/handler/tls.o \
    $(B)/handler/io.o $(B)/handler/sandbox.o $(B)/handler/certid.o $(B)/gen/seccomp.o
	@mkdir -p $(dir $@)
	@$(call link_static,$(CC) $(XCFLAGS) $(INC_tests) $(CFLAGS) $(LDFLAGS) $(filter-out %.h,$^) $(LIBS_HANDLER) -o $@)

unit: $(addprefix $(B)/tests/,$(UNITTESTS))
	@for t in $^; do echo "== $$t"; $$t || exit 1; done

# Third-party client libraries driven by the protocol tests, one small
# program each (tests/clients/). Built only when pkg-config finds the
# library (tests/deps.sh installs it); a test whose client is missing
# fails and says so. Linked shared: they are not xmppd's programs.
TESTCLIENTS := $(if $(shell pkg-config --exists libstrophe 2>/dev/null && echo y),$(B)/strophe-sm) \
               $(if $(shell pkg-config --exists libcares 2>/dev/null && echo y),$(B)/srvlookup)
$(B)/strophe-sm: tests/clients/strophe-sm.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow $(shell pkg-config --cflags libstrophe) \
	    $(CFLAGS) $< $(LDFLAGS) $(shell pkg-config --libs libstrophe) -o $@

# srvlookup drives xmppd's own s2s/dns.c (test_s2s_dns.py), so it is
# built with xmppd's flags and include paths.
$(B)/srvlookup: tests/clients/srvlookup.c $(S2SDNSOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(INC_s2s) $(CFLAGS) $< $(S2SDNSOBJ) $(LDFLAGS) $(LIBS_S2S) -o $@

testclients: $(TESTCLIENTS)

-include $(patsubst %.o,%.d,$(call obj,$(LIB) $(ROUTER) $(HANDLER) $(WEB) $(CTL) $(LISTEN) $(S2S)) $(B)/gen/scripts.o)

deps:
	@sh tests/deps.sh

# The man pages, at mandoc's warning level (its style notes are not errors).
lint:
	mandoc -T lint -W warning man/*.[0-9]

# Every test, against binaries built with AddressSanitizer and UBSan (and
# valgrind's run against build/vg: the C library shared, which valgrind needs).
# Its builds run CHECK_JOBS compilers at a time (every core), each
# target's output kept together (-Otarget), unless make was given a -j
# itself: then its jobserver decides.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
CHECK_J    = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) -Otarget
check: deps lint
	$(MAKE) --no-print-directory $(CHECK_J) all
	$(MAKE) --no-print-directory $(CHECK_J) B=build/san STATIC=libs CFLAGS="-O1 -g $(SANFLAGS)" LDFLAGS="$(SANFLAGS)" all unit testclients
	$(MAKE) --no-print-directory $(CHECK_J) B=build/vg STATIC=libs build/vg/xmpp-handler
	sh tests/check.sh build/san

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
	install -m 755 $(B)/xmpp-handler $(B)/xmpp-web $(B)/xmppctl $(B)/xmpp-listen $(S2SPROGS) \
	    $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(SYSUSERSDIR)
	install -m 644 units/xmpp.sysusers $(DESTDIR)$(SYSUSERSDIR)/xmpp.conf
	install -m 644 units/xmpp.socket units/xmpps.socket units/xmpp-listen.socket \
	    units/xmpps-listen.socket units/xmpp-web.socket $(DESTDIR)$(UNITDIR)/
	for u in xmpp@ xmpps@ xmpp-web@ xmpp-listen $(if $(wildcard s2s/out.c),xmpp-s2s-out); do \
	    sed 's|@BINDIR@|$(BINDIR)|g' units/$$u.service.in > $(DESTDIR)$(UNITDIR)/$$u.service && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u.service && \
	    install -d $(DESTDIR)$(UNITDIR)/$$u.service.d && \
	    install -m 644 units/xmpp-sandbox.conf $(DESTDIR)$(UNITDIR)/$$u.service.d/10-sandbox.conf || exit 1; \
	done
	for u in xmpp@ xmpps@; do \
	    install -m 644 units/xmpp-connection.conf $(DESTDIR)$(UNITDIR)/$$u.service.d/20-connection.conf || exit 1; \
	done
	install -m 644 units/xmpp-web-connection.conf $(DESTDIR)$(UNITDIR)/xmpp-web@.service.d/20-connection.conf
	sed 's|@BINDIR@|$(BINDIR)|g' units/xmpp-upload-expire.service.in \
	    > $(DESTDIR)$(UNITDIR)/xmpp-upload-expire.service
	chmod 644 $(DESTDIR)$(UNITDIR)/xmpp-upload-expire.service
	install -m 644 units/xmpp-upload-expire.timer $(DESTDIR)$(UNITDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/xmpp/xmpp.conf || \
	    install -m 644 xmpp.conf.example $(DESTDIR)$(SYSCONFDIR)/xmpp/xmpp.conf
	$(MAKE) --no-print-directory install-s2s-in
	$(if $(wildcard s2s/component.c),$(MAKE) --no-print-directory install-component)

# Inbound federation: xmpp-s2s-in under the handler's sandbox and limits,
# one unit file for both ports (-T: direct TLS, port 5270).
install-s2s-in: $(B)/xmpp-s2s-in
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/xmpp-s2s-in $(DESTDIR)$(BINDIR)/
	install -m 644 units/xmpp-s2s.socket units/xmpps-s2s.socket $(DESTDIR)$(UNITDIR)/
	for u in xmpp-s2s@: xmpps-s2s@:-T; do \
	    n=$${u%%:*}; a=$${u#*:}; \
	    sed -e 's|@BINDIR@|$(BINDIR)|g' -e "s|@ARGS@|$$a|" -e 's| *$$||' \
	        units/xmpp-s2s@.service.in > $(DESTDIR)$(UNITDIR)/$$n.service && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$n.service && \
	    install -d $(DESTDIR)$(UNITDIR)/$$n.service.d && \
	    install -m 644 units/xmpp-sandbox.conf $(DESTDIR)$(UNITDIR)/$$n.service.d/10-sandbox.conf && \
	    install -m 644 units/xmpp-connection.conf \
	        $(DESTDIR)$(UNITDIR)/$$n.service.d/20-connection.conf || exit 1; \
	done

# External components (XEP-0114): xmpp-component under the handler's
# sandbox and limits, on loopback port 5347.
install-component: $(B)/xmpp-component
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)/xmpp-component@.service.d
	install -m 755 $(B)/xmpp-component $(DESTDIR)$(BINDIR)/
	install -m 644 units/xmpp-component.socket $(DESTDIR)$(UNITDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' units/xmpp-component@.service.in \
	    > $(DESTDIR)$(UNITDIR)/xmpp-component@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/xmpp-component@.service
	install -m 644 units/xmpp-sandbox.conf \
	    $(DESTDIR)$(UNITDIR)/xmpp-component@.service.d/10-sandbox.conf
	install -m 644 units/xmpp-connection.conf \
	    $(DESTDIR)$(UNITDIR)/xmpp-component@.service.d/20-connection.conf

clean:
	rm -rf build

.PHONY: all unit testclients deps lint check run bench fuzz install install-s2s-in \
        install-component clean FORCE
