# The raw cleanup: delete the log directory (obplay: cleanup: { paths: [log] }). Needs H.
rm -rf -- "$H/log"
