#!/bin/sh
# The library as a user gets it: `make install` into a temporary DESTDIR
# and PREFIX, then a small program that reads a capture through the
# library is built with nothing but pkg-config's flags, twice: against the
# shared libnatlens.so (soname libnatlens.so.0, found at run time) and, with
# `pkg-config --static`, against libnatlens.a (no libnatlens.so needed at
# run time). Both must print what `natlens flows --json` says.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${NATLENS:-$ROOT/$BUILD/natlens}
C=${CORPUS:-$ROOT/tests/corpus}
command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
T=$(mktemp -d /tmp/natlens-pc.XXXXXX); trap 'rm -rf "$T"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
CC=${CC:-cc}
P=/opt/natlens-test      # PREFIX as recorded in natlens.pc; files land under $T/dest
D=$T/dest

if ! make -C "$ROOT" --no-print-directory -s install BUILD="$BUILD" DESTDIR="$D" PREFIX="$P" \
        > "$T/install.log" 2>&1; then
    echo "FAIL make install:"; tail -n 20 "$T/install.log"; exit 1
fi
L=$D$P/lib
for f in libnatlens.a libnatlens.so libnatlens.so.0 pkgconfig/natlens.pc; do
    [ -e "$L/$f" ] || bad "not installed: $P/lib/$f"
done
[ "$(readlink "$L/libnatlens.so")" = libnatlens.so.0 ] && [ -f "$L/$(readlink "$L/libnatlens.so.0")" ] \
    && ok "libnatlens.so -> libnatlens.so.0 -> $(readlink "$L/libnatlens.so.0")" || bad "shared library links"
readelf -d "$L/libnatlens.so.0" | grep -q 'SONAME.*\[libnatlens.so.0\]' && ok "soname libnatlens.so.0" || bad "soname"

export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
pkg-config --exists natlens && ok "pkg-config finds natlens $(pkg-config --modversion natlens)" || bad "pkg-config"

cat > "$T/use.c" <<'EOF'
/* reads a capture through the installed library */
#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/trace.h"

int main(int argc, char **argv)
{
    char err[512], cid[64];
    size_t n;
    nl_trace *t = argc > 1 ? trace_load(argv[1], NULL, err) : NULL;
    nl_flow **fl;
    if (!t) {
        fprintf(stderr, "%s\n", argc > 1 ? err : "usage: use CAPTURE");
        return 2;
    }
    fl = trace_flows(t, &n);
    printf("%llu %zu %s\n", (unsigned long long)t->packets, n,
           n ? flow_community_id(fl[0], cid, sizeof cid) : "-");
    trace_free(t);
    return 0;
}
EOF
W=$C/zeek/wikipedia.pcap
want=$("$N" flows --json "$W" | python3 -c "
import json,sys; d=json.load(sys.stdin)
print(d['captures'][0]['packets'], len(d['flows']), d['flows'][0]['community_id'])")

# dynamic: -lnatlens alone; libpcap and nettle come from the library's DT_NEEDED
# shellcheck disable=SC2046
if $CC -o "$T/use-dyn" "$T/use.c" $(pkg-config --cflags --libs natlens) 2> "$T/cc.log"; then
    readelf -d "$T/use-dyn" | grep -q 'NEEDED.*libnatlens.so.0' && ok "dynamic: linked against libnatlens.so.0" \
        || bad "dynamic program does not need libnatlens.so.0"
    got=$(LD_LIBRARY_PATH=$L "$T/use-dyn" "$W")
    [ "$got" = "$want" ] && ok "dynamic program: $got" || bad "dynamic program printed '$got', want '$want'"
else
    bad "dynamic link with $(pkg-config --cflags --libs natlens): $(head -c 600 "$T/cc.log")"
fi

# static: the archive, and what pkg-config --static adds for it
libs=$(pkg-config --static --libs natlens | sed 's/-lnatlens/-l:libnatlens.a/')
# shellcheck disable=SC2086
if $CC -o "$T/use-static" "$T/use.c" $(pkg-config --static --cflags natlens) $libs 2> "$T/cc.log"; then
    readelf -d "$T/use-static" | grep -q 'libnatlens' && bad "static program still needs libnatlens.so" \
        || ok "static: libnatlens.a linked in ($libs)"
    got=$("$T/use-static" "$W")
    [ "$got" = "$want" ] && ok "static program: $got" || bad "static program printed '$got', want '$want'"
else
    bad "static link with $libs: $(head -c 600 "$T/cc.log")"
fi
exit $fail
