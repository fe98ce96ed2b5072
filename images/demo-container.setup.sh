#!/bin/sh
# Runs inside the demo-container root after its packages are installed
# (bubblewrap, no network; under qemu-user for aarch64).
set -e
echo "Demo Linux container for $(uname -m)" > /etc/demo-container-arch
