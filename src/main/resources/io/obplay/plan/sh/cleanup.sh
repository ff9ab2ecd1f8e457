# real_path P: RP = P with the symlinks of its parent directories resolved (P itself stays as it is)
real_path() {
  rp=$(cd -P -- "${1%/*}/" 2>/dev/null && pwd -P && echo .) || return 1
  rp=${rp%??}; RP=${rp%/}/${1##*/}
}
# real_dir P: RD = the directory P is or names, every symlink resolved
real_dir() { rd=$(cd -P -- "$1" 2>/dev/null && pwd -P && echo .) || return 1; RD=${rd%??}; }
# unsafe D: D is /, a system directory, or holds the server's home; UNSAFE says which
unsafe() {
  UNSAFE=$1
  clean_path "$1" || return 0
  case $1 in
    /bin|/boot|/dev|/etc|/home|/lib|/lib32|/lib64|/libx32|/media|/mnt|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/var|/proc/*|/sys/*|/dev/*)
      UNSAFE="the system directory $1"; return 0 ;;
  esac
  if real_dir "$HOME_DIR"; then
    case $RD in "$1"/*) UNSAFE="$1, which holds the home $RD"; return 0 ;; esac
  fi
  return 1
}
# safe_target P D: refuse (exit 3) to clean D, what the declared directory P is or names, if it is unsafe
safe_target() { if unsafe "$2"; then fail 3 "refusing to delete $1: it is, or links to, $UNSAFE"; fi; }
# check_path N P: refuse (exit 3) unless P is a clean absolute path, not /, in the declared directories
# as written and as it really is; sets T_N (what cleaning P acts on) and K_N (how: dir, link, dangling,
# unreachable or path)
check_path() {
  case $2 in
    '') fail 3 "refusing to delete an empty path" ;;
    /) fail 3 "refusing to delete /" ;;
    /*) clean_path "$2" || fail 3 "refusing to delete $2: it has an empty, . or .. segment" ;;
    *) fail 3 "refusing to delete $2: not an absolute path" ;;
  esac
  in_dirs "$2" || fail 3 "refusing to delete $2: it is not in $NAME's declared directories"
  ck='path' ct=''
  if [ ! -e "$2" ] && [ ! -L "$2" ]; then
    :  # absent: nothing to check or delete
  elif in_dirs "$2" exact && [ -L "$2" ] && [ ! -e "$2" ]; then
    ck='dangling'; if real_path "$2"; then ct=$RP; fi
  elif in_dirs "$2" exact && [ -d "$2" ]; then
    # a declared directory: it, or the directory its symlink names
    if real_dir "$2"; then
      ct=$RD; ck='dir'; if [ -L "$2" ]; then ck='link'; fi
      safe_target "$2" "$ct"
    else
      ck='unreachable' ct=$2
    fi
  elif real_path "$2"; then
    ct=$RP
    in_dirs "$ct" real || fail 3 "refusing to delete $2: it really is $ct, outside the declared directories"
  fi
  eval "T_$1=\$ct K_$1=\$ck"
}
# is_mount P: P is a mount point (/proc/mounts writes space, tab, newline and \ as \040 \011 \012 \134)
is_mount() {
  P=$1 awk '
    function unescape(s,  o, i) {
      o = ""
      while ((i = index(s, "\\")) > 0) {
        o = o substr(s, 1, i - 1) sprintf("%c", substr(s, i + 1, 1) * 64 + substr(s, i + 2, 1) * 8 + substr(s, i + 3, 1))
        s = substr(s, i + 4)
      }
      return o s
    }
    unescape($2) == ENVIRON["P"] { found = 1 }
    END { exit !found }' /proc/mounts
}
# empty_dir D: remove everything in D (symlinks as links, never crossing into another file system);
# returns 1, with the first error in EMPTY_ERR, unless D is then empty
empty_dir() {
  EMPTY_ERR=
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -e "$e" ] || [ -L "$e" ]; then
      if ! em=$(rm -rf --one-file-system -- "$e" 2>&1); then
        [ -n "$EMPTY_ERR" ] || EMPTY_ERR=$(printf '%s\n' "${em:-rm failed on $e}" | head -n 1)
      fi
    fi
  done
  left=$(ls -A -- "$1" 2>&1) || EMPTY_ERR=${EMPTY_ERR:-$(printf '%s\n' "$left" | head -n 1)}
  [ -z "$left" ] && [ -z "$EMPTY_ERR" ] && return 0
  [ -n "$EMPTY_ERR" ] || EMPTY_ERR="still holds $(printf '%s\n' "$left" | head -n 1)"
  return 1
}
# remove_dir P D link|dir: remove the directory D (that P is, or that P's symlink names) and then P's link;
# a mount point, or a directory its parent does not let go, is emptied and kept, with the link to it
remove_dir() {
  kib=$(du -skx -- "$2" 2>/dev/null | awk '{ print $1 }')
  what=$1 size="${kib:-?} KiB"
  if [ "$3" = link ]; then what=$2 size="$size, the directory that the symlink $1 names"
  elif [ "$1" != "$2" ]; then size="$size, really $2"; fi
  if is_mount "$2"; then
    empty_dir "$2" || { say "could not empty mount point $what: $EMPTY_ERR"; return 1; }
    say "emptied mount point $what ($size); the mount stays"
    return 0
  fi
  empty_dir "$2" || { say "could not empty $what: $EMPTY_ERR"; return 1; }
  if [ "$3" = link ] && real_path "$1" && [ ! -w "${RP%/*}/" ]; then
    say "emptied $what ($size) and kept it, with the symlink: the symlink's directory is not writable"
    return 0
  fi
  if ! rderr=$(rmdir -- "$2" 2>&1); then
    say "emptied $what ($size) and kept it: its parent does not let it go (${rderr##*: })"
    return 0
  fi
  if [ "$3" = link ]; then
    rm -f -- "$1" || { say "removed $what ($size), but could not remove the symlink"; return 1; }
    say "removed $what ($size), then the symlink"
  else
    say "removed $what ($size)"
  fi
}
# remove_entry P T: remove T, which P (not a declared directory) really is; a symlink goes as a link
remove_entry() {
  if [ -L "$2" ]; then
    target=$(readlink -- "$2")
    rm -f -- "$2" || { say "could not remove the symlink $1"; return 1; }
    say "removed symlink $1; its target $target stays"
  elif [ -d "$2" ]; then
    remove_dir "$1" "$2" dir
  elif [ -e "$2" ]; then
    kib=$(du -skx -- "$2" 2>/dev/null | awk '{ print $1 }')
    rmerr=$(rm -f -- "$2" 2>&1) || { say "could not remove $1: $rmerr"; return 1; }
    say "removed $1 (${kib:-?} KiB)"
  else
    say "absent: $1"
  fi
}
# holds_failed_link D: a symlink on the way to a path that was not cleaned lies in D (or is D): set
# KEPT_LINK and KEPT_FOR
holds_failed_link() {
  for f in $NOT_DONE; do
    hw=''; eval "hw=\$W_$f"
    hq='' hr=${hw#/}
    while [ -n "$hr" ]; do
      hq=$hq/${hr%%/*}; case $hr in */*) hr=${hr#*/} ;; *) hr= ;; esac
      if [ -L "$hq" ] && real_path "$hq"; then
        case $RP in "$1"|"$1"/*) KEPT_LINK=$RP KEPT_FOR=$hw; return 0 ;; esac
      fi
    done
  done
  return 1
}
# clean N P: clean P as check_path N P found it; says what became of it, returns 1 if it is not done
clean() {
  eval "ct=\$T_$1 ck=\$K_$1"
  if [ -n "$ct" ] && holds_failed_link "$ct"; then
    if [ "$KEPT_LINK" = "$KEPT_FOR" ]; then
      say "kept $2 for a second run: it holds the symlink $KEPT_FOR, which was not cleaned"
    else
      say "kept $2 for a second run: it holds the symlink $KEPT_LINK on the way to $KEPT_FOR, which was not cleaned"
    fi
    return 1
  fi
  case $ck in
    unreachable) say "could not clean $2: it cannot be entered"; return 1 ;;
    dangling)
      target=$(readlink -- "$2")
      case $target in /*) ;; *) target=${ct%/*}/$target ;; esac
      if real_dir "${target%/*}/" && [ ! -e "$target" ] && [ ! -L "$target" ]; then
        if [ -n "$ct" ] && [ ! -w "${ct%/*}/" ]; then
          say "kept the symlink $2: the directory it named, $target, is gone, and the symlink's directory is not writable"
          return 0
        fi
        rm -f -- "$2" || { say "could not remove the symlink $2"; return 1; }
        say "removed the symlink $2: the directory it named, $target, is gone"
      else
        say "could not clean $2: it links to $target, which cannot be reached"; return 1
      fi ;;
    dir|link)
      if [ -d "$ct" ]; then remove_dir "$2" "$ct" "$ck"; else say "absent: $2"; fi ;;
    *)
      if [ -n "$ct" ]; then remove_entry "$2" "$ct"; else say "absent: $2"; fi ;;
  esac
}
NOT_DONE='' NOT_DONE_COUNT=0 NOT_DONE_LIST=''
# not_done N P: remember that P was not cleaned
not_done() {
  eval "W_$1=\$2"; NOT_DONE="$NOT_DONE $1"; NOT_DONE_COUNT=$((NOT_DONE_COUNT + 1))
  NOT_DONE_LIST="$NOT_DONE_LIST${NOT_DONE_LIST:+, }$2"
}
# finish COUNT: exit 1 if a path was not cleaned, else say done
finish() {
  [ "$NOT_DONE_COUNT" -eq 0 ] || fail 1 "cleanup of $NAME: $NOT_DONE_COUNT of $1 path(s) not done: $NOT_DONE_LIST; run it again once the cause above is fixed"
  say "cleanup of $NAME done"
}
