#!/bin/sh
# shards.sh - two throw-away ClickHouse servers on loopback, one directory.
#
#   . analyzer/sql/clickhouse/shards.sh
#   ch_shards_start DIR      # starts shard 1 and 2; sets CH_PORT1 CH_PORT2
#   ...                      # clickhouse-client --port "$CH_PORT1" ...
#   ch_shards_stop DIR       # stops both by PID, removes DIR
#
# Each server gets its own config.xml and users.xml in DIR/sN (listen_host
# 127.0.0.1 only, the default user reachable from 127.0.0.1 only, data,
# logs and tmp under DIR/sN), and both know the cluster `natlens_fleet`
# made of the two, so a Distributed table spans them. Ports are picked
# free from a range keyed by the caller's PID. Tests and the bench source
# this file; the caller traps EXIT to call ch_shards_stop.
# Works with Debian's clickhouse-server 18.16 (the <yandex> root element is
# still read by current ClickHouse).

ch_port_free() {
    ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

ch_pick_ports() { # sets CH_PORT1 CH_PORT2 CH_HTTP1 CH_HTTP2
    base=$((20000 + ($$ * 7) % 30000))
    set --
    p=$base
    while [ $# -lt 4 ] && [ $p -lt $((base + 400)) ]; do
        ch_port_free $p && set -- "$@" $p
        p=$((p + 1))
    done
    [ $# -eq 4 ] || return 1
    CH_PORT1=$1 CH_PORT2=$2 CH_HTTP1=$3 CH_HTTP2=$4
}

ch_write_config() { # dir tcp http
    mkdir -p "$1/data" "$1/tmp" "$1/user_files"
    cat >"$1/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$1/server.log</log><errorlog>$1/err.log</errorlog><size>10M</size><count>1</count></logger>
  <tcp_port>$2</tcp_port>
  <http_port>$3</http_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>64</max_connections>
  <max_concurrent_queries>32</max_concurrent_queries>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <path>$1/data/</path>
  <tmp_path>$1/tmp/</tmp_path>
  <user_files_path>$1/user_files/</user_files_path>
  <users_config>$1/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <natlens_fleet>
      <shard><replica><host>127.0.0.1</host><port>$CH_PORT1</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$CH_PORT2</port></replica></shard>
    </natlens_fleet>
  </remote_servers>
</yandex>
EOF
    cat >"$1/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF
}

ch_wait_up() { # port: up to 30 s
    i=0
    while [ $i -lt 60 ]; do
        clickhouse-client --host 127.0.0.1 --port "$1" --query "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.5
        i=$((i + 1))
    done
    return 1
}

ch_shards_start() { # dir
    command -v clickhouse-server >/dev/null 2>&1 || { echo "clickhouse-server not installed"; return 1; }
    ch_pick_ports || { echo "no free loopback ports"; return 1; }
    for n in 1 2; do
        eval tcp=\$CH_PORT$n http=\$CH_HTTP$n
        ch_write_config "$1/s$n" "$tcp" "$http"
        clickhouse-server --config-file="$1/s$n/config.xml" >"$1/s$n/stdout" 2>&1 &
        echo $! >"$1/s$n/pid"
    done
    ch_wait_up "$CH_PORT1" && ch_wait_up "$CH_PORT2" || {
        echo "clickhouse-server did not come up:"; tail -n 5 "$1"/s*/err.log "$1"/s*/stdout 2>/dev/null
        return 1
    }
}

ch_shards_stop() { # dir
    [ -n "${1:-}" ] || return 0
    for n in 1 2; do
        [ -f "$1/s$n/pid" ] || continue
        pid=$(cat "$1/s$n/pid")
        kill "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$1"
}
