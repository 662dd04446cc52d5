/* log: leveled log lines on stderr, one line each, safe from any thread. */
#ifndef DESK_LOG_H
#define DESK_LOG_H

enum log_level {
    LOG_ERROR,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG,
};

extern enum log_level log_threshold;

/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
