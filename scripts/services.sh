#!/usr/bin/env bash
# Makes sure PostgreSQL (5432), Redis (6379) and NATS JetStream (4222) answer on 127.0.0.1,
# starting any that does not. Used by the test command; harmless when all already run.
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done
  return 1
}

if ! answers 5432; then
  echo "services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for 5432 || echo "services: PostgreSQL does not answer on 5432" >&2
fi
if ! answers 6379; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for 6379 || echo "services: Redis does not answer on 6379" >&2
fi
if ! answers 4222; then
  echo "services: starting NATS with JetStream"
  mkdir -p /var/lib/nats-server 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  wait_for 4222 || echo "services: NATS does not answer on 4222" >&2
fi
exit 0
