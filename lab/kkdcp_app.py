"""The lab's KDC proxy: Debian's kdcproxy (MS-KKDCP) behind a small WSGI wrapper.

The wrapper makes the stand-in behave like Entra's endpoint where kdcproxy does not:
- only POST /<tenant>/kerberos is served; any other path is 404 (kdcproxy ignores paths);
- an undecodable body is 400 (kdcproxy 1.0 answers 500: its HTTPException trips over
  pyasn1's SubstrateUnderrunError);
- one log line per exchange, with the realm, the request type and the reply type (with the
  KRB-ERROR code), so tests can prove that traffic went through the proxy.

Environment: KDCPROXY_CONFIG (kdcproxy's own), AZKRB_LAB_TENANT, AZKRB_LAB_PROXY_LOG.
"""

import fcntl
import io
import os

import kdcproxy
from kdcproxy import codec

TENANT = os.environ["AZKRB_LAB_TENANT"]
LOG = os.environ["AZKRB_LAB_PROXY_LOG"]
PATH = "/%s/kerberos" % TENANT
TYPES = {0x6A: "AS-REQ", 0x6B: "AS-REP", 0x6C: "TGS-REQ", 0x6D: "TGS-REP",
         0x6E: "AP-REQ", 0x7E: "KRB-ERROR"}
inner = kdcproxy.Application()


def _tlv(data, pos):
    """(tag, content_start, content_end) of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def _kerb_message(proxy_message):
    """The Kerberos message inside a KDC-PROXY-MESSAGE (after its 4-byte prefix)."""
    _, start, end = _tlv(proxy_message, 0)          # SEQUENCE
    tag, s, _ = _tlv(proxy_message, start)          # [0]
    if tag != 0xA0:
        return b""
    _, os_start, os_end = _tlv(proxy_message, s)    # OCTET STRING
    return proxy_message[os_start + 4:os_end]


def _describe(msg):
    if not msg:
        return "-"
    name = TYPES.get(msg[0], "0x%02x" % msg[0])
    if msg[0] != 0x7E:
        return name
    try:
        _, start, _ = _tlv(msg, 0)
        _, pos, end = _tlv(msg, start)              # SEQUENCE
        while pos < end:
            tag, s, e = _tlv(msg, pos)
            if tag == 0xA6:                         # error-code [6] INTEGER
                _, vs, ve = _tlv(msg, s)
                return "%s(%d)" % (name, int.from_bytes(msg[vs:ve], "big", signed=True))
            pos = e
    except (IndexError, ValueError):
        pass
    return name


def _log(line):
    with open(LOG, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")


def _answer(start_response, status, text):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def app(env, start_response):
    method = env.get("REQUEST_METHOD", "")
    path = env.get("PATH_INFO", "")
    if path != PATH:
        _log("%s %s status='404 Not Found'" % (method, path))
        return _answer(start_response, "404 Not Found", "not found\n")
    if method != "POST":
        return inner(env, start_response)
    try:
        length = int(env.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    body = env["wsgi.input"].read(length) if 0 <= length <= 131072 else b""
    if 0 <= length <= 131072:
        try:
            request = codec.decode(body)
        except Exception as e:  # noqa: BLE001 - any parse failure is the client's fault
            _log("POST %s req=malformed status='400 Bad Request' (%s)" % (path, type(e).__name__))
            return _answer(start_response, "400 Bad Request", "malformed KDC-PROXY-MESSAGE\n")
        realm, req = request.realm, _describe(request.request[4:])
        env["wsgi.input"] = io.BytesIO(body)
    else:
        realm, req = "-", "-"
    status = {}

    def capture(st, headers, exc_info=None):
        status["status"] = st
        return start_response(st, headers, exc_info) if exc_info else start_response(st, headers)

    out = b"".join(inner(env, capture))
    rep = "-"
    if status.get("status", "").startswith("200"):
        try:
            rep = _describe(_kerb_message(out))
        except (IndexError, ValueError):
            rep = "unparsable"
    _log("POST %s realm=%s req=%s rep=%s status=%r" % (path, realm, req, rep, status.get("status")))
    return [out]
