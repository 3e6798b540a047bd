#include "events.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static char line[65536];
static size_t used;
static int fields;

static void append(const char *s) {
  size_t n = strlen(s);
  if (used + n >= sizeof line - 4) n = sizeof line - 4 - used; /* never overflow; a cut event is still one line */
  memcpy(line + used, s, n);
  used += n;
  line[used] = 0;
}

char *json_escape(char *out, size_t cap, const char *in) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 7 < cap; p++) {
    if (*p == '"' || *p == '\\') { out[o++] = '\\'; out[o++] = (char)*p; }
    else if (*p < 0x20 || *p == 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
    else out[o++] = (char)*p;
  }
  out[o] = 0;
  return out;
}

static void key(const char *k) {
  char esc[256];
  append(fields++ ? ",\"" : "\"");
  append(json_escape(esc, sizeof esc, k));
  append("\":");
}

void ev_begin(const char *event) {
  struct timeval tv;
  struct tm tm;
  char stamp[64];
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
  used = 0;
  fields = 0;
  line[0] = 0;
  append("{");
  ev_str("event", event);
  ev_str("time", stamp);
}

void ev_str(const char *k, const char *value) {
  char esc[4096];
  key(k);
  append("\"");
  append(json_escape(esc, sizeof esc, value));
  append("\"");
}

void ev_int(const char *k, long long value) {
  char num[32];
  key(k);
  snprintf(num, sizeof num, "%lld", value);
  append(num);
}

void ev_bool(const char *k, int value) {
  key(k);
  append(value ? "true" : "false");
}

void ev_hex(const char *k, const unsigned char *bytes, size_t len) {
  char hex[1024];
  size_t o = 0;
  for (size_t i = 0; i < len && o + 3 < sizeof hex; i++) o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", bytes[i]);
  hex[o] = 0;
  ev_str(k, hex);
}

void ev_raw(const char *k, const char *json) {
  key(k);
  append(json);
}

void ev_end(void) {
  append("}\n");
  fputs(line, stdout);
  fflush(stdout);
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ev_error(const char *scope, const char *message) {
  ev_begin("error");
  ev_str("scope", scope);
  ev_str("error", message);
  ev_end();
}

void ev_bridge_closed(const char *mode, long handshakes_ok, long handshakes_failed) {
  ev_begin("closed");
  ev_str("scope", "bridge");
  ev_str("mode", mode);
  ev_int("handshakesOk", handshakes_ok);
  ev_int("handshakesFailed", handshakes_failed);
  ev_end();
}
