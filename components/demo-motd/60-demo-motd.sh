# Show a short system summary when an interactive login shell starts.
# Set DEMO_MOTD_QUIET=1 (in ~/.profile or the environment) to silence it.
case $- in
*i*)
	if [ -z "${DEMO_MOTD_QUIET:-}" ] && command -v sysfacts >/dev/null 2>&1; then
		sysfacts os kernel cpus memory 2>/dev/null
	fi
	;;
esac
