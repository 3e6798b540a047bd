/*
 * Control lines on stdin, one JSON object per line (dtls-bridge/README.md "Control"):
 * {"cmd":"stats"}, {"cmd":"close","peerId":N}, {"cmd":"reconnect"}, {"cmd":"shutdown"}, and here
 * {"cmd":"reconnect","earlyData":"HEX"}: resume and send those bytes as 0-RTT early data in the
 * first flight (RFC 8446 §4.2.10). A line over 64 KiB is discarded with an error event.
 */
#ifndef WOLFSSL_BRIDGE_CONTROL_H
#define WOLFSSL_BRIDGE_CONTROL_H
#include <stddef.h>

#define MAX_CONTROL_LINE_BYTES (64 * 1024)

typedef struct {
  char cmd[16];
  long peer_id;          /* -1 if absent */
  unsigned char early[MAX_CONTROL_LINE_BYTES / 2];
  size_t early_len;
  int has_early;
} control_command;

/* Reads what stdin has; calls handle for each complete, well-formed line. Returns -1 at EOF. */
int control_poll(int fd, void (*handle)(const control_command *c, void *ctx), void *ctx);
/* Parses one line; 0 on success, else -1 after an error event naming what is wrong. */
int parse_control_line(const char *line, control_command *out);
#endif
