/* The VMM's way to fail with a reason for the caller (an API answer). */
#include <stdarg.h>
#include <stdio.h>

#include "vmm/vmm.h"

int vmm_fail(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return err;
}
