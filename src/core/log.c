/* Leveled logging to stderr with escaping of guest-controlled bytes. */
#include "popek/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level log_threshold(void)
{
	const char *s = getenv("POPEK_LOG");

	if (!s)
		return LOG_WARN;
	if (!strcmp(s, "error"))
		return LOG_ERROR;
	if (!strcmp(s, "info"))
		return LOG_INFO;
	if (!strcmp(s, "debug"))
		return LOG_DEBUG;
	return LOG_WARN;
}

bool log_enabled(enum log_level level)
{
	return level <= log_threshold();
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char buf[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line so concurrent threads do not interleave. */
	fprintf(stderr, "popek: %s: %s\n", names[level], buf);
}

char *log_escape(char *out, size_t outsz, const void *in, size_t len)
{
	const u8 *p = in;
	size_t o = 0;

	if (!outsz)
		return out;
	for (size_t i = 0; i < len; i++) {
		u8 c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = 0;
	return out;
}
