# SPDX-License-Identifier: GPL-2.0
# Sourced by the mcaid tests and benchmarks (not a test: no test- prefix).
# Ports: a random one below the ephemeral range (so no outgoing
# connection holds it) that nothing listens on.
free_port() {
	local p lo
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	[ "${lo:-0}" -gt 12000 ] || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		ss -Htln "sport = :$p" 2>/dev/null | grep -q . || break
	done
	echo "$p"
}
