# Sourced by the server scripts: starts `quarry serve` over DATA on a free loopback port in the
# background, waits until it answers /healthz, and stops it when the script exits.
# Sets $port and $server (the pid). Usage: start_server QUARRY DATA LOG
start_server() {
  local quarry=$1 data=$2 log=$3
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$quarry" serve --data "$data" --model data/models/all-MiniLM-L6-v2 --port "$port" 2> "$log" &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && return 0
    sleep 0.2
  done
  echo "quarry serve did not answer on port $port; see $log" >&2
  return 1
}
