#!/bin/sh
# reconciler: Claude's status line. Keeps the first 16 KiB of the JSON Claude gives it
# (its rate limits say how close the account is to its limit), one file per session,
# then runs the user's own status line ("$2" after --), if there is one, with the whole
# input: it prints exactly what that prints. The whole input waits in $TMPDIR, never in
# the state dir; a status folder that is a link is never written through.
here=$(cd "$(dirname "$0")/.." 2>/dev/null && pwd -P) || here=
home=$(cd "${CLAUDE_CONFIG_DIR:-$HOME/.claude}" 2>/dev/null && pwd -P) || home=unknown
key=$(printf '%s' "$home" | tr -c 'A-Za-z0-9' '-')
dir="$here/status/$key"
umask 077
tmp=$(mktemp "${TMPDIR:-/tmp}/reconciler-statusline.XXXXXX" 2>/dev/null) || tmp=/dev/null
cat > "$tmp" 2>/dev/null || tmp=/dev/null
code=0
if [ "$1" = "--" ] && [ -n "$2" ]; then /bin/sh -c "$2" < "$tmp"; code=$?; fi
if [ "$tmp" != /dev/null ]; then
  if [ -n "$here" ] && [ ! -L "$here/status" ] && [ ! -L "$dir" ] && \
     mkdir -p "$dir" 2>/dev/null; then
    id=$(head -c 16384 "$tmp" | \
      sed -n 's/.*"session_id"[[:space:]]*:[[:space:]]*"\([0-9A-Za-z-]\{1,64\}\)".*/\1/p' | \
      head -n 1)
    part="$dir/.$$.tmp"
    head -c 16384 "$tmp" > "$part" 2>/dev/null && mv -f "$part" "$dir/${id:-$PPID}.json"
  fi
  rm -f "$tmp"
fi
exit $code
