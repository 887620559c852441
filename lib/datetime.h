/*
 * datetime.h - XEP-0082 DateTime in UTC: the stamps of delayed delivery
 * (XEP-0203) and the archive's (XEP-0313), and the bounds clients give.
 *
 * Contract: pure functions; nothing is written past outsz.
 */
#ifndef XMPPD_DATETIME_H
#define XMPPD_DATETIME_H

#include <stddef.h>

#define DATETIME_MAX 32         /* "CCYY-MM-DDThh:mm:ss.sssZ" and its NUL */

/* ms (Unix milliseconds) as "CCYY-MM-DDThh:mm:ssZ", or with millis as
 * "...ss.sssZ". */
void datetime_format(long long ms, int millis, char *out, size_t outsz);
/* Parse "CCYY-MM-DDThh:mm:ss[.s+](Z|(+|-)hh:mm)" into Unix ms (fractions
 * past the millisecond dropped). 0, or -1 if s is not such a DateTime. */
int datetime_parse(const char *s, long long *ms);

#endif
