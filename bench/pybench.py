#!/usr/bin/python3
"""pybench.py -c ENDPOINT [-n N] [-a ARGS] MODE: the Python workloads of
bench/run, through zjob.Client. Prints RESULT lines as zjbench does.

  client  submit_many N echo jobs, then gather them (jobs/s)
  gather  KIND with args ARGS, N times: wall time from the first submit
          to the last result (s)
"""

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import zjob  # noqa: E402


async def run(endpoint, kind, args, count):
    async with zjob.Client(endpoint) as client:
        started = time.monotonic()
        futures = await client.submit_many([(kind, args)] * count)
        results = await asyncio.gather(*futures, return_exceptions=True)
        took = time.monotonic() - started
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        sys.exit(f"pybench: {len(failed)} of {count} failed: {failed[0]}")
    return took


def main():
    parser = argparse.ArgumentParser(prog="pybench.py")
    parser.add_argument("-c", "--coordinator", required=True)
    parser.add_argument("-n", "--count", type=int, default=20000)
    parser.add_argument("-k", "--kind", default="echo")
    parser.add_argument("-a", "--args", default='{"x": 1}')
    parser.add_argument("mode", choices=("client", "gather"))
    options = parser.parse_args()
    took = asyncio.run(run(options.coordinator, options.kind, json.loads(options.args),
                           options.count))
    if options.mode == "client":
        print(f"RESULT py_client_rate {options.count / took:.0f} jobs/s")
    else:
        print(f"RESULT wall {took:.3f} s")


if __name__ == "__main__":
    main()
