"""scraper.py URL COUNT_FILE [--metrics-only] - for make bench
ONLY=scrape: what a Prometheus server and an open status page ask of the
coordinator's --http endpoint, until killed: /metrics every 100 ms, and
(unless --metrics-only: a real browser holds the page open) every 2 s
the requests the page makes (overview, failures, a page of jobs), each
on a kept-alive connection as both would. Writes how many requests it
made, and how many failed, to COUNT_FILE at the end."""
import http.client
import signal
import sys
import time
import urllib.parse

PAGE = ["/api/overview", "/api/failures", "/api/jobs?limit=50"]


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    count_file = sys.argv[2]
    with_page = "--metrics-only" not in sys.argv[3:]
    made = failed = 0
    scraper = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    page = http.client.HTTPConnection(url.hostname, url.port, timeout=10)

    def get(connection, path):
        nonlocal made, failed
        made += 1
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            failed += response.status != 200
        except OSError:
            failed += 1
            connection.close()

    def stop(*_):
        with open(count_file, "w") as out:
            out.write(f"{made} {failed}\n")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    tick = 0
    while True:
        started = time.monotonic()
        get(scraper, "/metrics")
        if with_page and tick % 20 == 0:
            for path in PAGE:
                get(page, path)
        tick += 1
        time.sleep(max(0, 0.1 - (time.monotonic() - started)))


main()
