# keepalived-rs rpm %preun: stop and disable on erase (not on upgrade).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl disable --now keepalived.service >/dev/null 2>&1 || :
fi
