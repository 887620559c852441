#!/bin/sh
# build.sh MODE OUTDIR - build the fuzz targets fuzz_xml, fuzz_stream and
# fuzz_web.
#
#   MODE fuzz     libFuzzer binaries: clang -fsanitize=fuzzer,address,undefined
#   MODE regress  plain binaries with ASan and UBSan whose main()
#                 (standalone.c) runs files given on the command line
#   MODE cov      the same main(), with clang's source-based coverage
#                 instead of sanitizers (coverage.sh)
#
# fuzz_xml links lib/xml.c alone; fuzz_stream links every handler/*.c and
# lib/*.c but main.c (the poll loop), sandbox.c (main's only caller of it,
# which needs libseccomp) and log.c (replaced by quiet_log.c), with
# router/format.c (pure functions), router/mucview.c and muchistory.c
# (rendering over the room's log) and fake_router.c instead of the rest
# of router/; fuzz_web links web/http.c, web/ws.c, what ws.c writes
# with (handler/io.c, tls.c) and lib/ (not log.c),
# with libhttp-parser and libwslay. Libraries are linked dynamically
# (fuzz_stream replaces getrandom(2): see fuzz_stream.c).
# Objects are rebuilt only when a source, a header or the flags change.
#
# Environment: FUZZ_CC (default clang; for regress, cc when there is no
# clang), FUZZ_CFLAGS (extra flags).
set -eu

mode=${1:?usage: build.sh fuzz|regress OUTDIR}
out=${2:?usage: build.sh fuzz|regress OUTDIR}
cd "$(dirname "$0")/../.."

if [ -n "${FUZZ_CC:-}" ]; then
	CC=$FUZZ_CC
elif [ "$mode" = regress ] && ! command -v clang > /dev/null 2>&1; then
	CC=cc          # ASan and UBSan are enough here; gcc has both
else
	CC=clang
fi
# The libraries the Makefile links (PKGS), dynamically.
PKGS=$(sed -n 's/^PKGS *:= *//p' Makefile)
PKGS=${PKGS:-expat hiredis openssl libidn nettle}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
case $mode in
fuzz)
	ccflags="$san -fsanitize=fuzzer-no-link"
	ldflags="$san -fsanitize=fuzzer"
	;;
regress)
	ccflags="$san"
	ldflags="$san"
	;;
cov)
	ccflags="-fprofile-instr-generate -fcoverage-mapping"
	ldflags="$ccflags"
	;;
*)
	echo "build.sh: unknown mode $mode" >&2
	exit 100
	;;
esac
pkgcflags=$(pkg-config --cflags $PKGS 2>/dev/null || true)
libs="$(pkg-config --libs $PKGS 2>/dev/null || echo -lexpat -lhiredis -lnettle -lssl -lcrypto -lidn) -ldl -pthread"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter -Ilib -Irouter -Ihandler -Iweb -Itests/fuzz $pkgcflags $ccflags ${FUZZ_CFLAGS:-}"

mkdir -p "$out/obj"
# Flags changed: everything is rebuilt.
if [ ! -f "$out/obj/flags" ] || [ "$(cat "$out/obj/flags")" != "$CC $cflags" ]; then
	rm -f "$out"/obj/*.o
	printf '%s\n' "$CC $cflags" > "$out/obj/flags"
fi
newest_h=$(ls -t lib/*.h handler/*.h router/*.h web/*.h tests/fuzz/*.h | head -n 1)

# obj SRC: compile SRC into $out/obj unless up to date; prints the object.
obj() {
	o="$out/obj/$(echo "$1" | tr / _ | sed 's/\.c$/.o/')"
	if [ ! -f "$o" ] || [ "$1" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
		echo "  CC $1" >&2
		$CC $cflags -c "$1" -o "$o"
	fi
	echo "$o"
}

handler_objs= lib_objs=
for f in handler/*.c lib/*.c; do
	case $f in
	handler/main.c|handler/serve.c|handler/sandbox.c|lib/log.c) ;;
	lib/*) o=$(obj "$f"); handler_objs="$handler_objs $o"; lib_objs="$lib_objs $o" ;;
	*) o=$(obj "$f"); handler_objs="$handler_objs $o" ;;
	esac
done
# One object per assignment: set -e sees each compiler's failure.
o1=$(obj tests/fuzz/fake_router.c)
o2=$(obj tests/fuzz/quiet_log.c)
fake_objs="$o1 $o2"
log_obj=$o2
if [ -f router/format.c ]; then
	o1=$(obj router/format.c)
	fake_objs="$fake_objs $o1"
fi
# What a room's occupant is sent: rendering over the (faked) room log.
for f in router/mucview.c router/muchistory.c; do
	o1=$(obj "$f")
	fake_objs="$fake_objs $o1"
done
o1=$(obj lib/xml.c)
o2=$(obj lib/xmalloc.c)
xml_objs="$o1 $o2"
main_obj=
if [ "$mode" != fuzz ]; then
	main_obj=$(obj tests/fuzz/standalone.c)
fi

# fuzz_web: xmpp-web's request head and WebSocket frames (web/http.c,
# web/ws.c and the output splitter it shares with BOSH, web/xmlout.c)
# with their two libraries.
o1=$(obj web/http.c)
o2=$(obj web/ws.c)
o3=$(obj handler/io.c)
o4=$(obj handler/tls.c)
o5=$(obj web/xmlout.c)
web_objs="$o1 $o2 $o3 $o4 $o5 $lib_objs $log_obj"
web_main=$(obj tests/fuzz/fuzz_web.c)

xml_main=$(obj tests/fuzz/fuzz_xml.c)
stream_main=$(obj tests/fuzz/fuzz_stream.c)
echo "  LD $out/fuzz_xml" >&2
$CC $ldflags $xml_main $xml_objs $main_obj $libs -o "$out/fuzz_xml"
echo "  LD $out/fuzz_stream" >&2
$CC $ldflags $stream_main $handler_objs $fake_objs $main_obj $libs -o "$out/fuzz_stream"
echo "  LD $out/fuzz_web" >&2
$CC $ldflags $web_main $web_objs $main_obj $libs -lwslay -lhttp_parser -o "$out/fuzz_web"
