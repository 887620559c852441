#!/bin/sh
# run.sh [SECONDS] - `make fuzz`: build the libFuzzer targets into
# build/fuzz/ and fuzz them for SECONDS in all (default 600): 2/6 for
# fuzz_xml, 3/6 for fuzz_stream, 1/6 for fuzz_web, one process at a time.
#
# Corpora grow in build/fuzz/corpus/{xml,stream,web} (libFuzzer writes new
# inputs there only; the seeds in tests/fuzz/corpus/ are read, not
# changed). Crashes, leaks and timeouts are written to build/fuzz/crashes/;
# after one, the target starts again for the time left (at most
# FUZZ_MAX_CRASHES times, default 5). Logs: build/fuzz/logs/.
#
# At the end: wall and CPU seconds, executions, exec/s, coverage (cov: edges, ft: features) and
# corpus size of each target, and the crash files. Exit status 1 if
# anything crashed: turn each crash into a file of tests/fuzz/regressions/
# (tests/fuzz/README.md).
#
# Environment: FUZZ_CC (default clang), FUZZ_ARGS (more libFuzzer flags),
# FUZZ_TARGETS (any of "xml stream web": the default), FUZZ_OUT (instead
# of build/fuzz: a long run out of reach of `make clean`).
set -eu

secs=${1:-600}
case $secs in
''|*[!0-9]*) echo "usage: run.sh [SECONDS]" >&2; exit 100 ;;
esac
cd "$(dirname "$0")/../.."
out=${FUZZ_OUT:-build/fuzz}
max_crashes=${FUZZ_MAX_CRASHES:-5}

sh tests/fuzz/build.sh fuzz $out
mkdir -p $out/corpus/xml $out/corpus/stream $out/corpus/web $out/crashes $out/logs

# CPU seconds used by the children this shell has waited for, as of the
# last `times > $out/logs/.times` (run in this shell, not in a $(...)).
cpu() {
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }
		printf "%d\n", t }' $out/logs/.times
}

# fuzz TARGET SECONDS MAXLEN: run until the time is used up.
fuzz() {
	t=$1 total=$2 maxlen=$3 c=${1#fuzz_}
	end=$(( $(date +%s) + total ))
	times > $out/logs/.times
	runs=0 crashes=0 execs=0 last= cpu0=$(cpu)
	: > $out/logs/$t.log
	while :; do
		left=$(( end - $(date +%s) ))
		[ "$left" -gt 0 ] || break
		runs=$((runs + 1))
		log=$out/logs/$t.$runs.log
		echo "== $t: ${left}s (run $runs), log $log"
		rc=0
		# shellcheck disable=SC2086
		$out/$t $out/corpus/$c tests/fuzz/corpus/$c \
		    -dict=tests/fuzz/xmpp.dict -max_total_time="$left" -max_len="$maxlen" \
		    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix=$out/crashes/$t- ${FUZZ_ARGS:-} > "$log" 2>&1 || rc=$?
		cat "$log" >> $out/logs/$t.log
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		execs=$((execs + ${n:-0}))
		l=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1 || true)
		[ -n "$l" ] && last=$l
		[ "$rc" -eq 0 ] && break
		if [ ! -x "$out/$t" ]; then
			echo "run.sh: $out/$t is gone (make clean?): stopping" >&2
			return 2
		fi
		crashes=$((crashes + 1))
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 3 | sed 's/^/   /'
		[ "$crashes" -lt "$max_crashes" ] || break
	done
	times > $out/logs/.times
	cpus=$(( $(cpu) - cpu0 ))
	rate=$(( execs / (total > 0 ? total : 1) ))
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
	printf '%-12s %6ss (cpu %ss)  execs %-10s exec/s %-6s cov %-5s ft %-6s corpus %-12s crashes %s\n' \
	    "$t" "$total" "$cpus" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" \
	    >> $out/summary
	[ "$crashes" -eq 0 ]
}

: > $out/summary
status=0
# Each target named gets its share: xml 2, stream 3, web 1.
targets=${FUZZ_TARGETS:-xml stream web}
weight() { case $1 in xml) echo 2 ;; stream) echo 3 ;; web) echo 1 ;; *) echo 0 ;; esac; }
shares=0
for t in $targets; do shares=$((shares + $(weight $t))); done
if [ "$shares" -eq 0 ]; then
	echo "run.sh: FUZZ_TARGETS names no target (xml, stream, web)" >&2
	exit 100
fi
for t in $targets; do
	fuzz fuzz_$t $(( secs * $(weight $t) / shares )) 16384 || status=1
done

echo
echo "== fuzzing summary ($secs s)"
cat $out/summary
found=$(ls $out/crashes 2>/dev/null | wc -l)
if [ "$found" -gt 0 ]; then
	echo "== $found file(s) in $out/crashes:"
	ls -l $out/crashes
fi
exit $status
