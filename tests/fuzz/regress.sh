#!/bin/sh
# regress.sh - the fuzz regression run of `make check` (fast, no fuzzing):
# build fuzz_xml, fuzz_stream and fuzz_web without libFuzzer, with ASan and UBSan,
# into build/fuzz-regress/, and run every file of tests/fuzz/regressions/
# (inputs that once crashed) and tests/fuzz/corpus/ (the seeds) through
# them once, each in a child process of its own.
#
# Prints a line per failing input and closes with
# "fuzz regress: N passed, M failed"; exit status 1 if any failed.
#
# Environment: FUZZ_CC (default clang, else cc: gcc works too).
set -eu
cd "$(dirname "$0")/../.."
out=build/fuzz-regress

sh tests/fuzz/build.sh regress $out
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0 failed=0
for t in xml stream web; do
	rc=0
	line=$($out/fuzz_$t tests/fuzz/regressions/$t tests/fuzz/corpus/$t) || rc=$?
	echo "$line"
	p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "regress.sh: fuzz_$t did not finish (status $rc)" >&2
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "fuzz regress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
