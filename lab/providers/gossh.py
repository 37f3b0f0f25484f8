"""golang.org/x/crypto/ssh v0.48.0 as pulumi-command 1.2.1 uses it, redone over paramiko for the command stand-in.

The real plugin builds an ssh.ClientConfig (remote/connection.go, SSHConfig) and calls ssh.Dial. What it accepts,
the order it tries things in and the words it fails with come from x/crypto/ssh and Go's standard library. This
module behaves the same way (checked against x/crypto v0.48.0 itself); it is written afresh, not translated:
- parse_authorized_key: ssh.ParseAuthorizedKey and ParsePublicKey (the `hostKey` pin), with their errors.
- parse_private_key: ssh.ParsePrivateKey and ParsePrivateKeyWithPassphrase. It reads PEM (encoding/pem), PKCS#1,
  PKCS#8, SEC1 EC, legacy encrypted PEM (RFC 1423) and OpenSSH keys (bcrypt), with Go's errors.
- dial_agent / Agent: the agent socket is dialled when the config is built; its keys are listed when publickey runs.
- GoTransport.handshake: key exchange offering only the pinned key's algorithm (SHA-1 `ssh-rsa` included), the
  fixed host key check, then ssh's clientAuthenticate: "none" first, then the first configured method whose name
  was not tried yet and that the server still allows, until one succeeds.
Where paramiko cannot do what Go does (DSA keys, SSH certificates) it fails with a message saying so.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import queue
import socket
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import bcrypt
import paramiko
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from paramiko.auth_handler import AuthHandler
from paramiko.common import (
    MSG_USERAUTH_BANNER,
    MSG_USERAUTH_FAILURE,
    MSG_USERAUTH_SUCCESS,
    cMSG_SERVICE_REQUEST,
    cMSG_USERAUTH_INFO_RESPONSE,
    cMSG_USERAUTH_REQUEST,
)
from paramiko.transport import ServiceRequestingTransport

SHORT_READ = "ssh: short read"
NO_KEY = "ssh: no key found"
PASSPHRASE_MISSING = "ssh: this private key is passphrase protected"
INCORRECT_PASSWORD = "x509: decryption password incorrect"
MSG_USERAUTH_60 = 60  # PK_OK or INFO_REQUEST: the same number, told apart by what was asked
# How long one auth reply may take. The real plugin waits without limit; paramiko's own default is kept here so
# that a silent server fails the attempt (then is retried) instead of hanging the stand-in.
AUTH_REPLY_TIMEOUT = 30.0


# paramiko logs the failures it raises (with tracebacks); they reach the user as errors, so keep them off stderr.
_TRANSPORT_LOG = "lab.providers.gossh.transport"
logging.getLogger(_TRANSPORT_LOG).addHandler(logging.NullHandler())


class GoError(Exception):
    """A failure worded as the real plugin words it."""


class StandInLimit(GoError):
    """Something the real plugin accepts that paramiko cannot do; the message says so."""


def go_q(text: str | bytes) -> str:
    """Go's %q for the names that appear in these errors (printable ASCII in practice)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return json.dumps(text, ensure_ascii=False)


# --- the SSH wire format, with Go's errors ------------------------------------------------------
PARSE_ERROR = "ssh: parse error in message type 0"


class _Wire:
    """Reads SSH wire data. Given a struct name, it reads as Go's ssh.Unmarshal into that struct does: empty input
    is a parse error, and a `string` field that does not fit names itself (other fields are a short read)."""

    def __init__(self, data: bytes, struct: str | None = None):
        self.data, self.pos, self.struct = bytes(data), 0, struct
        if struct is not None and not self.data:
            raise GoError(PARSE_ERROR)

    def text(self, field: str) -> bytes:
        try:
            return self.string()
        except GoError:
            raise GoError(f"ssh: unmarshal error for field {field} of type {self.struct or ''}") from None

    def end(self) -> None:
        """A struct without a Rest field must take all the input."""
        if self.left():
            raise GoError(PARSE_ERROR)

    def left(self) -> int:
        return len(self.data) - self.pos

    def uint32(self) -> int:
        if self.left() < 4:
            raise GoError(SHORT_READ)
        value = int.from_bytes(self.data[self.pos:self.pos + 4], "big")
        self.pos += 4
        return value

    def string(self) -> bytes:
        length = self.uint32()
        if self.left() < length:
            raise GoError(SHORT_READ)
        out = self.data[self.pos:self.pos + length]
        self.pos += length
        return out

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def boolean(self) -> bool:
        if self.left() < 1:
            raise GoError(SHORT_READ)
        self.pos += 1
        return self.data[self.pos - 1] != 0

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def _string(value: bytes | str) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return len(value).to_bytes(4, "big") + value


def _mpint(n: int) -> bytes:
    if n == 0:
        return _string(b"")
    if n > 0:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return _string(b"\0" + raw if raw[0] & 0x80 else raw)
    bits = (-n - 1).bit_length()
    return _string(n.to_bytes((bits + 7) // 8 + (1 if bits % 8 == 0 else 0), "big", signed=True))


# --- encoding/base64 (StdEncoding) and encoding/pem --------------------------------------------
_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _corrupt(offset: int) -> GoError:
    return GoError(f"illegal base64 data at input byte {offset}")


def go_b64decode(src: bytes) -> bytes:
    """base64.StdEncoding.Decode: padding required, CR/LF skipped, errors name the offending byte."""
    out, si, n = bytearray(), 0, len(src)
    while si < n:
        quantum, used, trailing = [0, 0, 0, 0], 4, None
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise _corrupt(si - j)
            c = src[si]
            si += 1
            if c in _B64:
                quantum[j] = _B64[c]
                j += 1
                continue
            if c in b"\r\n":
                continue
            if c != ord("="):
                raise _corrupt(si - 1)
            if j < 2:
                raise _corrupt(si - 1)
            if j == 2:  # a second "=" must follow
                while si < n and src[si] in b"\r\n":
                    si += 1
                if si == n:
                    raise _corrupt(n)
                if src[si] != ord("="):
                    raise _corrupt(si - 1)
                si += 1
            while si < n and src[si] in b"\r\n":
                si += 1
            if si < n:
                trailing = _corrupt(si)
            used = j
            break
        value = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out += value.to_bytes(3, "big")[:used - 1]
        if trailing is not None:
            raise trailing
    return bytes(out)


@dataclass
class PemBlock:
    type: str
    headers: dict[str, str]
    body: bytes


def _pem_line(data: bytes) -> tuple[bytes, bytes, int]:
    i = data.find(b"\n")
    if i < 0:
        i = j = len(data)
    else:
        j = i + 1
        if i > 0 and data[i - 1] == 0x0D:
            i -= 1
    return data[:i].rstrip(b" \t"), data[j:], j


def pem_decode(data: bytes) -> PemBlock | None:
    """encoding/pem.Decode: the first well-formed block (the last BEGIN before the first END that closes it)."""
    begin_marker, end_marker, dashes = b"-----BEGIN ", b"\n-----END ", b"-----"
    rest, end_trailer = data, 0
    while True:
        if end_trailer < 0 or end_trailer > len(rest):
            return None
        rest = rest[end_trailer:]
        end = rest.find(end_marker)
        if end < 0:
            return None
        end_trailer = end + len(end_marker)
        begin = rest.rfind(begin_marker, 0, end)
        if begin < 0 or (begin > 0 and rest[begin - 1] != 0x0A):
            continue
        skip = begin + len(begin_marker)
        rest, end, end_trailer = rest[skip:], end - skip, end_trailer - skip
        type_line, rest, used = _pem_line(rest)
        end, end_trailer = end - used, end_trailer - used
        if not type_line.endswith(dashes):
            continue
        type_line = type_line[:-len(dashes)]
        headers: dict[str, str] = {}
        while True:
            if not rest:
                return None
            line, following, used = _pem_line(rest)
            key, colon, value = line.partition(b":")
            if not colon:
                break
            headers[key.strip().decode("utf-8", "replace")] = value.strip().decode("utf-8", "replace")
            rest, end, end_trailer = following, end - used, end_trailer - used
        if headers and end < 0:
            continue
        trailer = rest[end_trailer:]
        length = len(type_line) + len(dashes)
        if len(trailer) < length:
            continue
        after, trailer = trailer[length:], trailer[:length]
        if not trailer.startswith(type_line) or not trailer.endswith(dashes):
            continue
        if _pem_line(after)[0]:
            continue
        body = b""
        if end > 0:
            try:
                body = go_b64decode(rest[:end].replace(b" ", b"").replace(b"\t", b""))
            except GoError:
                continue
        return PemBlock(type_line.decode("utf-8", "replace"), headers, body)


# --- public keys: ParsePublicKey and ParseAuthorizedKey ----------------------------------------
class PublicKey(NamedTuple):
    type: str  # Go's PublicKey.Type(): the format, from the blob (never from the text before it)
    blob: bytes  # Go's PublicKey.Marshal()


_CURVES = {"nistp256": ec.SECP256R1(), "nistp384": ec.SECP384R1(), "nistp521": ec.SECP521R1()}
_CURVE_ORDERS = {  # n of each curve: a private scalar must be below it
    "nistp256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "nistp384": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
    "nistp521": int("1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                    "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16),
}
# Certificate algorithms and the plain algorithm each signs with.
_CERT_ALGORITHMS = {
    "ssh-rsa-cert-v01@openssh.com": "ssh-rsa", "rsa-sha2-256-cert-v01@openssh.com": "rsa-sha2-256",
    "rsa-sha2-512-cert-v01@openssh.com": "rsa-sha2-512", "ssh-dss-cert-v01@openssh.com": "ssh-dss",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com": "ssh-ed25519", "sk-ssh-ed25519-cert-v01@openssh.com": "sk-ssh-ed25519@openssh.com",
}
_CERT_FORMATS = set(_CERT_ALGORITHMS) - {"rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com"}
# Signature algorithms that are not key formats, and the format Go names in its error for them.
_SIGNATURE_ONLY = {"rsa-sha2-256": "ssh-rsa", "rsa-sha2-512": "ssh-rsa",
                   "rsa-sha2-256-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
                   "rsa-sha2-512-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com"}


def _curve_point(curve: str, point: bytes) -> bool:
    """elliptic.Unmarshal: an uncompressed point on the curve."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[curve], point)
    except ValueError:
        return False
    return point[:1] == b"\x04"


def parse_public_key(blob: bytes) -> PublicKey:
    w = _Wire(blob)
    algo = w.string().decode("utf-8", "surrogateescape")
    body = w.rest()
    if algo in _CERT_FORMATS:
        raise StandInLimit(f"the command stand-in does not model SSH certificates ({algo}); the real plugin accepts them")
    if algo in _SIGNATURE_ONLY:
        raise GoError(f"ssh: signature algorithm {go_q(algo)} isn't a key format; key is malformed and should be "
                      f"re-encoded with type {go_q(_SIGNATURE_ONLY[algo])}")
    known = ("ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-ed25519", "sk-ssh-ed25519@openssh.com")
    if algo not in known:
        raise GoError(f"ssh: unknown key algorithm: {algo}")
    u = _Wire(body, "")  # each key type is an anonymous struct with a Rest field
    if algo == "ssh-rsa":
        e, n = u.mpint(), u.mpint()
        if abs(e).bit_length() > 24:
            raise GoError("ssh: exponent too large")
        if e < 3 or e % 2 == 0:
            raise GoError("ssh: incorrect exponent")
        key = PublicKey("ssh-rsa", _string("ssh-rsa") + _mpint(e) + _mpint(n))
    elif algo == "ssh-dss":
        p, q, g, y = u.mpint(), u.mpint(), u.mpint(), u.mpint()
        if abs(p).bit_length() != 1024:
            raise GoError(f"ssh: unsupported DSA key size {abs(p).bit_length()}")
        key = PublicKey("ssh-dss", _string("ssh-dss") + b"".join(map(_mpint, (p, q, g, y))))
    elif algo.startswith("ecdsa-"):
        curve, point = u.text("Curve").decode("utf-8", "surrogateescape"), u.string()
        if curve not in _CURVES:
            raise GoError("ssh: unsupported curve")
        if not _curve_point(curve, point):
            raise GoError("ssh: invalid curve point")
        name = f"ecdsa-sha2-{curve}"  # Go names the key by its curve, whatever the algorithm field said
        key = PublicKey(name, _string(name) + _string(curve) + _string(point))
    elif algo.startswith("sk-ecdsa-"):
        curve, point, application = u.text("Curve").decode("utf-8", "surrogateescape"), u.string(), u.text("Application")
        if curve != "nistp256":
            raise GoError("ssh: unsupported curve")
        if not _curve_point(curve, point):
            raise GoError("ssh: invalid curve point")
        key = PublicKey(algo, _string(algo) + _string(curve) + _string(point) + _string(application))
    else:
        raw = u.string()
        application = u.text("Application") if algo.startswith("sk-") else None
        if len(raw) != 32:
            raise GoError(f"invalid size {len(raw)} for Ed25519 public key")
        key = PublicKey(algo, _string(algo) + _string(raw) + (b"" if application is None else _string(application)))
    if u.left():
        raise GoError("ssh: trailing junk in public key")
    return key


def _split_at_blank(text: bytes) -> int:
    hits = [i for i in (text.find(b" "), text.find(b"\t")) if i >= 0]
    return min(hits) if hits else -1


def _authorized_key_after(text: bytes) -> PublicKey:
    """The base64 key that follows the type field (a comment may follow it)."""
    text = text.strip()
    cut = _split_at_blank(text)
    return parse_public_key(go_b64decode(text if cut < 0 else text[:cut]))


def parse_authorized_key(text: str) -> PublicKey:
    """ssh.ParseAuthorizedKey: the first line, of several, that holds a key; an options field may lead it."""
    data, last_error = text.encode(), None
    while data:
        line, _, data = data.partition(b"\n")
        line = line.split(b"\r", 1)[0].strip()
        if not line or line.startswith(b"#"):
            continue
        blank = _split_at_blank(line)
        if blank < 0:
            continue
        try:
            return _authorized_key_after(line[blank:])
        except StandInLimit:
            raise
        except GoError as error:
            last_error = error
        # No key after the first field: perhaps that field was options (commas, quoted text with blanks).
        in_quote, i = False, 0
        for i, c in enumerate(line):
            if not in_quote and c in b" \t":
                break
            if c == ord('"') and (i == 0 or line[i - 1] != ord("\\")):
                in_quote = not in_quote
        while i < len(line) and line[i] in b" \t":
            i += 1
        if i == len(line):  # an unmatched quote
            continue
        line = line[i:]
        blank = _split_at_blank(line)
        if blank < 0:
            continue
        try:
            return _authorized_key_after(line[blank:])
        except StandInLimit:
            raise
        except GoError as error:
            last_error = error
    if last_error is not None:
        raise GoError(f"{NO_KEY}; last parsing error for ignored line: {last_error}")
    raise GoError(NO_KEY)


# --- private keys: ParsePrivateKey and ParsePrivateKeyWithPassphrase ---------------------------
class _Malformed(GoError):
    """DER that Go's encoding/asn1 refuses."""


class _Structural(_Malformed):
    """asn1.StructuralError: after decrypting a legacy PEM key, Go takes it for a wrong password."""


_SEQUENCE, _INTEGER, _OCTETS, _OID = 0x30, 0x02, 0x04, 0x06
_ASN1_DETAIL = " (the command stand-in does not reproduce Go's detail)"


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    if pos >= len(data):
        raise _Malformed("asn1: syntax error: sequence truncated")
    if pos + 2 > len(data):
        raise _Malformed("asn1: syntax error: data truncated")
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count > 4:
            raise _Structural("asn1: structure error: length too large")
        if count == 0 or pos + count > len(data):
            raise _Malformed("asn1: syntax error: data truncated")
        length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
    if pos + length > len(data):
        raise _Malformed("asn1: syntax error: data truncated")
    return tag, data[pos:pos + length], pos + length


def _elements(content: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(content):
        tag, item, pos = _tlv(content, pos)
        out.append((tag, item))
    return out


def _fields(der: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """asn1.Unmarshal into a struct: the SEQUENCE's elements, and what follows the SEQUENCE."""
    tag, content, end = _tlv(der, 0)
    if tag != _SEQUENCE:
        raise _Structural("asn1: structure error: tags don't match" + _ASN1_DETAIL)
    return _elements(content), der[end:]


def _want(fields: list[tuple[int, bytes]], index: int, tag: int) -> bytes:
    if index >= len(fields):
        raise _Malformed("asn1: syntax error: sequence truncated")
    if fields[index][0] != tag:
        raise _Structural("asn1: structure error: tags don't match" + _ASN1_DETAIL)
    return fields[index][1]


def _integer(content: bytes) -> int:
    if not content:
        raise _Structural("asn1: structure error: empty integer")
    return int.from_bytes(content, "big", signed=True)


def _oid_text(content: bytes) -> str:
    parts, value = [], 0
    for byte in content:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        return ""
    head = min(parts[0] // 40, 2)
    return ".".join(str(n) for n in [head, parts[0] - 40 * head] + parts[1:])


# The curves Go's x509 knows (P-224 too: the ssh package refuses it afterwards), and each one's order n.
_EC_CURVES_BY_OID = {"1.3.132.0.33": ec.SECP224R1(), "1.2.840.10045.3.1.7": ec.SECP256R1(),
                     "1.3.132.0.34": ec.SECP384R1(), "1.3.132.0.35": ec.SECP521R1()}
_ORDERS = {"secp224r1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D,
           "secp256r1": _CURVE_ORDERS["nistp256"], "secp384r1": _CURVE_ORDERS["nistp384"],
           "secp521r1": _CURVE_ORDERS["nistp521"]}


def _shape(der: bytes) -> str | None:
    """Which of Go's key structures the DER fits, for x509's "use ... instead" hints."""
    try:
        tags = [t for t, _ in _fields(der)[0]]
    except _Malformed:
        return None
    if tags[:6] == [_INTEGER] * 6:
        return "pkcs1"
    if tags[:3] == [_INTEGER, _SEQUENCE, _OCTETS]:
        return "pkcs8"
    if tags[:2] == [_INTEGER, _OCTETS]:
        return "sec1"
    return None


def _hint(der: bytes, *others: str) -> None:
    names = {"pkcs1": "ParsePKCS1PrivateKey", "pkcs8": "ParsePKCS8PrivateKey", "sec1": "ParseECPrivateKey"}
    shape = _shape(der)
    if shape in others:
        raise GoError(f"x509: failed to parse private key (use {names[shape]} instead for this key format)")


def _pkcs1(der: bytes) -> rsa.RSAPrivateKey:
    """x509.ParsePKCS1PrivateKey."""
    try:
        fields, rest = _fields(der)
        version, n, e, d, p, q = (_integer(_want(fields, i, _INTEGER)) for i in range(6))
        crt = [_integer(c) if t == _INTEGER else None for t, c in fields[6:9]]
    except _Malformed:
        _hint(der, "sec1", "pkcs8")
        raise
    if rest:
        raise _Malformed("asn1: syntax error: trailing data")
    if version > 1:
        raise GoError("x509: unsupported private key version")
    if min(n, d, p, q) <= 0 or any(v is not None and v <= 0 for v in crt):
        raise GoError("x509: private key contains zero or negative value")
    dmp1, dmq1, iqmp = (crt + [None] * 3)[:3]
    try:
        return rsa.RSAPrivateNumbers(p, q, d, dmp1 if dmp1 is not None else rsa.rsa_crt_dmp1(d, p),
                                     dmq1 if dmq1 is not None else rsa.rsa_crt_dmq1(d, q),
                                     iqmp if iqmp is not None else rsa.rsa_crt_iqmp(p, q),
                                     rsa.RSAPublicNumbers(e, n)).private_key()
    except (ValueError, ZeroDivisionError) as error:
        raise GoError(f"crypto/rsa: invalid key ({error}; the command stand-in words this differently)") from None


def _sec1(der: bytes, curve_oid: str | None = None) -> ec.EllipticCurvePrivateKey:
    """x509.ParseECPrivateKey: the scalar and the curve; Go does not even read the public key in the DER."""
    try:
        fields, _ = _fields(der)
        version, secret = _integer(_want(fields, 0, _INTEGER)), _want(fields, 1, _OCTETS)
        named = None
        for tag, content in fields[2:]:
            if tag == 0xA0:
                inner_tag, inner, _ = _tlv(content, 0)
                if inner_tag != _OID:
                    raise _Structural("asn1: structure error: tags don't match" + _ASN1_DETAIL)
                named = _oid_text(inner)
    except _Malformed as error:
        _hint(der, "pkcs8", "pkcs1")
        raise GoError(f"x509: failed to parse EC private key: {error}") from None
    if version != 1:
        raise GoError(f"x509: unknown EC private key version {version}")
    curve = _EC_CURVES_BY_OID.get(curve_oid if curve_oid is not None else named or "")
    if curve is None:
        raise GoError("x509: unknown elliptic curve")
    order = _ORDERS[curve.name]
    size = (order.bit_length() + 7) // 8
    while len(secret) > size:
        if secret[0]:
            raise GoError("x509: invalid private key length")
        secret = secret[1:]
    scalar = int.from_bytes(secret, "big")
    if scalar >= order:
        raise GoError("input overflows the modulus")
    if scalar == 0:
        raise GoError("ecdsa: private key is zero")
    return ec.derive_private_key(scalar, curve)


def _pkcs8(der: bytes):
    """x509.ParsePKCS8PrivateKey."""
    try:
        fields, _ = _fields(der)
        _want(fields, 0, _INTEGER)
        algorithm = _elements(_want(fields, 1, _SEQUENCE))
        secret = _want(fields, 2, _OCTETS)
        oid = _oid_text(_want(algorithm, 0, _OID))
    except _Malformed:
        _hint(der, "sec1", "pkcs1")
        raise
    parameters = algorithm[1:2]
    if oid == "1.2.840.113549.1.1.1":
        try:
            return _pkcs1(secret)
        except GoError as error:
            raise GoError(f"x509: failed to parse RSA private key embedded in PKCS#8: {error}") from None
    if oid == "1.2.840.10045.2.1":
        named = _oid_text(parameters[0][1]) if parameters and parameters[0][0] == _OID else None
        try:
            return _sec1(secret, named)
        except GoError as error:
            raise GoError(f"x509: failed to parse EC private key embedded in PKCS#8: {error}") from None
    if oid in ("1.3.101.112", "1.3.101.110"):
        name = "Ed25519" if oid == "1.3.101.112" else "X25519"
        if parameters:
            raise GoError(f"x509: invalid {name} private key parameters")
        try:
            tag, seed, _ = _tlv(secret, 0)
            if tag != _OCTETS:
                raise _Structural("asn1: structure error: tags don't match" + _ASN1_DETAIL)
        except _Malformed as error:
            raise GoError(f"x509: invalid {name} private key: {error}") from None
        if name == "X25519":
            raise GoError("ssh: unsupported key type *ecdh.PrivateKey")
        if len(seed) != 32:
            raise GoError(f"x509: invalid Ed25519 private key length: {len(seed)}")
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    raise GoError(f"x509: PKCS#8 wrapping contained private key with unknown algorithm: {oid}")


def _dsa_der(der: bytes):
    """ParseDSAPrivateKey, then what paramiko cannot do."""
    try:
        fields, rest = _fields(der)
        values = [_integer(_want(fields, i, _INTEGER)) for i in range(6)]
    except _Malformed as error:
        raise GoError(f"ssh: failed to parse DSA key: {error}") from None
    if rest:
        raise GoError("ssh: garbage after DSA key")
    if values[1].bit_length() != 1024:
        raise GoError(f"ssh: unsupported DSA key size {values[1].bit_length()}")
    raise StandInLimit("the command stand-in cannot use DSA private keys (paramiko has no DSA); the real plugin "
                       "accepts them")


_PEM_CIPHERS = {  # RFC 1423 names Go's x509.DecryptPEMBlock knows: (key size, block size, cipher)
    "DES-CBC": (8, 8, "des"), "DES-EDE3-CBC": (24, 8, "3des"),
    "AES-128-CBC": (16, 16, "aes"), "AES-192-CBC": (24, 16, "aes"), "AES-256-CBC": (32, 16, "aes"),
}


def _decrypt_pem(block: PemBlock, password: bytes) -> bytes:
    """x509.DecryptPEMBlock: OpenSSL's legacy key derivation (MD5, salt = IV[:8]); bad padding = wrong password."""
    mode, comma, hex_iv = block.headers["DEK-Info"].partition(",")
    if not comma:
        raise GoError("x509: malformed DEK-Info header")
    if mode not in _PEM_CIPHERS:
        raise GoError("x509: unknown encryption mode")
    key_size, block_size, kind = _PEM_CIPHERS[mode]
    for c in hex_iv:
        if c not in "0123456789abcdefABCDEF":
            raise GoError(f"encoding/hex: invalid byte: U+{ord(c):04X} '{c}'")
    if len(hex_iv) % 2:
        raise GoError("encoding/hex: odd length hex string")
    iv = bytes.fromhex(hex_iv)
    if len(iv) != block_size:
        raise GoError("x509: incorrect IV size")
    key, digest = b"", b""
    while len(key) < key_size:
        digest = hashlib.md5(digest + password + iv[:8]).digest()
        key += digest
    key = key[:key_size]
    if len(block.body) % block_size:
        raise GoError("x509: encrypted PEM data is not a multiple of the block size")
    if kind == "aes":
        algorithm = algorithms.AES(key)
    else:
        try:
            from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
        except ImportError:  # older cryptography
            TripleDES = algorithms.TripleDES  # type: ignore[attr-defined]
        algorithm = TripleDES(key)
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    data = decryptor.update(block.body) + decryptor.finalize()
    if not data:
        raise GoError("x509: invalid padding")
    last = data[-1]
    if last == 0 or last > block_size or len(data) < last or any(b != last for b in data[-last:]):
        raise GoError(INCORRECT_PASSWORD)
    return data[:-last]


class _StoredEd25519(NamedTuple):
    key: ed25519.Ed25519PrivateKey
    public: bytes


def _openssh_padding(pad: bytes) -> None:
    if any(b != i + 1 for i, b in enumerate(pad)):
        raise GoError("ssh: padding not as expected")


def _openssh_key(raw: bytes, passphrase: bytes | None):
    magic = b"openssh-key-v1\x00"
    if not raw.startswith(magic):
        raise GoError("ssh: invalid openssh private key format")
    w = _Wire(raw[len(magic):], "openSSHEncryptedPrivateKey")
    cipher, kdf, kdf_options = w.text("CipherName"), w.text("KdfName"), w.text("KdfOpts")
    count, public, private = w.uint32(), w.string(), w.string()
    if count != 1:
        raise GoError("ssh: multi-key files are not supported")
    if passphrase is None:
        if kdf != b"none" or cipher != b"none":
            try:
                parse_public_key(public)
            except GoError as error:
                raise GoError(f"ssh: failed to parse embedded public key: {error}") from None
            raise GoError(PASSPHRASE_MISSING)
        if kdf_options:
            raise GoError("ssh: invalid openssh private key")
    else:
        if kdf == b"none" or cipher == b"none":
            raise GoError("ssh: key is not password protected")
        if kdf != b"bcrypt":
            raise GoError(f'ssh: unknown KDF {go_q(kdf)}, only supports "bcrypt"')
        options = _Wire(kdf_options, "")
        salt, rounds = options.text("Salt"), options.uint32()
        options.end()
        if rounds < 1:
            raise GoError("bcrypt_pbkdf: number of rounds is too small")
        if not passphrase:
            raise GoError("bcrypt_pbkdf: empty password")
        if not salt or len(salt) > 1 << 20:
            raise GoError("bcrypt_pbkdf: bad salt length")
        derived = bcrypt.kdf(passphrase, salt, 48, rounds, ignore_few_rounds=True)
        key, iv = derived[:32], derived[32:]
        if cipher == b"aes256-ctr":
            decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
        elif cipher == b"aes256-cbc":
            if len(private) % 16:
                raise GoError("ssh: invalid encrypted private key length, not a multiple of the block size")
            decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        else:
            raise GoError(f'ssh: unknown cipher {go_q(cipher)}, only supports "aes256-ctr" or "aes256-cbc"')
        private = decryptor.update(private) + decryptor.finalize()
    try:
        inner = _Wire(private, "openSSHPrivateKey")
        check1, check2, kind = inner.uint32(), inner.uint32(), inner.text("Keytype")
        if check1 != check2:
            raise GoError("checkints differ")
    except GoError:
        raise GoError(INCORRECT_PASSWORD if cipher != b"none" else "ssh: malformed OpenSSH key") from None
    body = inner.rest()
    if kind == b"ssh-rsa":
        inner = _Wire(body, "openSSHRSAPrivateKey")
        n, e, d, iqmp, p, q = (inner.mpint() for _ in range(6))
        inner.text("Comment")
        _openssh_padding(inner.rest())
        try:
            # Go keeps N, E, D, P and Q and computes the CRT values itself: the stored iqmp is never read.
            numbers = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                            rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n))
            return numbers.private_key()
        except (ValueError, ZeroDivisionError) as error:
            raise GoError(f"crypto/rsa: invalid key ({error}; the command stand-in words this differently)") from None
    if kind == b"ssh-ed25519":
        inner = _Wire(body, "openSSHEd25519PrivateKey")
        inner.string()
        secret = inner.string()
        inner.text("Comment")
        if len(secret) != 64:
            raise GoError("ssh: private key unexpected length")
        _openssh_padding(inner.rest())
        # Go keeps the 64 bytes as they are: its public key is the stored second half, not one derived from the seed.
        return _StoredEd25519(ed25519.Ed25519PrivateKey.from_private_bytes(secret[:32]), secret[32:])
    if kind in (b"ecdsa-sha2-nistp256", b"ecdsa-sha2-nistp384", b"ecdsa-sha2-nistp521"):
        inner = _Wire(body, "openSSHECDSAPrivateKey")
        curve, point, scalar = inner.text("Curve").decode("utf-8", "replace"), inner.string(), inner.mpint()
        inner.text("Comment")
        _openssh_padding(inner.rest())
        if curve not in _CURVES:
            raise GoError(f"ssh: unhandled elliptic curve: {curve}")
        if not _curve_point(curve, point):
            raise GoError("ssh: failed to unmarshal public key")
        order = _CURVE_ORDERS[curve]
        if scalar >= order:
            raise GoError("ssh: scalar is out of range")
        if scalar <= 0:
            raise GoError("ssh: public key does not match private key")
        key = ec.derive_private_key(scalar, _CURVES[curve])
        expected = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        if expected != point:
            raise GoError("ssh: public key does not match private key")
        return key
    raise GoError("ssh: unhandled key type")


def _signer(key) -> paramiko.PKey:
    """ssh.NewSignerFromKey, as a paramiko key."""
    if isinstance(key, _StoredEd25519):
        pkey = _signer(key.key)
        pkey.go_public_blob = _string("ssh-ed25519") + _string(key.public)
        return pkey
    if isinstance(key, rsa.RSAPrivateKey):
        return paramiko.RSAKey(key=key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise GoError("ssh: only P-256, P-384 and P-521 EC keys are supported")
        return paramiko.ECDSAKey(vals=(key, key.public_key()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode()
        return paramiko.Ed25519Key(file_obj=io.StringIO(text))
    if isinstance(key, x25519.X25519PrivateKey):
        raise GoError("ssh: unsupported key type *ecdh.PrivateKey")
    if isinstance(key, dsa.DSAPrivateKey):
        raise StandInLimit("the command stand-in cannot use DSA private keys (paramiko has no DSA); the real "
                           "plugin accepts them")
    raise GoError(f"ssh: unsupported key type {type(key).__name__}")


def parse_private_key(text: str, passphrase: str | None) -> paramiko.PKey:
    """ParsePrivateKey, or ParsePrivateKeyWithPassphrase when a passphrase is given (even an empty one)."""
    block = pem_decode(text.encode())
    if block is None:
        raise GoError(NO_KEY)
    encrypted = "ENCRYPTED" in block.headers.get("Proc-Type", "")
    if passphrase is None:
        if encrypted:
            raise GoError(PASSPHRASE_MISSING)
        readers: dict[str, Callable[[bytes], object]] = {
            "RSA PRIVATE KEY": _pkcs1,
            "PRIVATE KEY": _pkcs8,
            "EC PRIVATE KEY": _sec1,
            "DSA PRIVATE KEY": _dsa_der,
            "OPENSSH PRIVATE KEY": lambda raw: _openssh_key(raw, None),
        }
        if block.type not in readers:
            raise GoError(f"ssh: unsupported key type {go_q(block.type)}")
        return _signer(readers[block.type](block.body))
    if block.type == "OPENSSH PRIVATE KEY":
        return _signer(_openssh_key(block.body, passphrase.encode()))
    if not encrypted or "DEK-Info" not in block.headers:
        raise GoError("ssh: not an encrypted key")
    try:
        der = _decrypt_pem(block, passphrase.encode())
    except GoError as error:
        if str(error) == INCORRECT_PASSWORD:
            raise
        raise GoError(f"ssh: cannot decode encrypted private keys: {error}") from None
    readers = {"RSA PRIVATE KEY": _pkcs1, "EC PRIVATE KEY": _sec1, "DSA PRIVATE KEY": _dsa_der}
    if block.type not in readers:
        raise GoError(f"ssh: unsupported key type {go_q(block.type)}")
    try:
        key = readers[block.type](der)
    except _Structural:  # what a wrong password decrypts to, when its padding happened to look right
        raise GoError(INCORRECT_PASSWORD) from None
    return _signer(key)


# --- signers: the private key, and the agent's keys --------------------------------------------
_RSA_HASHES = {"ssh-rsa": hashes.SHA1, "rsa-sha2-256": hashes.SHA256, "rsa-sha2-512": hashes.SHA512}


class Signer:
    public: PublicKey

    def sign(self, data: bytes, algorithm: str) -> bytes:
        raise NotImplementedError


class KeySigner(Signer):
    def __init__(self, key: paramiko.PKey):
        self.key = key
        self.public = PublicKey(key.get_name(), getattr(key, "go_public_blob", None) or key.asbytes())

    def sign(self, data: bytes, algorithm: str) -> bytes:
        if isinstance(self.key, paramiko.RSAKey):  # paramiko no longer signs with SHA-1; Go still may
            signature = self.key.key.sign(data, padding.PKCS1v15(), _RSA_HASHES[algorithm]())
            return _string(algorithm) + _string(signature)
        return self.key.sign_ssh_data(data).asbytes()


class Agent:
    """x/crypto/ssh/agent's client: keys are listed each time publickey runs; signing asks the agent."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def _call(self, request: bytes) -> bytes:
        try:
            self.sock.sendall(len(request).to_bytes(4, "big") + request)
            size = int.from_bytes(self._read(4), "big")
            return self._read(size)
        except OSError as error:
            raise GoError(f"agent: {error.strerror.lower() if error.strerror else error}") from None

    def _read(self, size: int) -> bytes:
        out = b""
        while len(out) < size:
            chunk = self.sock.recv(size - len(out))
            if not chunk:
                raise GoError("EOF")
            out += chunk
        return out

    def signers(self) -> list[Signer]:
        reply = self._call(b"\x0b")  # REQUEST_IDENTITIES
        if reply[:1] == b"\x05":
            raise GoError("agent: failed to list keys")
        if reply[:1] != b"\x0c":
            raise GoError("agent: failed to list keys, unexpected message type")
        w = _Wire(reply[1:])
        out: list[Signer] = []
        for _ in range(w.uint32()):
            blob = w.string()
            w.string()  # comment
            key_format = _Wire(blob).string().decode("utf-8", "replace")
            if key_format not in _CERT_FORMATS:  # paramiko need not understand a certificate the agent signs for
                parse_public_key(blob)
            out.append(_AgentSigner(self, PublicKey(key_format, blob)))
        return out

    def close(self) -> None:
        self.sock.close()


class _AgentSigner(Signer):
    def __init__(self, agent: Agent, public: PublicKey):
        self.agent, self.public = agent, public

    def sign(self, data: bytes, algorithm: str) -> bytes:
        flags = {"rsa-sha2-256": 2, "rsa-sha2-512": 4}.get(algorithm, 0)
        reply = self.agent._call(b"\x0d" + _string(self.public.blob) + _string(data) + flags.to_bytes(4, "big"))
        if reply[:1] != b"\x0e":
            raise GoError("agent: failure")
        return _Wire(reply[1:]).string()


def dial_agent(path: str) -> Agent:
    """net.Dial("unix", path), with Go's words for a failure (the real plugin fails the whole connection)."""
    if path == "":
        raise GoError("dial unix: missing address")
    address = "\0" + path[1:] if path.startswith("@") else path  # Go: a leading @ is the abstract namespace
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if len(address.encode()) > 108:
            raise GoError(f"dial unix {path}: connect: invalid argument")
        sock.connect(address)
    except OSError as error:
        sock.close()
        reason = error.strerror.lower() if error.strerror else str(error)
        raise GoError(f"dial unix {path}: connect: {reason}") from None
    except GoError:
        sock.close()
        raise
    return Agent(sock)


# --- authentication methods (ssh.AuthMethod) ---------------------------------------------------
SUCCESS, PARTIAL, FAILURE = "success", "partial", "failure"


class _Inbox(AuthHandler):
    """Hands the server's userauth replies to the dialling thread in order, as Go's readPacket would."""

    def __init__(self, transport):
        super().__init__(transport)
        self.inbox: queue.Queue = queue.Queue()

    @property
    def _handler_table(self):
        return {ptype: (lambda m, ptype=ptype: self._arrived(ptype, m))
                for ptype in (MSG_USERAUTH_FAILURE, MSG_USERAUTH_SUCCESS, MSG_USERAUTH_BANNER, MSG_USERAUTH_60)}

    def _arrived(self, ptype: int, m: paramiko.Message) -> None:
        if ptype == MSG_USERAUTH_SUCCESS:
            self.authenticated = True
            self.transport._auth_trigger()
        self.inbox.put((ptype, m.get_remainder()))


class _Session:
    """The userauth exchange on one transport: send a request, read replies."""

    def __init__(self, transport: "GoTransport", user: str):
        self.transport, self.user = transport, user
        self.inbox = transport.auth_handler.inbox

    def request(self, method: str, *fields: bytes) -> None:
        self.send(bytes(cMSG_USERAUTH_REQUEST) + _string(self.user) + _string("ssh-connection") + _string(method)
                  + b"".join(fields))

    def send(self, payload: bytes) -> None:
        message = paramiko.Message(payload)
        with self.transport.lock:
            self.transport._send_message(message)

    def read(self) -> tuple[int, _Wire]:
        deadline = time.monotonic() + AUTH_REPLY_TIMEOUT
        while True:
            try:
                ptype, payload = self.inbox.get(timeout=0.05)
                return ptype, _Wire(payload)
            except queue.Empty:
                pass
            if not self.transport.is_active():
                raise self.transport.gone()
            if time.monotonic() > deadline:
                raise GoError(f"the server sent no authentication reply in {AUTH_REPLY_TIMEOUT:.0f}s "
                              "(the real plugin waits without limit)")

    def response(self) -> tuple[str, list[str] | None, GoError | None]:
        """handleAuthResponse."""
        while True:
            ptype, w = self.read()
            if ptype == MSG_USERAUTH_BANNER:
                continue
            if ptype == MSG_USERAUTH_FAILURE:
                allowed, partial = _name_list(w.string()), w.boolean()
                return (PARTIAL if partial else FAILURE), allowed, None
            if ptype == MSG_USERAUTH_SUCCESS:
                return SUCCESS, None, None
            return FAILURE, None, GoError(f"ssh: unexpected message type {ptype} (expected 52)")


def _name_list(raw: bytes) -> list[str] | None:
    return raw.decode("utf-8", "replace").split(",") if raw else None


class Method:
    name = ""

    def run(self, session: _Session) -> tuple[str, list[str] | None, GoError | None]:
        raise NotImplementedError


class _None(Method):
    name = "none"

    def run(self, session):
        session.request("none")
        return session.response()


class Password(Method):
    name = "password"

    def __init__(self, password: str):
        self.password = password

    def run(self, session):
        session.request("password", b"\0", _string(self.password))
        return session.response()


class KeyboardInteractive(Method):
    """Answers every prompt of every round with the password."""

    name = "keyboard-interactive"

    def __init__(self, password: str):
        self.password = password

    def run(self, session):
        session.request("keyboard-interactive", _string(""), _string(""))
        asked = False
        while True:
            ptype, w = session.read()
            if ptype == MSG_USERAUTH_BANNER:
                continue
            if ptype == MSG_USERAUTH_FAILURE:
                allowed, partial = _name_list(w.string()), w.boolean()
                if partial:
                    return PARTIAL, allowed, None
                if not asked:
                    return FAILURE, allowed, GoError(f"ssh: unexpected message type {ptype} (expected 60)")
                return FAILURE, allowed, None
            if ptype == MSG_USERAUTH_SUCCESS:
                return SUCCESS, None, None
            if ptype != MSG_USERAUTH_60:
                return FAILURE, None, GoError(f"ssh: unexpected message type {ptype} (expected 60)")
            try:
                w.string(), w.string(), w.string()
                count = w.uint32()
            except GoError as error:
                return FAILURE, None, error
            asked = True
            for _ in range(count):
                try:
                    w.string()
                except GoError:
                    return FAILURE, None, GoError("ssh: prompt format error")
                if not w.left():
                    return FAILURE, None, GoError("ssh: prompt format error")
                w.pos += 1  # echo flag
            if w.left():
                return FAILURE, None, GoError("ssh: extra data following keyboard-interactive pairs")
            answers = [self.password] * count
            session.send(bytes(cMSG_USERAUTH_INFO_RESPONSE) + len(answers).to_bytes(4, "big")
                         + b"".join(_string(a) for a in answers))


def _algorithms_for(key_format: str) -> list[str]:
    """algorithmsForKeyFormat: what a key of this format may sign with, in Go's order of preference."""
    if key_format == "ssh-rsa":
        return ["rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"]
    if key_format == "ssh-rsa-cert-v01@openssh.com":
        return ["rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com", key_format]
    return [key_format]


def _signature_algorithm(key_format: str, extensions: dict) -> str:
    """pickSignatureAlgorithm, for a signer that signs with every algorithm of its key format (Go's own key
    signers and agent keys both do): the first the server lists in server-sig-algs, else the format itself."""
    raw = extensions.get("server-sig-algs")
    if raw is None:
        return key_format
    server = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).split(",")
    server += [cert for cert, plain in _CERT_ALGORITHMS.items() if plain in server]
    return next((a for a in _algorithms_for(key_format) if a in server), key_format)


class PublicKeys(Method):
    """ssh.PublicKeys / PublicKeysCallback: ask whether each key would do, sign with the first that would."""

    name = "publickey"

    def __init__(self, signers: Callable[[], list[Signer]]):
        self.signers = signers

    def run(self, session):
        try:
            signers = self.signers()
        except GoError as error:
            return FAILURE, None, error
        allowed = None
        for signer in signers:
            algorithm = _signature_algorithm(signer.public.type, session.transport.server_extensions)
            session.request("publickey", b"\0", _string(algorithm), _string(signer.public.blob))
            try:
                acceptable = self._acknowledged(session, signer.public)
            except GoError as error:
                return FAILURE, None, error
            if not acceptable:
                continue
            signed = (_string(session.transport.session_id) + bytes(cMSG_USERAUTH_REQUEST) + _string(session.user)
                      + _string("ssh-connection") + _string("publickey") + b"\1" + _string(algorithm)
                      + _string(signer.public.blob))
            try:
                signature = signer.sign(signed, _CERT_ALGORITHMS.get(algorithm, algorithm))
            except GoError as error:
                return FAILURE, None, error
            session.request("publickey", b"\1", _string(algorithm), _string(signer.public.blob), _string(signature))
            result, allowed, error = session.response()
            if error is not None:
                return FAILURE, None, error
            if result == SUCCESS or "publickey" not in (allowed or []):
                return result, allowed, None
        return FAILURE, allowed, None

    @staticmethod
    def _acknowledged(session: _Session, public: PublicKey) -> bool:
        while True:
            ptype, w = session.read()
            if ptype == MSG_USERAUTH_BANNER:
                continue
            if ptype == MSG_USERAUTH_60:
                algorithm, blob = w.string().decode("utf-8", "replace"), w.string()
                return algorithm in _algorithms_for(public.type) and blob == public.blob
            if ptype == MSG_USERAUTH_FAILURE:
                return False
            raise GoError(f"ssh: unexpected message type {ptype} (expected 60)")


def authenticate(session: _Session, methods: list[Method]) -> None:
    """clientAuthenticate: "none", then each configured method the server allows whose name was not tried."""
    tried: list[str] = []
    last_allowed: list[str] | None = None
    method: Method | None = _None()
    while method is not None:
        result, allowed, error = method.run(session)
        if error is not None:
            result = FAILURE
        if result == SUCCESS:
            return
        if result == FAILURE and method.name not in tried:
            tried.append(method.name)
        if allowed is None:
            allowed = last_allowed
        last_allowed = allowed
        method = next((m for m in methods if m.name not in tried and m.name in (allowed or [])), None)
        if method is None and error is not None:
            raise error
    raise GoError(f"ssh: unable to authenticate, attempted methods [{' '.join(tried)}], no supported methods remain")


# --- the transport: key exchange as Go's client does it ----------------------------------------
class _SHA1RSAKey(paramiko.RSAKey):
    """An RSA host key that may sign with SHA-1 (`ssh-rsa`): what Go offers for an RSA pin."""

    HASHES = {**paramiko.RSAKey.HASHES, "ssh-rsa": hashes.SHA1}


class GoTransport(ServiceRequestingTransport):
    _key_info = {**ServiceRequestingTransport._key_info, "ssh-rsa": _SHA1RSAKey}

    def __init__(self, sock, pinned: PublicKey | None):
        super().__init__(sock)
        self.set_log_channel(_TRANSPORT_LOG)
        self.pinned = pinned
        self.disconnected: tuple[int, str] | None = None
        self._server_host_key_algorithms: list[str] = []
        if pinned is not None:
            self._preferred_keys = (pinned.type,)  # Go: HostKeyAlgorithms = [pin.Type()], nothing else

    @property
    def preferred_keys(self):
        if self.pinned is not None:  # no certificate variants either: Go offers exactly the one
            return (self.pinned.type,)
        return super().preferred_keys

    def _really_parse_kex_init(self, m, ignore_first_byte=False):
        parsed = super()._really_parse_kex_init(m, ignore_first_byte)
        self._server_host_key_algorithms = list(parsed["server_key_algo_list"])
        return parsed

    def _parse_kex_init(self, m):
        try:
            return super()._parse_kex_init(m)
        except paramiko.IncompatiblePeer as error:
            if "host key" not in str(error):
                raise
            raise GoError(f"ssh: no common algorithm for host key; we offered: [{' '.join(self.preferred_keys)}], "
                          f"peer offered: [{' '.join(self._server_host_key_algorithms)}]") from None

    def _verify_key(self, host_key, sig):
        if self.host_key_type not in self._key_info:
            raise StandInLimit(f"the command stand-in cannot verify a {self.host_key_type} host key (paramiko lacks "
                               "it); the real plugin can")
        signed_with = _Wire(sig).string().decode("utf-8", "replace")
        expected = _CERT_ALGORITHMS.get(self.host_key_type, self.host_key_type)
        if signed_with != expected:
            raise GoError(f"ssh: invalid signature algorithm {go_q(signed_with)}, expected {go_q(expected)}")
        return super()._verify_key(host_key, sig)

    def _parse_disconnect(self, m):
        code, text = m.get_int(), m.get_text()
        self.disconnected = (code, text)

    def gone(self) -> GoError:
        if self.disconnected is not None:
            return GoError(f"ssh: disconnect, reason {self.disconnected[0]}: {self.disconnected[1]}")
        error = self.get_exception()
        return error if isinstance(error, GoError) else GoError("EOF")

    def handshake(self, user: str, methods: list[Method], timeout: float | None) -> None:
        """What ssh.NewClientConn does after the TCP connect; every failure is `ssh: handshake failed: ...`."""
        try:
            try:
                self.start_client(timeout=timeout)
            except GoError:
                raise
            except Exception as error:  # noqa: BLE001 - paramiko's negotiation failures
                raise self.gone() if self.disconnected else _handshake_error(error) from None
            if not self.initial_kex_done:
                raise GoError("the key exchange did not finish in time (the real plugin waits without limit)")
            if self.pinned is not None and self.get_remote_server_key().asbytes() != self.pinned.blob:
                raise GoError("ssh: host key mismatch")
            self._request_userauth()
            authenticate(_Session(self, user), methods)
        except StandInLimit:
            raise
        except GoError as error:
            raise GoError(f"ssh: handshake failed: {error}") from None

    def _request_userauth(self) -> None:
        self.auth_handler = _Inbox(self)
        message = paramiko.Message()
        message.add_byte(cMSG_SERVICE_REQUEST)
        message.add_string("ssh-userauth")
        self._send_message(message)
        deadline = time.monotonic() + AUTH_REPLY_TIMEOUT
        while not self._service_userauth_accepted:
            if not self.is_active():
                raise self.gone()
            if time.monotonic() > deadline:
                raise GoError("the server did not accept ssh-userauth in time (the real plugin waits without limit)")
            time.sleep(0.01)


def _handshake_error(error: Exception) -> GoError:
    text = str(error)
    if isinstance(error, EOFError) or "Error reading SSH protocol banner" in text:
        return GoError("EOF")
    return GoError(text or type(error).__name__)
