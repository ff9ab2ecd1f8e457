# status_report PIDFILE...: what runs of the server, read only: its home, what each pid file names and whose it
# is, the processes under the home and its ports (on its own addresses, and others' on the same numbers)
status_report() {
  LC_ALL=C; export LC_ALL
  cd / || return 0  # the shell step runs in the home: this report's own processes must not be there
  if [ -d "$HOME_DIR" ]; then say "home $HOME_DIR is there"; else say "home $HOME_DIR does not exist"; fi
  check_home
  for f in "$@"; do
    read_pid "$f"
    case $? in
      1) say "no pid file $f" ;;
      2) say "$f: does not hold a pid" ;;
      0) whose "$PID" "$f"
         case $WHOSE in
           ours) say "$f: pid $PID runs ($(comm_of "$PID"), cwd ${CWD:-?}): this server's" ;;
           dead) say "$f: pid $PID does not run (a stale pid file)" ;;
           other) say "$f: pid $PID runs ($(comm_of "$PID")) but is not this server's: $WHY" ;;
           unknown) say "$f: pid $PID runs ($(comm_of "$PID")), $WHY" ;;
         esac ;;
    esac
  done
  procs=$(home_procs)
  for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
  # shellcheck disable=SC2086
  own_addrs $procs
  busy=$(ports_listen)
  report_foreign
  if [ -n "$busy" ]; then say "port(s) [$busy] LISTEN on $NAME's addresses (${OWN_SHOWN:-none} or a wildcard address)"; holders
  else say "no port of $NAME LISTENs on its addresses (${OWN_SHOWN:-none} or a wildcard address)"; fi
  return 0
}
