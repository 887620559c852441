/*
 * xerr.c - names of the error codes (see xerr.h).
 */
#include "xerr.h"

const char *xerr_str(int e)
{
	switch (e) {
	case XE_OK: return "success";
	case XE_REDIS: return "Redis failed";
	case XE_SYS: return "system call failed";
	case XE_REPLY: return "unexpected reply from Redis";
	case XE_ENTROPY: return "no randomness from the kernel";
	case XE_INVALID: return "invalid argument";
	default: return "unknown error";
	}
}
