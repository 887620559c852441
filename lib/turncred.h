/*
 * turncred.h - time-limited TURN credentials from a secret shared with
 * the TURN server: the "TURN REST API" scheme that coturn checks with
 * use-auth-secret and static-auth-secret (XEP-0215 hands them out).
 *
 *   username = "<expiry>:<bare JID>"   expiry in Unix seconds
 *   password = base64(HMAC-SHA1(secret, username))
 *
 * coturn reads the expiry up to the first ':' (its default
 * rest-api-separator; a bare JID has none before it) and refuses the
 * username once that time has passed; it recomputes the password from
 * its copy of the secret, so no user database is kept in step. The JID
 * after the colon only tells the TURN server's log whose allocation it
 * is.
 *
 * Contract: a pure function (no I/O, no clock: the caller passes the
 * expiry); outputs are NUL-terminated and never overrun their sizes.
 */
#ifndef XMPPD_TURNCRED_H
#define XMPPD_TURNCRED_H

/* RFC 8489 14.3: a STUN USERNAME is shorter than 513 bytes. */
#define TURNCRED_USER_MAX 512
#define TURNCRED_PASS_LEN 28            /* base64 of a 20-byte HMAC-SHA1 */

/* The credentials of user bare until expires under secret, into user
 * and pass. 0, or -1 when the username would be longer than
 * TURNCRED_USER_MAX bytes (user and pass are then ""). */
int turncred_make(const char *secret, long expires, const char *bare,
    char user[TURNCRED_USER_MAX + 1], char pass[TURNCRED_PASS_LEN + 1]);

#endif
