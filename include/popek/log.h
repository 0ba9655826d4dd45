/* Logging to stderr. Messages never carry raw guest bytes: use log_escape(). */
#ifndef POPEK_LOG_H
#define POPEK_LOG_H

#include "popek/types.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The level comes from the POPEK_LOG environment variable (error, warn, info,
 * debug; default warn), read at each call so that no global state is needed. */
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_FMT(2, 3);
bool log_enabled(enum log_level level);

/* The level for a name: error, warn or warning, info, debug, and
 * Firecracker's logger levels (Error, Warning, Info, Debug, Trace, Off; Off
 * still shows errors), case-insensitive. Returns the level or -1. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
/* Sets the level for the whole process (POPEK_LOG). Call before threads
 * that log run, or while they are quiet: the environment is not locked. */
void log_set_level(enum log_level level);
/* Sends popek's log lines (stderr) to path instead, appending (a file or
 * a FIFO, as Firecracker's log_path). Returns 0 or -errno. */
int log_set_path(const char *path);

/* The last error line the calling thread logged ("" if none since the
 * last clear): for a caller that must hand the reason on, as the API does
 * for a failed start or snapshot load. */
const char *log_last_error(void);
void log_clear_last_error(void);

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
