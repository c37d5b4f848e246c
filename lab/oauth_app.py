#!/usr/bin/env python3
"""Stand-ins for what SMB OAuth reaches that the lab cannot: the Azure instance metadata
service (IMDS, plain HTTP), Entra's token endpoint for a workload identity's federated
credential, and a storage account's kerbticket endpoint (both HTTPS, the lab's CA).

Tokens are JWTs signed (HS256) with the lab's token-issuer secret. The kerbticket endpoint
checks a token's signature, expiry and audience, as the storage account does, then mints a
real ticket for the account's SMB server from the lab KDC (kinit with the
azurefileclient keytab, kvno cifs/<account host>) and returns it as a KRB-CRED whose
enc-part is null (etype 0), base64 in JSON, as Azure does: client AzureFileClient in realm
FILES.AZURE.STORAGE.MICROSOFT.COM (the REALM argument).

Accounts, by the first path segment (https://127.0.0.1:<port>/<account host>/?restype=...):
  acct, acctshort (45 s tickets) .file.core.windows.net and
  acctpe.privatelink.file.core.windows.net: SMB OAuth on;
  acctnooauth.file.core.windows.net: SMB OAuth off (409);
  anything else: no such account (404).
The identity "norole" has no SMB MI Admin role on any account (403).

Usage: oauth_app.py LAB_DIR HTTPS_PORT IMDS_PORT REALM
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

LAB_DIR, HTTPS_PORT, IMDS_PORT, REALM = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SECRET = open(os.path.join(LAB_DIR, "oauth", "issuer.key"), "rb").read()
AUDIENCE = "https://storage.azure.com"
ACCOUNTS_ON = {
    "acct.file.core.windows.net",
    "acctshort.file.core.windows.net",  # its tickets live 45 s
    "acctpe.privatelink.file.core.windows.net",
}
ACCOUNT_OFF = "acctnooauth.file.core.windows.net"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def make_jwt(claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def check_jwt(token):
    """The claims of a token the lab's issuer signed, or None."""
    try:
        head, body, sig = token.split(".")
        want = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, unb64url(sig)):
            return None
        return json.loads(unb64url(body))
    except Exception:
        return None


def token_reply(oid, audience, lifetime=3600):
    now = int(time.time())
    return {
        "access_token": make_jwt({"aud": audience, "oid": oid, "iss": "lab", "exp": now + lifetime}),
        "expires_on": str(now + lifetime),
        "expires_in": str(lifetime),
        "resource": audience,
        "token_type": "Bearer",
    }


# ---------------------------------------------------------------- DER, as RFC 4120 writes it
def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def ctx(n, x):
    return tlv(0xA0 + n, x)


def integer(v):
    return tlv(0x02, v.to_bytes((v.bit_length() + 8) // 8 or 1, "big", signed=True))


def gstring(b):
    return tlv(0x1B, b)


def gtime(t):
    return tlv(0x18, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t)).encode())


def principal(name_type, comps):
    return seq(ctx(0, integer(name_type)), ctx(1, seq(*[gstring(c) for c in comps])))


# ---------------------------------------------------------------- an MIT ccache (version 4)
class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        v = self.b[self.i : self.i + n]
        self.i += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def data(self):
        return self.take(self.u32())

    def principal(self):
        name_type, count = self.u32(), self.u32()
        realm = self.data()
        return name_type, realm, [self.data() for _ in range(count)]


def read_ccache(path):
    r = Reader(open(path, "rb").read())
    assert r.take(2) == b"\x05\x04", "a version 4 ccache"
    r.take(r.u16())
    r.principal()
    creds = []
    while r.i < len(r.b):
        client, server = r.principal(), r.principal()
        keytype, key = r.u16(), r.data()
        times = [r.u32() for _ in range(4)]
        r.u8()
        flags = r.u32()
        for _ in range(2):
            for _ in range(r.u32()):
                r.u16()
                r.data()
        ticket, _second = r.data(), r.data()
        creds.append((client, server, keytype, key, times, flags, ticket))
    return creds


def krb_cred(cred):
    (ctype, crealm, ccomps), (stype, srealm, scomps), keytype, key, times, flags, ticket = cred
    authtime, starttime, endtime, renew_till = times
    info = [
        ctx(0, seq(ctx(0, integer(keytype)), ctx(1, tlv(0x04, key)))),
        ctx(1, gstring(crealm)),
        ctx(2, principal(ctype, ccomps)),
        ctx(3, tlv(0x03, b"\x00" + flags.to_bytes(4, "big"))),
        ctx(4, gtime(authtime)),
        ctx(5, gtime(starttime or authtime)),
        ctx(6, gtime(endtime)),
    ]
    if renew_till:
        info.append(ctx(7, gtime(renew_till)))
    info += [ctx(8, gstring(srealm)), ctx(9, principal(stype, scomps))]
    enc_part = tlv(0x7D, seq(ctx(0, seq(seq(*info)))))
    return tlv(
        0x76,
        seq(
            ctx(0, integer(5)),
            ctx(1, integer(22)),
            ctx(2, seq(ticket)),
            ctx(3, seq(ctx(0, integer(0)), ctx(2, tlv(0x04, enc_part)))),
        ),
    )


def mint(host):
    """A real ticket for cifs/<host> from the lab KDC, for AzureFileClient in Azure's realm."""
    env = dict(os.environ, KRB5_CONFIG=os.path.join(LAB_DIR, "krb5.conf"))
    with tempfile.TemporaryDirectory() as d:
        env["KRB5CCNAME"] = "FILE:" + os.path.join(d, "cc")
        keytab = os.path.join(LAB_DIR, "keytabs", "azurefileclient.keytab")
        subprocess.run(["kinit", "-k", "-t", keytab, f"AzureFileClient@{REALM}"], env=env, check=True,
                       capture_output=True)
        subprocess.run(["kvno", f"cifs/{host}@{REALM}"], env=env, check=True, capture_output=True)
        for c in read_ccache(os.path.join(d, "cc")):
            if c[1][2] == [b"cifs", host.encode()]:
                return krb_cred(c), c[4][2]
    raise RuntimeError("no ticket minted")


class Storage(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("kerbticket: " + fmt % args + "\n")

    def answer(self, status, body, error_code=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error_code:
            self.send_header("x-ms-error-code", error_code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length)
        if url.path.endswith("/oauth2/v2.0/token"):
            return self.token_endpoint(form)
        query = urllib.parse.parse_qs(url.query)
        if query.get("restype") != ["service"] or query.get("comp") != ["kerbticket"]:
            return self.answer(400, {"error": "not a kerbticket request"}, "InvalidQueryParameterValue")
        host = parts[0] if parts else ""
        auth = self.headers.get("Authorization", "")
        claims = check_jwt(auth[7:]) if auth.startswith("Bearer ") else None
        if claims is None or claims.get("exp", 0) < time.time():
            return self.answer(401, {"error": "bad token"}, "InvalidAuthenticationInfo")
        if claims.get("aud") != AUDIENCE:
            return self.answer(401, {"error": "wrong audience"}, "InvalidAuthenticationInfo")
        if host == ACCOUNT_OFF:
            return self.answer(409, {"error": "SMB OAuth is off"}, "FeatureNotEnabled")
        if host not in ACCOUNTS_ON:
            return self.answer(404, {"error": "no such account"}, "ResourceNotFound")
        if claims.get("oid") == "norole":
            return self.answer(403, {"error": "no role"}, "AuthorizationPermissionMismatch")
        der, end = mint(host)
        self.answer(200, {
            "kerberosServiceTicket": base64.b64encode(der).decode(),
            "expirationTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(end)),
            "sessionKey": "",
        })

    def token_endpoint(self, form):
        f = urllib.parse.parse_qs(form.decode())
        assertion = check_jwt((f.get("client_assertion") or [""])[0])
        if not assertion or assertion.get("aud") != "api://AzureADTokenExchange":
            return self.answer(400, {"error": "invalid_client",
                                     "error_description": "AADSTS700024: the assertion is not valid"})
        scope = (f.get("scope") or [""])[0]
        self.answer(200, token_reply((f.get("client_id") or ["?"])[0], scope.removesuffix("/.default")))


class Imds(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("imds: " + fmt % args + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path != "/metadata/identity/oauth2/token" or self.headers.get("Metadata") != "true":
            body, status = {"error": "invalid_request", "error_description": "Required metadata header not specified"}, 400
        else:
            oid = q.get("client_id") or q.get("object_id") or q.get("msi_res_id") or "system"
            body, status = token_reply(oid, q.get("resource", "")), 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(LAB_DIR, "pki", "server.pem"), os.path.join(LAB_DIR, "pki", "server.key"))
    storage = http.server.ThreadingHTTPServer(("127.0.0.1", HTTPS_PORT), Storage)
    storage.socket = tls.wrap_socket(storage.socket, server_side=True)
    imds = http.server.ThreadingHTTPServer(("127.0.0.1", IMDS_PORT), Imds)
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    storage.serve_forever()


if __name__ == "__main__":
    main()
