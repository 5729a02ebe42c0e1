# restart_running_postfix WHAT: contrib/make-deb puts this function into the
# maintainer scripts, at their placeholder line. When the default Postfix
# instance is running (postfix status), restart Postfix through invoke-rc.d,
# which honours policy-rc.d and uses systemd when it runs (--disclose-deny:
# a denial is a failure, not a silent success). When that is not possible or
# denied, say so and how, without failing the package operation: the files
# are in place and the next start runs WHAT.
restart_running_postfix() {
    postfix status >/dev/null 2>&1 || return 0
    if command -v invoke-rc.d >/dev/null 2>&1 && invoke-rc.d --disclose-deny postfix restart; then
        return 0
    fi
    echo "mailhost: Postfix was not restarted: run 'systemctl restart postfix' (or" \
         "'postfix stop; postfix start') for $1 to run; 'postfix reload' keeps the running master" >&2
}
