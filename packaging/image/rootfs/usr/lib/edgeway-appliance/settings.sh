# shellcheck shell=bash
# The appliance's settings file (/etc/edgeway/appliance.conf) and the checks of what goes in it,
# shared by the first boot (which reads what the seed wrote) and the console wizard (which
# writes it). The file is "key=value" lines, # comments; it is parsed, never executed:
#   role=edge | core
#   join_url=URL [URL...]          core: the join URL(s), https://host[:port]/...
#   edges=HOST[:PORT] [...]        core: the edges' link addresses (port 7443 by default)
#   edge_server_name=NAME          core, optional: the name in the edges' link certificates
#                                  when it is not each address's host

valid_role() { [ "$1" = edge ] || [ "$1" = core ]; }
valid_hostname() { [[ "$1" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]]; }
valid_dns_name() {
    [[ "$1" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$ ]] &&
        [ ${#1} -le 253 ]
}
valid_ipv4() {
    local IFS=. part parts
    [[ "$1" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
    read -ra parts <<<"$1"
    for part in "${parts[@]}"; do [ $((10#$part)) -le 255 ] || return 1; done
}
valid_ipv6() { [[ "$1" =~ ^[0-9A-Fa-f:]+(:[0-9.]+)?$ ]] && [[ "$1" == *:*:* ]]; }
valid_ip() { valid_ipv4 "$1" || valid_ipv6 "$1"; }
valid_port() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ $((10#$1)) -ge 1 ] && [ $((10#$1)) -le 65535 ]; }
valid_host() { valid_dns_name "$1" || valid_ipv4 "$1" || { [[ "$1" =~ ^\[(.*)\]$ ]] && valid_ipv6 "${BASH_REMATCH[1]}"; }; }
# address/prefix, IPv4 or IPv6
valid_cidr() {
    local ip=${1%/*} prefix=${1##*/}
    [[ "$1" == */* ]] && [[ "$prefix" =~ ^[0-9]{1,3}$ ]] || return 1
    if valid_ipv4 "$ip"; then [ "$prefix" -ge 1 ] && [ "$prefix" -le 32 ]; else
        valid_ipv6 "$ip" && [ "$prefix" -ge 1 ] && [ "$prefix" -le 128 ]
    fi
}
# host[:port], IPv6 in brackets
valid_endpoint() {
    local host=$1 port=
    if [[ "$1" =~ ^(.*):([0-9]+)$ ]] && [[ "$1" != *:*:* || "$1" == \[*\]:* ]]; then
        host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
    fi
    valid_host "$host" && { [ -z "$port" ] || valid_port "$port"; }
}
valid_join_url() {
    [[ "$1" =~ ^https://([^/?#]+)(/[^[:space:]]*)?$ ]] && valid_endpoint "${BASH_REMATCH[1]}"
}

# Reads FILE into role, join_url, edges, edge_server_name. On a problem returns 1 with
# settings_error saying what and where (the line number).
read_settings() {
    local file=$1 line key value number=0
    role= join_url= edges= edge_server_name= settings_error=
    while IFS= read -r line || [ -n "$line" ]; do
        number=$((number + 1))
        line=${line%%#*}
        line=$(echo "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
        [ -z "$line" ] && continue
        [[ "$line" == *=* ]] || { settings_error="line $number: expected key=value"; return 1; }
        key=$(echo "${line%%=*}" | sed 's/[[:space:]]*$//')
        value=$(echo "${line#*=}" | sed 's/^[[:space:]]*//')
        case "$key" in
        role) role=$value ;;
        join_url) join_url=$value ;;
        edges) edges=$value ;;
        edge_server_name) edge_server_name=$value ;;
        *) settings_error="line $number: unknown key '$key' (role, join_url, edges, edge_server_name)"; return 1 ;;
        esac
    done <"$file"
    valid_role "$role" || { settings_error="role: expected edge or core, got '$role'"; return 1; }
    local item
    for item in $join_url; do
        valid_join_url "$item" || { settings_error="join_url: '$item' is not an https:// URL"; return 1; }
    done
    for item in $edges; do
        valid_endpoint "$item" || { settings_error="edges: '$item' is not host[:port]"; return 1; }
    done
    if [ -n "$edge_server_name" ] && ! valid_dns_name "$edge_server_name"; then
        settings_error="edge_server_name: '$edge_server_name' is not a DNS name"
        return 1
    fi
    if [ "$role" = core ] && { [ -n "$join_url" ] && [ -z "$edges" ] || [ -z "$join_url" ] && [ -n "$edges" ]; }; then
        settings_error="a core needs both join_url and edges (or neither, to keep core.json as it is)"
        return 1
    fi
    return 0
}

# The terminals of the kernel's consoles (tty0 is the screen: its first virtual terminal).
console_terminals() {
    local c seen=" "
    for c in $(cat /sys/class/tty/console/active 2>/dev/null || echo tty1); do
        [ "$c" = tty0 ] && c=tty1
        [ -c "/dev/$c" ] || continue
        case "$seen" in *" $c "*) continue ;; esac
        seen+="$c "
        echo "$c"
    done
}

# Writes FILE to every console terminal (bounded: a serial line nobody reads must not hang).
show_on_consoles() {
    local t
    for t in $(console_terminals); do
        timeout 10 sh -c 'cat "$1" >"/dev/$2"' _ "$1" "$t" || true
    done
}
