"""A webhook receiver for the tests: prints its port, then writes one JSON line per request
to LOG (event, delivery id, whether the signature is right, the status it answered, the body).
Answers 500 to the first FAIL_FIRST requests, 200 after.

    python3 webhook_receiver.py SECRET LOG FAIL_FIRST
"""
import hashlib
import hmac
import http.server
import json
import sys

secret = sys.argv[1].encode()
log_path = sys.argv[2]
fail_first = int(sys.argv[3])
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        count += 1
        status = 500 if count <= fail_first else 200
        line = {
            "event": self.headers.get("X-Passerelle-Event"),
            "delivery": self.headers.get("X-Passerelle-Delivery"),
            "signature_ok": hmac.compare_digest(expected, self.headers.get("X-Passerelle-Signature", "")),
            "signature": self.headers.get("X-Passerelle-Signature"),
            "status": status,
            "raw": body.decode(),
        }
        with open(log_path, "a") as log:
            log.write(json.dumps(line) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
