#!/bin/sh
#  layers.sh - checks that calls run one way, from the include graph of
#  the sources (a file can call only what it includes):
#  1. folders: common/ includes only common/; proto/ only common/ and
#     proto/; coordinator/, worker/ and client/ never include each other
#     (worker/ and client/ include the public headers, "zjob/...");
#  2. inside each folder, modules (a .c with its .h and its _internal.h,
#     by name) include each other without a cycle;
#  3. in coordinator/: the loop (coordinator.c, main.c) above the
#     endpoints (client_ep, worker_ep, http_ep), above what running jobs ask
#     through their worker (parents, the workers endpoint's part) and
#     the schedules (schedule_ep, the clients endpoint's part), above
#     the job state machine (lifecycle), above the leaf modules; the
#     endpoints never include each other.
#  Prints each breach and exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
status=0

#  Every '#include "dir/name.h"' as "from-dir from-module to-dir to-module".
edges() {
    for file in common/*.[ch] proto/*.[ch] coordinator/*.[ch] worker/*.[ch] \
                client/*.[ch]; do
        sed -n 's|^#include "\([a-z_/]*\)/\([a-z_0-9]*\)\.h".*|\1 \2|p' "$file" |
            while read -r dir module; do
                from=$(basename "$file"); from=${from%.*}
                echo "$(dirname "$file") ${from%_internal} $dir ${module%_internal}"
            done
    done
}

#  Rank of a coordinator module: a module may include only lower ranks,
#  or, among the leaves (1), another leaf.
rank() {
    case $1 in
    main) echo 6 ;;
    coordinator) echo 5 ;;
    client_ep | worker_ep | http_ep) echo 4 ;;
    parents | schedule_ep) echo 3 ;;
    lifecycle) echo 2 ;;
    *) echo 1 ;;
    esac
}

breach() {
    echo "layers: $*"
    status=1
}

EDGES=$(edges)
echo "$EDGES" | {
    while read -r dir from todir to; do
        [ "$todir" = "$dir" ] && continue
        case "$dir:$todir" in
        proto:common | coordinator:common | coordinator:proto | \
        worker:common | worker:proto | worker:zjob | worker:include/zjob | \
        client:common | client:proto | client:zjob | client:include/zjob) ;;
        *) breach "$dir/$from includes $todir/$to.h" ;;
        esac
    done
    exit $status
} || status=1

for dir in common proto coordinator worker client; do
    loop=$(echo "$EDGES" | awk -v d="$dir" '$1 == d && $3 == d && $2 != $4 {
               print $2, $4 }' | tsort 2>&1 >/dev/null)
    [ -n "$loop" ] && breach "$dir/ modules include each other in a loop:" \
        "$(echo "$loop" | grep -v 'input contains a loop' | tr '\n' ' ')"
done

echo "$EDGES" | awk '$1 == "coordinator" && $3 == "coordinator" && $2 != $4 {
        print $2, $4 }' | {
    while read -r from to; do
        high=$(rank "$from") low=$(rank "$to")
        [ "$high" -gt "$low" ] || { [ "$high" -eq 1 ] && [ "$low" -eq 1 ]; } ||
            breach "coordinator/$from ($high) includes coordinator/$to.h ($low)"
    done
    exit $status
} || status=1

[ $status -eq 0 ] && echo "layers: calls run one way"
exit $status
