#!/bin/sh
# reconciler: Claude's StopFailure hook. Spools the event Claude gives on stdin (its JSON,
# the first MiB), the home it came from and when, for the reconciler's service, which
# reads it within a second. The spool is beside this script (signals/bin/.. ->
# signals/events); a spool that is a link is never written through. Always exits 0.
here=$(cd "$(dirname "$0")/.." 2>/dev/null && pwd -P) || exit 0
home=$(cd "${CLAUDE_CONFIG_DIR:-$HOME/.claude}" 2>/dev/null && pwd -P) || home=unknown
key=$(printf '%s' "$home" | tr -c 'A-Za-z0-9' '-')
dir="$here/events"
umask 077
[ -L "$dir" ] && exit 0
mkdir -p "$dir" 2>/dev/null || exit 0
tmp="$dir/.$$.tmp"
{ printf '{"home": "%s", "time": %s, "event": ' "$key" "$(date +%s)"; head -c 1048576; \
  printf '}\n'; } > "$tmp" 2>/dev/null && mv -f "$tmp" "$dir/$(date +%s%N)-$$.json"
exit 0
