#!/usr/bin/env bash
# One-stop set-up: system packages (Debian, when run as root) and the Python
# virtual environment with pybm and p4nic installed in editable mode.
set -euo pipefail
VENV=${1:-.venv}
# mininet (+ bridge-utils for LinuxBridge, iputils-ping for ping), curl: topo/, tests/e2e
SYS_PKGS=(iproute2 tshark ethtool mininet bridge-utils iputils-ping curl)

missing=()
for p in "${SYS_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: missing system packages (install them as root): ${missing[*]}" >&2
    fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/pip" install -q -e '.[test]'

# Mininet is Debian's (system python3 only). The venv sees that one package and
# nothing else of the system's dist-packages (which would shadow nothing but could
# leak other versions of unpinned modules): a directory holding a link to it, on
# the venv's path through a .pth file.
MN_SYS=/usr/lib/python3/dist-packages/mininet
if [ -d "$MN_SYS" ]; then
    mkdir -p "$VENV/system-mininet"
    ln -sfn "$MN_SYS" "$VENV/system-mininet/mininet"
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$(cd "$VENV" && pwd)/system-mininet" > "$site/system-mininet.pth"
    "$VENV/bin/python" -c 'import mininet.net' \
        || echo "setup: the venv cannot import Debian's mininet" >&2
else
    echo "setup: $MN_SYS not found: Mininet topologies (topo/) and tests/e2e need" \
         "Debian's mininet package" >&2
fi
echo "setup: ready ($("$VENV/bin/python" --version), venv $VENV)"
