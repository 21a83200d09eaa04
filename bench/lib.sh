# Helpers the bench scripts share; `source bench/lib.sh` from the repository's root.

# A loopback port nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (10 s at most) until URL answers at all; fails the script otherwise.
wait_for() {
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return; sleep 0.1; done
  echo "$1 did not answer" >&2
  exit 1
}

# Builds the release binary (this host's target) and prints its path.
release_binary() {
  cargo build --release --quiet
  echo "target/$(rustc -vV | sed -n 's/^host: //p')/release/secretrun"
}

# A scratch directory ($work), the background servers' pids ($pids), and a trap
# that stops the servers and removes the directory when the script exits.
scratch() {
  work=$(mktemp -d)
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
}
