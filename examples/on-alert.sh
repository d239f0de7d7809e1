#!/bin/sh
# diode-receive --on-alert /opt/diodesync/examples/on-alert.sh   ("on-alert" in receive.json)
#
# The receiver runs this (through /bin/sh) on each change of the link, and waits for nothing:
# what it prints goes to the receiver's stderr. It learns what happened from its environment:
#   DIODESYNC_EVENT           link-down       three heartbeats missed: the sender, the link or the
#                                             diode is down (nothing is lost: files resume)
#                             link-up         heartbeats again after a link-down
#                             sender-restart  a new sender session (diode-send restarted)
#   DIODESYNC_SILENTSECONDS   link-down: seconds since the last heartbeat
#   DIODESYNC_HOST            link-up, sender-restart: the sender's host, from its heartbeat
#   DIODESYNC_SESSION         sender-restart: the new session id (hex)
#   DIODESYNC_PREVIOUS        sender-restart: the session id before it
#
# This one writes one line to the system log: link-down as a warning, the others as notices.
# Under systemd (JOURNAL_STREAM is set) it writes to stderr, which is the journal, with a
# syslog priority prefix (<4> warning, <5> notice) that journald reads; elsewhere it uses
# logger(1), and plain stderr when there is none. Add a mail, a ticket or a lamp below.
set -u

event="${DIODESYNC_EVENT:-unknown}"
case "$event" in
  link-down)
    priority=4 level=warning
    message="link down: no heartbeat from the sender for ${DIODESYNC_SILENTSECONDS:-?} s"
    ;;
  link-up)
    priority=5 level=notice
    message="link up: heartbeats from ${DIODESYNC_HOST:-the sender} again"
    ;;
  sender-restart)
    priority=5 level=notice
    message="sender restarted on ${DIODESYNC_HOST:-?}: session ${DIODESYNC_SESSION:-?} (was ${DIODESYNC_PREVIOUS:-?})"
    ;;
  *)
    priority=5 level=notice
    message="event $event"
    ;;
esac

if [ -n "${JOURNAL_STREAM:-}" ]; then
  printf '<%s>diodesync: %s\n' "$priority" "$message" >&2
elif command -v logger >/dev/null 2>&1; then
  logger -t diodesync -p "daemon.$level" -- "$message"
else
  printf 'diodesync: %s: %s\n' "$level" "$message" >&2
fi

# Further actions, for example:
# [ "$event" = link-down ] && printf 'Subject: diode link down\n\n%s\n' "$message" | sendmail ops@example.org
exit 0
