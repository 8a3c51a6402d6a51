# run.sh — entry of the checker chaos exerciser in the guest (rig: /guest/run.sh).
# Builds the two namespaces, then runs chaos.sh + the generated steps.sh inside "lb".
set -u
ip netns add lb
ip netns add be
ip link add v0 netns lb type veth peer name v1 netns be
ip -n lb link set lo up; ip -n be link set lo up
ip -n lb addr add 198.51.100.1/24 dev v0; ip -n lb link set v0 up
ip -n be addr add 198.51.100.2/24 dev v1; ip -n be link set v1 up
# With -l our daemon logs to the console; a syslog sink keeps anything else that
# syslogs (keepalived 2.2.7 uses LOG_CONS) off the serial console.
busybox syslogd -n -O /dev/null &
exec /usr/sbin/ip netns exec lb sh -c '. /guest/lib.sh; . /guest/chaos/chaos.sh; . /guest/chaos/steps.sh'
