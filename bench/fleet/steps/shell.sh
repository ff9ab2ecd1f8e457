# The raw shell step (obplay: shell: "ls {{home_path}}/run"). Needs H.
cd "$H" && ls "$H/run"
