# is_daemon PID: PID is an obproxyd of this home: named obproxyd or obproxyd.sh (its name, its argv[0], or the
# script a shell runs), with its cwd, its exe or that script in the home
is_daemon() {
  alive "$1" || return 1
  id_0=$(tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline" | awk '{ print; exit }')
  id_s=$(tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline" | awk 'NR > 1 && !/^-/ { print; exit }')
  id_n=; id_sh=
  case $(comm_of "$1") in obproxyd|obproxyd.sh) id_n=1 ;; esac
  case ${id_0##*/} in
    obproxyd|obproxyd.sh) id_n=1 ;;
    sh|bash|dash|ash|ksh|mksh|zsh|busybox) case ${id_s##*/} in obproxyd|obproxyd.sh) id_n=1; id_sh=$id_s ;; esac ;;
  esac
  [ -n "$id_n" ] || return 1
  ours "$1" && return 0
  [ -n "$id_sh" ] || return 1
  case $id_sh in /*) ;; *) id_sh=${CWD:-}/$id_sh ;; esac
  in_home "$id_sh" || in_home "$(readlink -f -- "$id_sh" 2>/dev/null)" || return 1
  status_of "$1" Uid; id_u=$SV
  case $HOME_UIDS in *" $id_u "*) return 0 ;; esac
  [ -n "$id_u" ] && [ "$(stat -L -c %u -- "$id_sh" 2>/dev/null)" = "$id_u" ]
}
# find_daemons FILE...: DPIDS = the obproxyd watchdogs of this obproxy: the pid in each FILE once proved, and
# every live process that is_daemon finds, whatever its pid file says; says how each one was found
find_daemons() {
  for f in "$@"; do
    read_pid "$f"
    case $? in 1) say "no obproxyd pid file $f"; continue ;; 2) bad_pid_file "$f" ;; esac
    whose "$PID" "$f"
    if [ "$WHOSE" = ours ] || is_daemon "$PID"; then
      say "obproxyd pid $PID from $f is this server's watchdog (exe ${EXE:-?}, cwd ${CWD:-?})"; case " ${DPIDS:-} " in *" $PID "*) ;; *) DPIDS="${DPIDS:-} $PID"; DPIDS=${DPIDS# } ;; esac
    else
      case $WHOSE in
        dead) say "stale pid file $f: pid $PID is not running" ;;
        other) say "obproxyd pid file $f names pid $PID, which is not this server's ($WHY): not signalling it" ;;
        unknown) fail 3 "refusing to signal anything: obproxyd pid file $f names pid $PID, $WHY; the pid file is kept" ;;
      esac
    fi
  done
  # shellcheck disable=SC2013
  for p in $(grep -l -e obproxyd /proc/[0-9]*/comm /proc/[0-9]*/cmdline 2>/dev/null | awk -F/ '!s[$3]++ { print $3 }'); do
    case "$SKIP ${DPIDS:-} " in *" $p "*) continue ;; esac
    if is_daemon "$p"; then
      say "obproxyd pid $p found by what it is: name $(comm_of "$p"), exe ${EXE:-?}, cwd ${CWD:-?}"; DPIDS="${DPIDS:-} $p"; DPIDS=${DPIDS# }
    fi
  done
  [ -n "${DPIDS:-}" ] || say "no obproxyd watchdog of $HOME_DIR runs (by its pid files, and by name with its cwd, exe or script in the home)"
}
