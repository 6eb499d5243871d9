#!/bin/bash
# shim_nginx_workers.sh — shim_nginx.sh with nginx's process model: a
# master and two worker processes (fork children of the process that owns
# the stack) that accept on the listeners they inherited (issue 7).
NGINX_WORKERS=2 exec bash "$(dirname "$0")/shim_nginx.sh"
