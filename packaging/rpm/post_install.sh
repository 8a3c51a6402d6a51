# keepalived-rs rpm %post
if ! getent passwd keepalived_script >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /sbin/nologin keepalived_script 2>/dev/null || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl enable keepalived.service >/dev/null 2>&1 || :
    fi
fi
