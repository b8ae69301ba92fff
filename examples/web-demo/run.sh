#!/usr/bin/env bash
# The demo: an MCI of six local VMs over two local regions, a web server deployed on every VM
# with one remote-command call, and each VM answering over HTTP.
#
#   cargo run --release -- serve --local-regions lo1,lo2 &   # as root: VMs log in as cb-user
#   examples/web-demo/run.sh                                 # TB=http://host:1323 to point elsewhere
#
# Needs curl; on the VMs, nginx (apt-get install nginx-light) or python3.
set -euo pipefail
cd "$(dirname "$0")"
TB=${TB:-http://localhost:1323}/tumblebug
post() { curl -sS -X POST "$TB$1" -H 'content-type: application/json' -d "$2"; echo; }

post /ns '{"name":"demo"}'
post /ns/demo/mciDynamic '{"name":"web","subGroups":[
  {"name":"g1","subGroupSize":3,"specId":"local+lo1+local-1x1","imageId":"local+all+local-debian"},
  {"name":"g2","subGroupSize":3,"specId":"local+lo2+local-1x1","imageId":"local+all+local-debian"}]}' \
  | grep -o '"status":"[^"]*"' | head -1
# One call deploys and starts the web server on all six VMs.
post /ns/demo/cmd/mci/web "$(cat deploy.json)" | grep -o '"stdout":{[^}]*}'
for ip in $(curl -sS "$TB/ns/demo/mci/web?option=accessinfo" | grep -o '"publicIP":"[^"]*"' | cut -d'"' -f4); do
  printf '%s -> ' "$ip"; curl -sS "http://$ip:8080/"
done
if [ "${KEEP:-}" != 1 ]; then
  post /ns/demo/cmd/mci/web "$(cat stop.json)" >/dev/null
  curl -sS -X DELETE "$TB/ns/demo/mci/web?option=terminate"; echo
fi
