#include "control.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"

static char buf[MAX_CONTROL_LINE_BYTES + 2];
static size_t used;
static int discarding;

static void control_error(const char *what, const char *line) {
  char msg[400];
  snprintf(msg, sizeof msg, "%s: %.120s", what, line);
  ev_error("control", msg);
}

/* The string value of "key" (no escapes needed for our commands), or NULL. */
static const char *string_field(const char *line, const char *key, char *out, size_t cap) {
  char pattern[40];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  const char *p = strstr(line, pattern);
  if (!p) return NULL;
  p += strlen(pattern);
  while (isspace((unsigned char)*p)) p++;
  if (*p++ != ':') return NULL;
  while (isspace((unsigned char)*p)) p++;
  if (*p++ != '"') return NULL;
  size_t n = 0;
  while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++;
  if (*p != '"') return NULL;
  out[n] = 0;
  return out;
}

int parse_control_line(const char *line, control_command *c) {
  static char hex[MAX_CONTROL_LINE_BYTES + 1];
  memset(c->cmd, 0, sizeof c->cmd);
  c->peer_id = -1;
  c->early_len = 0;
  c->has_early = 0;
  const char *start = line;
  while (isspace((unsigned char)*start)) start++;
  if (*start != '{') {
    control_error("not a JSON object (send e.g. {\"cmd\":\"stats\"})", line);
    return -1;
  }
  if (!string_field(line, "cmd", c->cmd, sizeof c->cmd)) {
    control_error("no \"cmd\" string (send e.g. {\"cmd\":\"stats\"})", line);
    return -1;
  }
  const char *pid = strstr(line, "\"peerId\"");
  if (pid) {
    pid = strchr(pid + 8, ':');
    char *end;
    long v = pid ? strtol(pid + 1, &end, 10) : -1;
    if (!pid || end == pid + 1 || v < 1) {
      control_error("\"peerId\" must be a positive integer from a handshake event", line);
      return -1;
    }
    c->peer_id = v;
  }
  if (string_field(line, "earlyData", hex, sizeof hex)) {
    size_t n = strlen(hex);
    if (n % 2 || strspn(hex, "0123456789abcdefABCDEF") != n) {
      control_error("\"earlyData\" must be hex bytes", line);
      return -1;
    }
    for (size_t i = 0; i < n / 2; i++) sscanf(hex + 2 * i, "%2hhx", &c->early[i]);
    c->early_len = n / 2;
    c->has_early = 1;
  }
  return 0;
}

int control_poll(int fd, void (*handle)(const control_command *c, void *ctx), void *ctx) {
  static control_command cmd;
  char chunk[4096];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  int eof = n == 0;
  for (ssize_t i = 0; i < n || (eof && used && i == n); i++) {
    char ch = i < n ? chunk[i] : '\n'; /* at EOF the last line runs without its newline */
    if (ch == '\n') {
      buf[used] = 0;
      if (!discarding && used && parse_control_line(buf, &cmd) == 0) handle(&cmd, ctx);
      used = 0;
      discarding = 0;
      if (i >= n) break;
      continue;
    }
    if (discarding) continue;
    if (used >= MAX_CONTROL_LINE_BYTES) {
      ev_begin("error");
      ev_str("scope", "control");
      ev_str("error", "control line over the limit; discarded up to its newline");
      ev_int("limit", MAX_CONTROL_LINE_BYTES);
      ev_end();
      discarding = 1;
      used = 0;
      continue;
    }
    buf[used++] = ch;
  }
  return eof ? -1 : 0;
}
