# start_dirs: refuse (exit 3) unless the home and every declared directory (DIR_1..DIR_$DIRS, named
# DIR_NAME_1..) is there
start_dirs() {
  [ -d "$HOME_DIR" ] || fail 3 "refusing to start $NAME: its home $HOME_DIR does not exist (nothing was started)"
  sd_i=0 sd_missing='' sd_d='' sd_n=''
  while [ "$sd_i" -lt "$DIRS" ]; do
    sd_i=$((sd_i + 1)); eval "sd_d=\$DIR_$sd_i sd_n=\$DIR_NAME_$sd_i"
    [ -d "$sd_d" ] || sd_missing="$sd_missing${sd_missing:+, }$sd_n $sd_d"
  done
  [ -z "$sd_missing" ] || fail 3 "refusing to start $NAME: declared directories missing: $sd_missing (nothing was started)"
  if [ -n "$CONFIG" ] && [ ! -f "$HOME_DIR/$CONFIG" ]; then
    fail 3 "refusing to start $NAME: $HOME_DIR/$CONFIG is absent, so it has never been started; starting it would be a deployment (a first start with its whole configuration), not a start: deploy it first (OBD, obshell) (nothing was started)"
  fi
  if [ -n "$BIN" ] && [ ! -x "$HOME_DIR/$BIN" ]; then
    fail 3 "refusing to start $NAME: $HOME_DIR/$BIN is not an executable file (nothing was started)"
  fi
}
# start_not_running PIDFILE...: refuse (exit 3) while the server runs (a pid file names a live process of it, or
# one obplay cannot account for; a process runs under the home) or a port of it LISTENs anywhere; stale pid files
# are removed
start_not_running() {
  for f in "$@"; do
    read_pid "$f"
    case $? in
      0) whose "$PID" "$f"
         case $WHOSE in
           ours) fail 3 "refusing to start $NAME: it already runs, pid $PID from $f ($WHY) (nothing was started)" ;;
           unknown) fail 3 "refusing to start $NAME: pid file $f names pid $PID, $WHY (nothing was started)" ;;
           dead) rm -f -- "$f" && say "removed stale pid file $f: pid $PID is not running" ;;
           other) say "pid file $f names pid $PID, which is not this server's ($WHY): left alone" ;;
         esac ;;
      2) say "pid file $f does not hold a pid: the scan below decides" ;;
    esac
  done
  procs=$(home_procs)
  for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
  [ -z "$procs" ] || fail 3 "refusing to start $NAME: pid(s) [$procs] already run under $HOME_DIR (nothing was started)"
  own_addrs
  busy=$(ports_listen)
  other=$(ports_listen foreign)
  if [ -n "$busy$other" ]; then
    holders
    fail 3 "refusing to start $NAME: port(s) [$busy${busy:+${other:+, }}$other] LISTEN already, held by another process${HOLDER:+ ($HOLDER)} (nothing was started)"
  fi
  say "$NAME is not running: no live pid file, nothing under $HOME_DIR, no port of it LISTENs"
}
# launch: run START_CMD detached (its own session, stdin from /dev/null, its output to a temporary file): LPID
launch() {
  command -v setsid >/dev/null 2>&1 || fail 1 "cannot start $NAME: setsid (util-linux) is missing on this host"
  OUT=$(mktemp "${TMPDIR:-/tmp}/obplay-start.XXXXXX") || fail 1 "cannot start $NAME: no temporary file for its output"
  say "launching $NAME: $START_CMD"
  setsid /bin/sh -c "$START_CMD" </dev/null >"$OUT" 2>&1 &
  LPID=$!
  now; LT0=$NOW
}
# start_failed RC WHY: say what the start command printed and the last lines of the server's log, then fail
start_failed() {
  sf_rc=$1; shift
  if [ -s "${OUT:-}" ]; then
    say "the start command printed:"; tail -n 10 -- "$OUT" | while IFS= read -r l; do say "  | $l"; done
  fi
  if [ -f "$HOME_DIR/$LOG" ]; then
    say "last lines of $HOME_DIR/$LOG:"; tail -n 20 -- "$HOME_DIR/$LOG" | while IFS= read -r l; do say "  | $l"; done
  else
    say "no log $HOME_DIR/$LOG"
  fi
  rm -f -- "${OUT:-}"
  sf_left=$(home_procs)
  [ -z "$sf_left" ] || say "left running, not signalled: pid(s) [$sf_left] under $HOME_DIR"
  fail "$sf_rc" "$*"
}
# ready_now PIDFILE...: RPID = the live process of the server a pid file names (RFILE), UP = its ports that LISTEN
# on its addresses, MISSING = those that do not
ready_now() {
  RPID='' RFILE='' UP='' MISSING=$PORTS
  for f in "$@"; do
    read_pid "$f" || continue
    if ours "$PID"; then RPID=$PID RFILE=$f; break; fi
  done
  [ -n "$RPID" ] || return 0
  own_addrs "$RPID"
  UP=$(ports_listen)
  MISSING=
  for rn_p in $PORTS; do
    case ", $UP" in *", $rn_p on "*) ;; *) MISSING="$MISSING${MISSING:+ }$rn_p" ;; esac
  done
}
# wait_ready PIDFILE...: wait up to READY_WAIT for the server to be ready (a live process of it named by a pid
# file, every port LISTENing on its addresses), then for SETTLE that it stays so; fails with its log otherwise
wait_ready() {
  wr_end=$((LT0 + READY_WAIT)) wr_since=''
  while :; do
    now
    if [ -n "$LPID" ] && ! alive "$LPID"; then
      wait "$LPID"; wr_rc=$?; LPID=
      say "the start command exited with status $wr_rc after $(secs $((NOW - LT0)))"
      [ "$wr_rc" -eq 0 ] || start_failed 1 "$NAME did not start: the start command exited with status $wr_rc"
    fi
    ready_now "$@"
    if [ -n "$RPID" ] && [ -z "$MISSING" ]; then
      if [ -z "$wr_since" ]; then
        wr_since=$NOW
        say "$NAME is up after $(secs $((NOW - LT0))): pid $RPID from $RFILE, port(s) [$UP] LISTEN; settling for $(secs "$SETTLE")"
      elif [ $((NOW - wr_since)) -ge "$SETTLE" ]; then
        rm -f -- "${OUT:-}"
        DONE="started $NAME: pid $RPID from $RFILE, port(s) [$UP] LISTEN, ready for the $(secs "$SETTLE") settle period"
        return 0
      fi
    else
      if [ -n "$wr_since" ]; then
        start_failed 1 "$NAME stopped being ready while settling: ${RPID:+pid $RPID, }port(s) [${MISSING:-?}] not LISTENing${RPID:-, no live pid file}"
      fi
      if [ -z "$LPID" ] && [ -z "$(home_procs)" ]; then
        start_failed 1 "$NAME exited after $(secs $((NOW - LT0))): nothing runs under $HOME_DIR"
      fi
      if [ "$NOW" -ge "$wr_end" ]; then
        if [ -z "$RPID" ]; then
          start_failed 4 "$NAME not ready after $(secs "$READY_WAIT"): no pid file ($*) names a live process of it"
        fi
        start_failed 4 "$NAME not ready after $(secs "$READY_WAIT"): pid $RPID runs, but port(s) [$MISSING] do not LISTEN on its addresses"
      fi
    fi
    sleep 0.2
  done
}
# start_daemon FILE...: when DAEMON_CMD is set (the inventory's obproxyd_script), launch obproxyd, the watchdog,
# detached as OBD does, once obproxy is ready (RPID); wait up to READY_WAIT until a pid file names a live obproxyd
# of this home while that obproxy still runs
start_daemon() {
  [ -n "$DAEMON_CMD" ] || return 0
  sd_obproxy=$RPID
  OUT=$(mktemp "${TMPDIR:-/tmp}/obplay-start.XXXXXX") || fail 1 "cannot start obproxyd of $NAME: no temporary file for its output"
  say "launching obproxyd, the watchdog of $NAME: $DAEMON_CMD"
  HOST=$HOST setsid /bin/sh -c "$DAEMON_CMD" </dev/null >"$OUT" 2>&1 &
  now; sd_end=$((NOW + READY_WAIT))
  while :; do
    for f in "$@"; do
      read_pid "$f" || continue
      if is_daemon "$PID"; then
        alive "$sd_obproxy" || start_failed 1 "obproxy pid $sd_obproxy of $NAME exited while its watchdog started"
        rm -f -- "$OUT"
        DONE="$DONE; its watchdog obproxyd runs, pid $PID from $f"
        return 0
      fi
    done
    now
    [ "$NOW" -lt "$sd_end" ] || start_failed 4 "obproxyd, the watchdog of $NAME, does not run after $(secs "$READY_WAIT"): no pid file ($*) names a live obproxyd of $HOME_DIR"
    sleep 0.2
  done
}
