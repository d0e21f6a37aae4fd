#!/usr/bin/env bash
# A local Kubernetes cluster (k3d) running storyboard-api, as the operations guide describes:
#
#   cd docker/k8s && ./local-deploy.sh        (or k8s/local-deploy.sh from anywhere)
#
# Creates the k3d cluster (once) with the host's /tmp/storyboard-logs mapped into the node, builds the image,
# imports it into the cluster, applies k8s/local (the base manifests with logs on the host) and waits for the
# rollout. Needs docker, k3d and kubectl. Settings: CLUSTER (storyboard), IMAGE (storyboard-api:local),
# LOG_DIR (/tmp/storyboard-logs), ROLLOUT_TIMEOUT (300s).
set -euo pipefail

cluster=${CLUSTER:-storyboard}
image=${IMAGE:-storyboard-api:local}
log_dir=${LOG_DIR:-/tmp/storyboard-logs}
rollout_timeout=${ROLLOUT_TIMEOUT:-300s}

# The real folder of this script, also when it is run through the docker/k8s symlink.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)

say() { printf '==> %s\n' "$*"; }
die() { printf 'local-deploy.sh: %s\n' "$*" >&2; exit 1; }

for tool in docker k3d kubectl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (needed: docker, k3d, kubectl)"
done

mkdir -p "$log_dir"
# The programs run as an unprivileged user inside the pod and write task_processor.log here.
chmod 0777 "$log_dir"

if k3d cluster list "$cluster" >/dev/null 2>&1; then
  say "cluster $cluster exists"
else
  say "creating k3d cluster $cluster ($log_dir mapped into the node)"
  k3d cluster create "$cluster" --volume "$log_dir:/tmp/storyboard-logs@all" --wait
fi
kubectl config use-context "k3d-$cluster" >/dev/null

say "building $image"
docker build -f "$repo/docker/Dockerfile" -t "$image" "$repo"

say "importing $image into $cluster"
k3d image import "$image" --cluster "$cluster"

say "applying $here/local"
kubectl apply -k "$here/local"
if [ "$image" != "storyboard-api:local" ]; then
  kubectl set image deployment/storyboard-api "storyboard-api=$image"
fi
# A rebuilt image under the same tag needs new pods to be used.
kubectl rollout restart deployment/storyboard-api

say "waiting for postgres and storyboard-api"
kubectl rollout status statefulset/postgres --timeout "$rollout_timeout"
kubectl rollout status deployment/storyboard-api --timeout "$rollout_timeout"

say "ready. Try:"
cat <<HINT
  kubectl exec -it deployment/storyboard-api -- supervisorctl status
  kubectl port-forward service/storyboard-api 8000:8000 &
  curl -s localhost:8000/healthz
  tail -f $log_dir/task_processor.log
HINT
