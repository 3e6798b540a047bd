/*
 * JSON-line events on stdout, the same shape as dtls-bridge's (dtls-bridge/README.md "Events"):
 * one object per line, every one with "event" and "time" (UTC, ms). Built field by field so no
 * value ever reaches stdout unescaped.
 */
#ifndef WOLFSSL_BRIDGE_EVENTS_H
#define WOLFSSL_BRIDGE_EVENTS_H
#include <stddef.h>
#include <stdint.h>

void ev_begin(const char *event);
void ev_str(const char *key, const char *value);
void ev_int(const char *key, long long value);
void ev_bool(const char *key, int value);
void ev_hex(const char *key, const unsigned char *bytes, size_t len);
/* A nested object or array: the caller writes raw JSON built with the same escaping rules. */
void ev_raw(const char *key, const char *json);
void ev_end(void);

/* Escape into out (always NUL-terminated); returns out. */
char *json_escape(char *out, size_t cap, const char *in);

/* Monotonic milliseconds, for durations and deadlines. */
int64_t now_ms(void);
/* An error event with a scope ("startup", "plain", "control", "dtls") and a message. */
void ev_error(const char *scope, const char *message);
/* The last event, at shutdown: {"event":"closed","scope":"bridge",…}. */
void ev_bridge_closed(const char *mode, long handshakes_ok, long handshakes_failed);
#endif
