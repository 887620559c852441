/*
 * check.h - the tiny check macros shared by the unit tests.
 *
 * Each failing check prints one line "FAIL file:line: what" (strings with
 * control characters escaped, so it stays one line); a test's
 * main() ends with CHECK_DONE(), which prints "N passed, M failed" and
 * yields the exit status (non-zero if anything failed).
 */
#ifndef XMPPD_TEST_CHECK_H
#define XMPPD_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond) check_cond(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str((a), (b), #a, __FILE__, __LINE__)
#define CHECK_INT(a, b) check_int((long long)(a), (long long)(b), #a, __FILE__, __LINE__)
#define CHECK_DONE() check_done()

static inline int check_cond(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		check_passed++;
		return 1;
	}
	check_failed++;
	printf("FAIL %s:%d: %s\n", file, line, what);
	return 0;
}

/* Print s on one line: control characters as \n, \r, \t or \xNN. */
static inline void check_print(const char *s)
{
	if (!s) {
		fputs("(null)", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static inline int check_str(const char *got, const char *want, const char *what,
    const char *file, int line)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0) {
		check_passed++;
		return 1;
	}
	check_failed++;
	printf("FAIL %s:%d: %s is ", file, line, what);
	check_print(got);
	fputs(", want ", stdout);
	check_print(want);
	putchar('\n');
	return 0;
}

static inline int check_int(long long got, long long want, const char *what,
    const char *file, int line)
{
	if (got == want) {
		check_passed++;
		return 1;
	}
	check_failed++;
	printf("FAIL %s:%d: %s is %lld, want %lld\n", file, line, what, got, want);
	return 0;
}

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed > 0 ? 1 : 0;
}

#endif
