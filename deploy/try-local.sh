#!/usr/bin/env bash
# Bring the README's "Deploying" stack up on this machine, as a new operator would, run one
# simulated Web Connector session through it over https, print the result, tear it all down.
#
#   sudo deploy/try-local.sh            (root: installs nginx-light and PostgreSQL if missing)
#
# It follows the README's steps in order, with these differences only, each for a throwaway run:
#   * /opt/qbwc-bridge, /etc/qbwc-bridge, /var/lib/qbwc-bridge and /run/qbwc-bridge live under a
#     scratch directory ($ROOT) instead of /;
#   * PostgreSQL is a private cluster (initdb) on a free loopback port, not Debian's main cluster;
#   * no systemd here: each qbwc-bridge@PORT is started from the unit file's own ExecStart line,
#     with its EnvironmentFile loaded; nginx runs as its own master with the site file included;
#   * the host name is bridge.localtest (mapped to 127.0.0.1 in /etc/hosts for the run), with a
#     self-signed certificate that the simulator is told to trust (--ca-file).
# Not part of the pytest suite: it needs root, nginx and about a minute.
set -euo pipefail
umask 022

REPO=$(cd "$(dirname "$0")/.." && pwd)
BRIDGE_HOST=${BRIDGE_HOST:-bridge.localtest}
PORTS=(8081 8082)
# Debian's interpreter: the service user must be able to run it (a pyenv shim under /root is not).
PYTHON=${PYTHON:-/usr/bin/python3.11}
ROOT=$(mktemp -d /tmp/qbwc-bridge-try.XXXXXX)
chmod 0755 "$ROOT"
PREFIX=$ROOT/opt/qbwc-bridge
CONF=$ROOT/etc/qbwc-bridge
STATE=$ROOT/var/lib/qbwc-bridge
RUN=$ROOT/run/qbwc-bridge
HOSTS_MARK="# qbwc-bridge try-local $$"
PIDS=()
PG_DATA=""
CREATED_USER=0
started=$(date +%s)

step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

teardown() {
    status=$?
    step "tearing down"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "$PG_DATA" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -m fast -w -s stop 2>/dev/null || true
    sed -i "/$HOSTS_MARK\$/d" /etc/hosts
    [ "$CREATED_USER" = 1 ] && userdel qbwc-bridge 2>/dev/null || true
    rm -rf "$ROOT"
    echo "done: exit status $status after $(( $(date +%s) - started )) s"
}
trap teardown EXIT

[ "$(id -u)" = 0 ] || { echo "error: run as root (installs packages, binds port 443, edits /etc/hosts)" >&2; exit 2; }
for port in 443 "${PORTS[@]}"; do
    if ss -Hltn "sport = :$port" | grep -q .; then echo "error: port $port is in use" >&2; exit 2; fi
done

step "README step 1: system packages and the service user"
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -q install -y "${missing[@]}" >/dev/null
    # Debian starts the packaged nginx on port 80: ours runs on its own; stop that one.
    [ -x /usr/sbin/nginx ] && { nginx -s quit 2>/dev/null || true; }
fi
if ! id qbwc-bridge >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/qbwc-bridge --no-create-home --shell /usr/sbin/nologin qbwc-bridge
    CREATED_USER=1
fi

step "README step 2: install the bridge into its own venv"
"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/pip" install --quiet --disable-pip-version-check "$REPO" >"$ROOT/pip.log" 2>&1 \
    || { cat "$ROOT/pip.log" >&2; exit 1; }
install -D -m 0755 "$REPO/deploy/qbwc-bridge-admin" "$ROOT/usr/local/bin/qbwc-bridge-admin"
export QBWC_BRIDGE_PREFIX=$PREFIX QBWC_BRIDGE_ENV_FILE=$CONF/env
ADMIN=$ROOT/usr/local/bin/qbwc-bridge-admin

step "README step 3: PostgreSQL, a role and a database"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PG_DATA=$ROOT/pg
install -d -o postgres "$PG_DATA"
install -o postgres -m 0600 <(echo postgres-try-local) "$ROOT/pg.pw"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA/data" -A scram-sha-256 --pwfile="$ROOT/pg.pw" \
    -U postgres -E UTF8 --locale=C --no-instructions >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA/data" -l "$PG_DATA/server.log" -w -s \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DATA" start
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGPASSWORD=postgres-try-local
DB_PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')
runuser -u postgres -- psql -q -U postgres -c "CREATE ROLE qbwc_bridge LOGIN PASSWORD '$DB_PASSWORD'"
runuser -u postgres -- createdb -U postgres -O qbwc_bridge qbwc_bridge
unset PGPASSWORD

step "README step 4: settings (/etc/qbwc-bridge/env)"
install -d -m 0750 -g qbwc-bridge "$CONF" "$CONF/tls"
install -d -m 0750 -o qbwc-bridge -g qbwc-bridge "$STATE" "$RUN" "$RUN/metrics"
install -m 0640 -g qbwc-bridge "$REPO/deploy/qbwc-bridge.env" "$CONF/env"
secret() { "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))'; }
sed -i -e "s|CHANGE-ME-DB-PASSWORD|$DB_PASSWORD|" -e "s|127.0.0.1:5432|127.0.0.1:$PG_PORT|" \
       -e "s|CHANGE-ME-SECRET-KEY|$(secret)|" -e "s|CHANGE-ME-METRICS-TOKEN|$(secret)|" \
       -e "s|bridge.example.com|$BRIDGE_HOST|" \
       -e "s|/var/lib/qbwc-bridge|$STATE|" -e "s|/run/qbwc-bridge|$RUN|" "$CONF/env"
# The simulator checks with Intuit's XSDs when found (a checkout keeps them in ../shared), else its built-in checks.
if [ -d "$REPO/../shared/qbxml-schema" ]; then echo "QBWC_BRIDGE_SHARED_DIR=$(cd "$REPO/../shared" && pwd)" >>"$CONF/env"; fi
grep -v -e PASSWORD -e SECRET -e TOKEN -e DATABASE_URL "$CONF/env" | grep -v '^#' | sed 's/^/   /'

step "README step 5: TLS certificate (self-signed for $BRIDGE_HOST here)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$BRIDGE_HOST" \
    -addext "subjectAltName=DNS:$BRIDGE_HOST" -keyout "$CONF/tls/privkey.pem" -out "$CONF/tls/fullchain.pem" 2>/dev/null
echo "127.0.0.1 $BRIDGE_HOST $HOSTS_MARK" >>/etc/hosts

step "README step 6: migrate (safe from several hosts at once)"
"$ADMIN" migrate

step "README step 7: the server processes (qbwc-bridge@PORT.service)"
UNIT=$REPO/deploy/systemd/qbwc-bridge@.service
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT" | sed "s|/opt/qbwc-bridge|$PREFIX|")
for port in "${PORTS[@]}"; do
    command=${exec_start//%i/$port}
    runuser -u qbwc-bridge -- sh -c 'set -a; . "$1"; set +a; cd "$QBWC_BRIDGE_DATA_DIR"; shift; exec "$@"' \
        sh "$CONF/env" $command >"$ROOT/serve-$port.log" 2>&1 &
    PIDS+=($!)
    echo "qbwc-bridge@$port: pid $! ($command)"
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$ROOT/serve-$port.log"; exit 1; }
done

step "README step 8: nginx"
install -d "$ROOT/nginx/sites-enabled" "$ROOT/nginx/logs"
sed -e "s|bridge.example.com|$BRIDGE_HOST|g" -e "s|/etc/qbwc-bridge|$CONF|g" \
    "$REPO/deploy/nginx/qbwc-bridge.conf" >"$ROOT/nginx/sites-enabled/qbwc-bridge.conf"
cat >"$ROOT/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $ROOT/nginx/nginx.pid;
error_log $ROOT/nginx/logs/error.log;
events {}
http {
    log_format upstream '\$request \$status \$upstream_addr';
    access_log $ROOT/nginx/logs/access.log upstream;
    include /etc/nginx/mime.types;
    include $ROOT/nginx/sites-enabled/*.conf;
}
NGINX
nginx -t -q -p "$ROOT/nginx" -c "$ROOT/nginx/nginx.conf"
nginx -p "$ROOT/nginx" -c "$ROOT/nginx/nginx.conf" -g "daemon off;" &
PIDS+=($!)
for _ in $(seq 50); do curl -fsS --cacert "$CONF/tls/fullchain.pem" "https://$BRIDGE_HOST/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

step "README step 9: check it from outside"
curl -sS --cacert "$CONF/tls/fullchain.pem" -w ' (HTTP %{http_code})\n' "https://$BRIDGE_HOST/healthz"
curl -sS --cacert "$CONF/tls/fullchain.pem" -o /dev/null -w "GET https://$BRIDGE_HOST/qbwc: HTTP %{http_code}\n" "https://$BRIDGE_HOST/qbwc"
curl -sS -o /dev/null -w "http:// redirects: HTTP %{http_code} -> %{redirect_url}\n" "http://$BRIDGE_HOST/qbwc"
curl -sS --cacert "$CONF/tls/fullchain.pem" -o /dev/null -w "GET /metrics through the proxy: HTTP %{http_code}\n" "https://$BRIDGE_HOST/metrics"

step "README step 10: an account, its .qwc, and one Web Connector session through https"
"$ADMIN" account create "Try Local Supply" --kind desktop --json >"$ROOT/account.json"
ACCOUNT_ID=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["account_id"])' "$ROOT/account.json")
WC_PASSWORD=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["web_connector_password"])' "$ROOT/account.json")
echo "account $ACCOUNT_ID created"
"$ADMIN" qwc "$ACCOUNT_ID" >"$ROOT/bridge.qwc"
grep -o '<AppURL>[^<]*</AppURL>' "$ROOT/bridge.qwc"
set +e
QBWC_BRIDGE_SHARED_DIR=$(sed -n 's/^QBWC_BRIDGE_SHARED_DIR=//p' "$CONF/env") \
    "$PREFIX/bin/qbwc-bridge" simulate --qwc "$ROOT/bridge.qwc" --password "$WC_PASSWORD" \
    --ca-file "$CONF/tls/fullchain.pem" --noop-pause 0 | sed -e 's/^/   /' | cut -c1-200
sim_status=${PIPESTATUS[0]}
set -e
echo "simulate exit status: $sim_status"
API_TOKEN=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_token"])' "$ROOT/account.json")
curl -sS --cacert "$CONF/tls/fullchain.pem" -H "Authorization: Bearer $API_TOKEN" "https://$BRIDGE_HOST/api/v1/status" \
    | "$PYTHON" -c 'import json,sys; s=json.load(sys.stdin); print("GET /api/v1/status through the proxy:", s["status"], "-", s["label"], "- company", repr(s.get("company_name")))'
echo "nginx: POST /qbwc answered by each server process (status upstream):"
grep '^POST /qbwc' "$ROOT/nginx/logs/access.log" | awk '{print $4, $5}' | sort | uniq -c | sed 's/^/   /'

step "README backups: pg_dump, and what a restore would read"
dump=$ROOT/qbwc_bridge-$(date +%Y%m%d%H%M).dump
PGPASSWORD=postgres-try-local pg_dump -U postgres -Fc -f "$dump" qbwc_bridge
echo "backup: $(du -h "$dump" | cut -f1), $(pg_restore -l "$dump" | grep -c 'TABLE DATA') tables"
[ "$sim_status" = 0 ]
