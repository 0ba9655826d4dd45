/* Leveled logging to stderr with escaping of guest-controlled bytes. */
#include "popek/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const log_env_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"error", LOG_ERROR}, {"off", LOG_ERROR},  {"warn", LOG_WARN},
		     {"warning", LOG_WARN}, {"info", LOG_INFO},  {"debug", LOG_DEBUG},
		     {"trace", LOG_DEBUG}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(name, names[i].name))
			return names[i].level;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return log_env_names[level];
}

void log_set_level(enum log_level level)
{
	setenv("POPEK_LOG", log_env_names[level], 1);
}

int log_set_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), err = 0;

	if (fd < 0)
		return -errno;
	if (fd != STDERR_FILENO && dup2(fd, STDERR_FILENO) < 0)
		err = -errno;
	if (fd != STDERR_FILENO)
		close(fd);
	return err;
}

static enum log_level log_threshold(void)
{
	const char *s = getenv("POPEK_LOG");
	int level = s ? log_level_parse(s) : -1;

	return level < 0 ? LOG_WARN : (enum log_level)level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_threshold();
}

/* The calling thread's last error line (thread-local: each thread reads
 * only what it logged itself). */
static __thread char last_error[512];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char buf[1024];
	va_list ap;

	if (!log_enabled(level) && level != LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level == LOG_ERROR) {
		strncpy(last_error, buf, sizeof(last_error) - 1);
		last_error[sizeof(last_error) - 1] = 0;
	}
	if (!log_enabled(level))
		return;
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
