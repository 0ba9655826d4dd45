/* Logging to stderr. Messages never carry raw guest bytes: use log_escape(). */
#ifndef POPEK_LOG_H
#define POPEK_LOG_H

#include "popek/types.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The level comes from the POPEK_LOG environment variable (error, warn, info,
 * debug; default warn), read at each call so that no global state is needed. */
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);
bool log_enabled(enum log_level level);

/* Copies len guest-controlled bytes into out (size outsz) with every
 * non-printable byte written as \xNN; always NUL-terminates. Returns out. */
char *log_escape(char *out, size_t outsz, const void *in, size_t len);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                       \
		if (log_enabled(LOG_DEBUG))                                            \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                   \
	} while (0)

#endif
