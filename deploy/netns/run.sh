#!/usr/bin/env bash
# A Tudásháló federation on one machine, each participant a separate "host"
# in its own Linux network namespace:
#
#   <prefix>-hub     10.77.0.1    tudashalo-hub serve   (port 7700)
#   <prefix>-node1   10.77.0.11   tudashalo-node serve  (port 7701)
#   <prefix>-node2   10.77.0.12   ...
#   <prefix>-br      a bridge (br0) joining the hosts' veth pairs
#
# The 10.77.0.0/24 addresses exist only inside these namespaces; nothing is
# added to the root namespace and no traffic goes anywhere else. The script
# mints a PKI whose certificates carry those addresses, writes sample
# Hungarian documents and indicators, imports them, starts the nodes and the
# hub, runs a federated search from the hub's namespace, prints the answer and
# the member statuses, and tries `tudashalo-hub pull` when it exists.
#
# Everything it made (processes, namespaces and the veths in them, the work
# folder) is removed on exit, unless --keep is given.
#
# Usage (as root):
#   deploy/netns/run.sh [--nodes N] [--delay 40ms] [--loss 1%] [--bin DIR]
#                       [--query WORDS] [--prefix tdh] [--keep] [--clean]
#
#   --nodes N     number of nodes (default 3; at most 200)
#   --delay D     netem delay on every host's link, e.g. 40ms (each way)
#   --loss P      netem loss on every host's link, e.g. 1%
#   --bin DIR     folder with tudashalo-node and tudashalo-hub (default:
#                 target/release, built with cargo when missing)
#   --query Q     the search (default "turizmus")
#   --prefix P    namespace name prefix (default tdh)
#   --keep        leave everything running; remove it later with --clean
#   --clean       only remove the namespaces and processes of an earlier --keep
#
# Exit status: 0 when the search succeeded and every member answered ok.
set -euo pipefail

readonly SUBNET_PREFIX=10.77.0
readonly HUB_IP=${SUBNET_PREFIX}.1
readonly HUB_PORT=7700
readonly NODE_PORT=7701

nodes=3
delay=""
loss=""
bin_dir=""
query="turizmus"
prefix="tdh"
keep=0
clean_only=0

usage() {
    sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
    --delay) delay=${2:?--delay needs a value such as 40ms}; shift 2 ;;
    --loss) loss=${2:?--loss needs a value such as 1%}; shift 2 ;;
    --bin) bin_dir=${2:?--bin needs a folder}; shift 2 ;;
    --query) query=${2:?--query needs words}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a name}; shift 2 ;;
    --keep) keep=1; shift ;;
    --clean) clean_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if ! [[ $nodes =~ ^[0-9]+$ ]] || ((nodes < 1 || nodes > 200)); then
    die "--nodes must be 1..200, not ${nodes}"
fi
[[ $prefix =~ ^[a-z][a-z0-9-]{0,20}$ ]] || die "--prefix must be a short lowercase name, not ${prefix}"
[[ -z $delay || $delay =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "--delay must look like 40ms, not ${delay}"
[[ -z $loss || $loss =~ ^[0-9]+(\.[0-9]+)?%$ ]] || die "--loss must look like 1%, not ${loss}"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces): sudo $0 $*"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

bridge_ns="${prefix}-br"
hub_ns="${prefix}-hub"
node_ns() { echo "${prefix}-node$1"; }
node_ip() { echo "${SUBNET_PREFIX}.$((10 + $1))"; }
node_name() {
    local names=(edelenyi kisteleki szecsenyi)
    if (($1 <= ${#names[@]})); then echo "${names[$(($1 - 1))]}"; else echo "kisterseg$1"; fi
}
node_display() {
    case "$(node_name "$1")" in
    edelenyi) echo "Edelényi kistérség" ;;
    kisteleki) echo "Kisteleki kistérség" ;;
    szecsenyi) echo "Szécsényi kistérség" ;;
    *) echo "$1. kistérség" ;;
    esac
}

# --- tools -------------------------------------------------------------------
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
    echo "== installing iproute2 (ip, tc)"
    command -v apt-get >/dev/null || die "ip/tc missing and no apt-get: install iproute2"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi

# --- clean-up ----------------------------------------------------------------
pids=()
# The work folder doubles as the lock of this prefix: one run at a time.
work="${TMPDIR:-/tmp}/tudashalo-netns-${prefix}"
made_work=0
# Our namespaces: the fixed names this prefix gives, nothing else.
our_namespaces() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        if [[ $ns == "$hub_ns" || $ns == "$bridge_ns" || $ns =~ ^${prefix}-node[0-9]+$ ]]; then
            echo "$ns"
        fi
    done
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    if ((keep && status == 0 && !clean_only)); then
        echo
        echo "== left running (--keep): namespaces $(our_namespaces | tr '\n' ' ')"
        echo "   work folder: $work"
        echo "   stop it with: $0 --prefix $prefix --clean"
        exit 0
    fi
    local pid ns
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    # Anything else still running inside our namespaces was started by an
    # earlier run of this script with the same prefix.
    for ns in $(our_namespaces); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill "$pid" 2>/dev/null
        done
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    for ns in $(our_namespaces); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        # Deleting a namespace also deletes the veths and the bridge in it.
        ip netns delete "$ns" 2>/dev/null
    done
    if ((made_work || clean_only)) && [[ -d $work ]]; then
        if ((status != 0)); then
            local log
            for log in "$work"/logs/*.log; do
                [[ -s $log ]] || continue
                echo "---- $(basename "$log") (last lines)" >&2
                tail -n 15 "$log" >&2
            done
        fi
        rm -rf "$work"
    fi
    exit "$status"
}

if ((clean_only)); then
    keep=0
    trap cleanup EXIT
    echo "== removing namespaces with prefix ${prefix} ($(our_namespaces | tr '\n' ' ')) and $work"
    exit 0
fi

if [[ -n $(our_namespaces) ]]; then
    die "namespaces with prefix ${prefix} exist already ($(our_namespaces | tr '\n' ' ')); remove them with: $0 --prefix $prefix --clean"
fi
mkdir -m 0755 "$work" 2>/dev/null ||
    die "$work exists: another run with prefix ${prefix} is going on, or one was left (remove it with: $0 --prefix $prefix --clean)"
made_work=1

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- binaries ----------------------------------------------------------------
if [[ -z $bin_dir ]]; then
    bin_dir="$repo/target/release"
    if [[ ! -x $bin_dir/tudashalo-node || ! -x $bin_dir/tudashalo-hub ]]; then
        echo "== building release binaries"
        command -v cargo >/dev/null || die "no binaries in $bin_dir and no cargo to build them"
        (cd "$repo" && cargo build --release --locked --bin tudashalo-node --bin tudashalo-hub)
    fi
fi
bin_dir=$(cd "$bin_dir" && pwd)
NODE_BIN="$bin_dir/tudashalo-node"
HUB_BIN="$bin_dir/tudashalo-hub"
[[ -x $NODE_BIN ]] || die "$NODE_BIN is missing"
[[ -x $HUB_BIN ]] || die "$HUB_BIN is missing"
export TUDASHALO_LOG=${TUDASHALO_LOG:-warn}

mkdir -p "$work/logs" "$work/pki" "$work/sample"
echo "== work folder $work; binaries from $bin_dir"

# --- network -----------------------------------------------------------------
netem_args=()
if [[ -n $delay ]]; then netem_args+=(delay "$delay"); fi
if [[ -n $loss ]]; then netem_args+=(loss "$loss"); fi

ip netns add "$bridge_ns"
ip -n "$bridge_ns" link set lo up
ip -n "$bridge_ns" link add br0 type bridge
ip -n "$bridge_ns" link set br0 up

if ((${#netem_args[@]})); then
    # Is netem there? Try it on the bridge namespace's own loopback first.
    if ! ip netns exec "$bridge_ns" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
        if command -v modprobe >/dev/null; then modprobe sch_netem 2>/dev/null || true; fi
        ip netns exec "$bridge_ns" tc qdisc add dev lo root netem delay 1ms 2>/dev/null ||
            die "--delay/--loss need the kernel's netem qdisc (sch_netem), which this kernel ($(uname -r)) does not have; run without them"
    fi
    ip netns exec "$bridge_ns" tc qdisc del dev lo root
fi

# add_host NS IP PORT_NAME: a namespace with eth0 (IP/24) whose peer PORT_NAME
# is a port of br0. Both veth ends are created directly inside their
# namespaces, so the root namespace never sees them.
add_host() {
    local ns=$1 addr=$2 port=$3
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "$port" netns "$bridge_ns"
    ip -n "$bridge_ns" link set "$port" master br0
    ip -n "$bridge_ns" link set "$port" up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    if ((${#netem_args[@]})); then
        # On the bridge side: delays and drops what reaches this host, so a
        # round trip between two hosts gets the delay twice.
        ip netns exec "$bridge_ns" tc qdisc add dev "$port" root netem "${netem_args[@]}"
    fi
}

add_host "$hub_ns" "$HUB_IP" v-hub
for i in $(seq 1 "$nodes"); do
    add_host "$(node_ns "$i")" "$(node_ip "$i")" "v-n$i"
done
echo "== network: bridge in $bridge_ns; $hub_ns=$HUB_IP$(for i in $(seq 1 "$nodes"); do printf ' %s=%s' "$(node_ns "$i")" "$(node_ip "$i")"; done)${netem_args[*]:+; netem ${netem_args[*]}}"

# --- PKI ---------------------------------------------------------------------
pki="$work/pki"
"$HUB_BIN" pki init --dir "$pki" --days 3 >/dev/null
"$HUB_BIN" pki issue --dir "$pki" --name hub --role hub --host "$HUB_IP" --days 2 >/dev/null
"$HUB_BIN" pki issue --dir "$pki" --name operator --role operator --host localhost --days 2 >/dev/null
for i in $(seq 1 "$nodes"); do
    "$HUB_BIN" pki issue --dir "$pki" --name "$(node_name "$i")" --role node --host "$(node_ip "$i")" --days 2 >/dev/null
done
echo "== PKI: CA, hub ($HUB_IP), operator and $nodes node certificates"

# --- sample data -------------------------------------------------------------
# write_sample I DIR: documents (JSON Lines), an indicator catalogue and
# observations (CSV) for node I, in Hungarian.
write_sample() {
    local i=$1 dir=$2 name display s1 s2 s3
    name=$(node_name "$i")
    display=$(node_display "$i")
    case "$name" in
    edelenyi) s1="Edelény" s2="Szendrő" s3="Borsodszirák" ;;
    kisteleki) s1="Kistelek" s2="Baks" s3="Pusztaszer" ;;
    szecsenyi) s1="Szécsény" s2="Hollókő" s3="Nógrádszakál" ;;
    *) s1="Első falu $i" s2="Második falu $i" s3="Harmadik falu $i" ;;
    esac
    cat >"$dir/documents.jsonl" <<EOF
{"id":"${name}-turizmus-2023","title":"${display}: turizmusfejlesztési koncepció","body":"A kistérség turizmusfejlesztési koncepciója a falusi turizmus, a kerékpáros útvonalak és a helyi termékek összekapcsolását célozza. ${s1} és ${s2} közös szálláshely-minősítést vezet be.","kind":"concept","sectors":["turizmus"],"settlements":["${s1}","${s2}"],"year":2023,"org":"${display} Többcélú Társulása","visibility":"federated","tags":["turizmus","kerékpár"]}
{"id":"${name}-ivoviz-2022","title":"Ivóvízhálózat-rekonstrukció ${s3} településen","body":"Az ivóvízhálózat elöregedett vezetékeinek cseréje ${s3} belterületén. A projekt csökkenti a hálózati veszteséget és javítja a vízminőséget; a turizmus szempontjából is fontos a strand ellátása.","kind":"project","sectors":["vízgazdálkodás"],"settlements":["${s3}"],"year":2022,"org":"${s3} Község Önkormányzata","visibility":"public","tags":["ivóvíz","infrastruktúra"]}
{"id":"${name}-foglalkoztatas-2024","title":"Foglalkoztatási paktum ${s1} térségében","body":"A helyi foglalkoztatási paktum a közfoglalkoztatásból a nyílt munkaerőpiacra vezető utat támogatja képzésekkel és bértámogatással.","kind":"strategy","sectors":["foglalkoztatás"],"settlements":["${s1}"],"year":2024,"visibility":"federated"}
{"id":"${name}-belso-2024","title":"Belső feljegyzés a turizmus költségvetéséről","body":"Csak a kistérség munkatársainak: a turizmus költségvetésének tervezete.","kind":"minutes","year":2024,"visibility":"local"}
EOF
    cat >"$dir/catalogue.csv" <<'EOF'
kód;név;mértékegység;aggregálás
nepesseg;Lakónépesség;fő;sum
munkanelkuli;Nyilvántartott álláskeresők;fő;sum
vendegejszaka;Kereskedelmi szálláshelyek vendégéjszakái;éjszaka;sum
EOF
    cat >"$dir/observations.csv" <<EOF
mutató;település;időszak;érték;mértékegység
nepesseg;${s1};2022;$((3150 + i * 37));fő
nepesseg;${s2};2022;$((2620 + i * 41));fő
nepesseg;${s3};2022;$((2230 + i * 13));fő
nepesseg;${s1};2023;$((3100 + i * 37));fő
nepesseg;${s2};2023;$((2600 + i * 41));fő
nepesseg;${s3};2023;$((2200 + i * 13));fő
munkanelkuli;${s1};2023;$((210 + i * 7));fő
munkanelkuli;${s2};2023;$((180 + i));fő
munkanelkuli;${s3};2023;$((150 + i * 3));fő
vendegejszaka;${s1};2023;$((4200 + i * 250));éjszaka
vendegejszaka;${s2};2023;$((3900 + i * 90));éjszaka
vendegejszaka;${s3};2023;$((3100 + i * 60));éjszaka
EOF
}

for i in $(seq 1 "$nodes"); do
    name=$(node_name "$i")
    data="$work/$name"
    sample="$work/sample/$name"
    mkdir -p "$data" "$sample"
    cat >"$data/node.toml" <<EOF
name = "$name"
display_name = "$(node_display "$i")"
listen = "$(node_ip "$i"):$NODE_PORT"

[tls]
cert = "$pki/$name.pem"
key = "$pki/$name.key"
ca = "$pki/ca.pem"

# Deny by default: let the hub in, and the operator it may relay for.
[policy]
hubs = ["hub"]

[[policy.grant]]
principal = "operator:operator"
allow = ["search", "get", "aggregate_settlement"]
EOF
    write_sample "$i" "$sample"
    "$NODE_BIN" import --data "$data" "$sample/documents.jsonl" "$sample/catalogue.csv" "$sample/observations.csv" \
        >"$work/logs/import-$name.log" 2>&1 || die "importing into $name failed: $(cat "$work/logs/import-$name.log")"
done
echo "== sample data imported into $nodes nodes (4 documents, 3 indicators, 12 observations each)"

# --- hub configuration -------------------------------------------------------
{
    cat <<EOF
name = "hub"
display_name = "Névtér-hub"
listen = "$HUB_IP:$HUB_PORT"
deadline_ms = 3000

[tls]
cert = "$pki/hub.pem"
key = "$pki/hub.key"
ca = "$pki/ca.pem"
EOF
    for i in $(seq 1 "$nodes"); do
        cat <<EOF

[[member]]
name = "$(node_name "$i")"
display_name = "$(node_display "$i")"
endpoint = "https://$(node_ip "$i"):$NODE_PORT"
EOF
    done
} >"$work/hub.toml"

# --- start -------------------------------------------------------------------
# wait_port NS IP PORT WHAT: waits until IP:PORT accepts TCP connections, as
# seen from namespace NS (so over the bridge, through netem).
wait_port() {
    local ns=$1 addr=$2 port=$3 what=$4 pid=$5 tries=0
    until ip netns exec "$ns" timeout 2 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || die "$what exited at start: $(tail -n 5 "$work/logs/$what.log")"
        ((++tries < 100)) || die "$what does not listen on $addr:$port after 20 s"
        sleep 0.2
    done
}

for i in $(seq 1 "$nodes"); do
    name=$(node_name "$i")
    ip netns exec "$(node_ns "$i")" "$NODE_BIN" serve --data "$work/$name" >"$work/logs/$name.log" 2>&1 &
    pids+=("$!")
done
for i in $(seq 1 "$nodes"); do
    wait_port "$hub_ns" "$(node_ip "$i")" "$NODE_PORT" "$(node_name "$i")" "${pids[$((i - 1))]}"
done
echo "== $nodes nodes serving"

ip netns exec "$hub_ns" "$HUB_BIN" serve --config "$work/hub.toml" >"$work/logs/hub.log" 2>&1 &
pids+=("$!")
hub_pid=$!
wait_port "$hub_ns" "$HUB_IP" "$HUB_PORT" hub "$hub_pid"
echo "== hub serving on https://$HUB_IP:$HUB_PORT"

# --- search ------------------------------------------------------------------
client=(--hub "https://$HUB_IP:$HUB_PORT" --cert "$pki/operator.pem" --key "$pki/operator.key" --ca "$pki/ca.pem")
read -r -a words <<<"$query"

# The hub connects to its members in the background: until it has, a member
# may show as unavailable. Try for a while, then judge the last answer.
answer=""
members_total=0
members_ok=0
for attempt in $(seq 1 15); do
    if answer=$(ip netns exec "$hub_ns" timeout 30 "$HUB_BIN" search "${client[@]}" --json -- "${words[@]}" 2>"$work/logs/search.err"); then
        members_total=$(grep -c '"state":' <<<"$answer" || true)
        members_ok=$(grep -c '"state": "ok"' <<<"$answer" || true)
        if ((members_total == nodes && members_ok == nodes)); then
            break
        fi
    else
        answer=""
    fi
    if ((attempt < 15)); then sleep 1; fi
done
[[ -n $answer ]] || die "the search failed: $(cat "$work/logs/search.err")"

echo
echo "== tudashalo-hub search \"$query\" (from $hub_ns, attempt $attempt)"
ip netns exec "$hub_ns" timeout 30 "$HUB_BIN" search "${client[@]}" -- "${words[@]}" || die "the search failed"
total=$(grep -m1 '"total":' <<<"$answer" | tr -dc '0-9')
echo
echo "== summary: total ${total:-?} hits, members ok ${members_ok}/${nodes} (answers from ${members_total})"

# --- pull (aggregates), when this build has it --------------------------------
echo
if help=$(timeout 10 "$HUB_BIN" pull --help 2>&1); then
    pull_args=()
    if grep -q -- '--hub' <<<"$help"; then pull_args+=("${client[@]}"); fi
    if grep -q -- '--indicator' <<<"$help"; then
        pull_args+=(--indicator "nepesseg,munkanelkuli")
    else
        pull_args+=(nepesseg munkanelkuli)
    fi
    echo "== tudashalo-hub pull ${pull_args[*]//$work/\$WORK}"
    if ! ip netns exec "$hub_ns" timeout 30 "$HUB_BIN" pull "${pull_args[@]}"; then
        echo "warning: tudashalo-hub pull failed (its arguments were guessed from --help)" >&2
    fi
else
    echo "== pull: not available yet (tudashalo-hub pull --help failed)"
fi

if ((members_total != nodes || members_ok != nodes)); then
    echo >&2
    echo "FAILED: ${members_ok} of ${nodes} members answered ok" >&2
    grep -E '"(member|state|message)":' <<<"$answer" >&2 || true
    exit 1
fi
echo
echo "OK: federated search across $nodes namespaced nodes"
