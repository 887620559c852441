#!/bin/sh
# coverage.sh [CORPUS_ROOT] - line and branch coverage of handler/ reached
# by the fuzz corpora: builds the targets with clang's source-based
# coverage into build/fuzz-cov/, runs every input of CORPUS_ROOT/{xml,stream}
# (default build/fuzz/corpus, as `make fuzz` leaves it) plus the seeds and
# regressions, and prints llvm-cov's per-file report.
set -eu
cd "$(dirname "$0")/../.."
root=${1:-build/fuzz/corpus}
out=build/fuzz-cov
PROFDATA=${LLVM_PROFDATA:-llvm-profdata}
COV=${LLVM_COV:-llvm-cov}

sh tests/fuzz/build.sh cov $out
rm -f $out/*.profraw
for t in xml stream; do
	LLVM_PROFILE_FILE="$out/$t-%m.profraw" FUZZ_NOFORK=1 \
	    $out/fuzz_$t "$root/$t" tests/fuzz/corpus/$t tests/fuzz/regressions/$t
done
$PROFDATA merge -sparse $out/xml-*.profraw -o $out/xml.profdata
$PROFDATA merge -sparse $out/stream-*.profraw -o $out/stream.profdata
echo "== fuzz_xml"
$COV report $out/fuzz_xml -instr-profile=$out/xml.profdata lib/xml.c
echo "== fuzz_stream"
$COV report $out/fuzz_stream -instr-profile=$out/stream.profdata \
    $(ls handler/*.c lib/*.c | grep -v -e handler/main.c -e lib/log.c)
