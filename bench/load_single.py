"""`python -m bench.load_single --port N`: the embedded default for the load test's baseline.

One process, as `rollcall serve` runs it: werkzeug's threaded server, `create_app()` from the
environment's ROLLCALL_* settings (SQLite in the instance folder, no Redis), the in-process send
worker when a relay is set. Plain HTTP on 127.0.0.1 rather than serve()'s development HTTPS, so
that it is measured under the same wrk load as gunicorn without TLS (a proxy's job in both).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load_single")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)

    from werkzeug.serving import make_server

    from rollcall.app import create_app
    from rollcall.bootstrap import start_send_worker
    from rollcall.dev.serve import RedactingRequestHandler, serve_until_interrupted

    app = create_app()
    server = make_server("127.0.0.1", args.port, app, threaded=True,
                         request_handler=RedactingRequestHandler)
    stop_worker = start_send_worker(app.extensions["rollcall"])
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    serve_until_interrupted(server, stop_worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
