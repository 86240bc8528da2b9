"""Test certificates made with the `openssl` command: a CA, a server certificate for localhost and
127.0.0.1, client certificates from that CA and from a second, untrusted CA."""

import os
import ssl
import subprocess
from dataclasses import dataclass


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


@dataclass
class Certs:
    dir: str

    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def ca(self):
        return self.path("ca.pem")

    @property
    def server_cert(self):
        return self.path("server.pem")

    @property
    def server_key(self):
        return self.path("server.key")

    @property
    def server_combined(self):
        """Certificate and key in one file, like websockify's self.pem."""
        return self.path("combined.pem")

    @property
    def encrypted_key(self):
        """server.key encrypted with the passphrase 'sesame'."""
        return self.path("server-enc.key")

    def client(self, name):
        """(cert, key) of client certificate `name`."""
        return self.path(f"{name}.pem"), self.path(f"{name}.key")

    def client_context(self, cert_name=None):
        """An ssl context that trusts the CA (and presents a client certificate if named)."""
        context = ssl.create_default_context(cafile=self.ca)
        if cert_name:
            context.load_cert_chain(*self.client(cert_name))
        return context


def make_ca(cwd, name, subject):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "3", "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def issue(cwd, ca, name, subject, extensions):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject, cwd=cwd)
    with open(os.path.join(cwd, f"{name}.ext"), "w") as f:
        f.write(extensions)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "3", "-extfile", f"{name}.ext", cwd=cwd)


def make_certs(directory) -> Certs:
    cwd = str(directory)
    make_ca(cwd, "ca", "/CN=websockify test CA")
    make_ca(cwd, "rogue-ca", "/CN=some other CA")
    issue(cwd, "ca", "server", "/CN=localhost",
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    for name, ca in [("alice", "ca"), ("bob", "ca"), ("mallory", "rogue-ca")]:
        cn = "alice" if name == "mallory" else name  # mallory claims alice's name from the wrong CA
        issue(cwd, ca, name, f"/CN={cn}", "extendedKeyUsage=clientAuth\n")
    with open(os.path.join(cwd, "combined.pem"), "w") as out:
        for part in ("server.pem", "server.key"):
            with open(os.path.join(cwd, part)) as f:
                out.write(f.read())
    openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:sesame", "-out", "server-enc.key", cwd=cwd)
    return Certs(cwd)
