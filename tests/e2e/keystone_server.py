"""Serve Keystone's public WSGI app on 127.0.0.1 for the e2e tests (stdlib server, threads).

Runs under Keystone's own venv (`scripts/ensure-keystone.sh`), never imports neutrino. Keystone
finds its config through OS_KEYSTONE_CONFIG_DIR / OS_KEYSTONE_CONFIG_FILES. Usage:
`keystone_server.py PORT` (Keystone parses argv itself, so the port is taken off first); it
prints `listening` on stdout once it accepts connections.
uWSGI (what production uses) is compiled from source; the standard library's WSGI server is
enough to answer a test suite's token requests.
"""

import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the stdlib's signature
        pass


def main() -> None:
    port = int(sys.argv.pop(1))
    from keystone.server.wsgi import initialize_public_application

    app = initialize_public_application()
    server = make_server("127.0.0.1", port, app, server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
