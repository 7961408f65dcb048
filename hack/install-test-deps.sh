#!/usr/bin/env bash
# Installs the real components the test suite talks to, from Debian's
# packages, when they are missing. Safe to run again: it installs nothing
# that is already there.
set -euo pipefail

# etcd, kube-apiserver and helm for the Kubernetes tests, cached outside the
# checkout by version.
"$(dirname "$0")/install-kube-tools.sh"

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# slapd and ldap-utils for the LDAP user store tests, which start their own
# slapd and load its groups with ldapadd from ldap-utils.
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)

if [ "${#need[@]}" -eq 0 ]; then
  echo "test dependencies present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${need[*]}; run this script as root or install them with apt-get" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages from starting a system nginx on port 80,
# redis-server on port 6379 or slapd on port 389: the tests start their
# own on loopback.
# A policy-rc.d that the machine already has is kept as it is.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
