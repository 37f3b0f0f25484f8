"""What the proxmoxve stand-in needs of Go, terraform-plugin-framework(-validators) and the Pulumi bridge, in Python.

bpg's resources are Plugin-Framework resources behind pulumi-terraform-bridge: their inputs are refused by
framework validators (terraform-plugin-framework-validators v0.19.0) whose diagnostics the bridge turns into
Check failures. This module gives the same verdicts with the same texts:
- Go semantics where a verdict depends on them: RE2 regexes (`^`/`$` are start/end of text, `\\S` is
  `[^\\t\\n\\f\\r ]`, `\\d` is ASCII), strconv.Atoi, time.Parse(time.RFC3339, ...), url.ParseRequestURI, `%q`.
- The validators bpg's schemas use, each yielding the framework's diagnostic (summary, detail, attribute path).
- The bridge's rendering of a diagnostic: a Check failure with no property and the reason
  `<Summary>. <Detail>. Examine values at '<resource name>.<Pulumi path>'.` (pkg/tfbridge/check_failures.go),
  and an error of any other call as `[<path>] <Summary>: <Detail>` (pkg/pf/tfbridge/provider_diagnostics.go).
Null (None) and unknown values are skipped by every validator, as the framework's are.
"""
from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .grpc_plugin import UNKNOWN

# ---------------------------------------------------------------- Go semantics
GO_NON_SPACE = r"[^\t\n\f\r ]"  # RE2's \S: its \s is [\t\n\f\r ] (no \v), ASCII only


def go_regex(pattern: str) -> re.Pattern:
    """An RE2 pattern as Python: `^`/`$` anchor the whole text (no MULTILINE in either), `$` not before a final
    newline, and the Perl classes are ASCII. Only the constructs bpg's patterns use are translated."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append({"S": GO_NON_SPACE, "s": r"[\t\n\f\r ]", "d": "[0-9]", "D": "[^0-9]"}.get(nxt, c + nxt))
            i += 2
            continue
        if c == "[":  # a class: copied as is (bpg's classes hold no Perl escapes that differ)
            j = pattern.index("]", i + 2 if pattern[i + 1:i + 2] in ("]", "^") else i + 1)
            out.append(pattern[i:j + 1])
            i = j + 1
            continue
        out.append({"^": r"\A", "$": r"\Z"}.get(c, c))
        i += 1
    return re.compile("".join(out))


def go_match(regex: re.Pattern, value: str) -> bool:
    """regexp.MatchString: true when the pattern matches anywhere in the text (unanchored search)."""
    return regex.search(value) is not None


_INT64 = (-(1 << 63), (1 << 63) - 1)


def go_atoi(text: str) -> int | None:
    """strconv.Atoi: optional sign then ASCII digits only (no spaces, no underscores), within int64; None if not."""
    if not re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII):
        return None
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


def go_quote(text: str) -> str:
    """Go's %q (strconv.Quote): printable runes as they are, the rest escaped."""
    out = ['"']
    for ch in text:
        c = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif c < 0x20 or c == 0x7F:
            out.append(f"\\x{c:02x}")
        elif c < 0x10000:
            out.append(f"\\u{c:04x}")
        else:
            out.append(f"\\U{c:08x}")
    out.append('"')
    return "".join(out)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _unix(year, month, day, hour, minute, sec, offset) -> int:
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + sec - offset


def _rfc3339_fast(s: bytes) -> int | None:
    """time.parseRFC3339: the strict layout, `.` fractions, `Z` or ±hh:mm."""
    ok = True

    def num(b: bytes, lo: int, hi: int) -> int:
        nonlocal ok
        if not b or any(not 0x30 <= c <= 0x39 for c in b):
            ok = False
            return lo
        x = int(b)
        if not lo <= x <= hi:
            ok = False
            return lo
        return x

    if len(s) < 19:
        return None
    year = num(s[0:4], 0, 9999)
    month = num(s[5:7], 1, 12)
    day = num(s[8:10], 1, _days_in(month, year))
    hour, minute, sec = num(s[11:13], 0, 23), num(s[14:16], 0, 59), num(s[17:19], 0, 59)
    if not ok or s[4:5] != b"-" or s[7:8] != b"-" or s[10:11] != b"T" or s[13:14] != b":" or s[16:17] != b":":
        return None
    s = s[19:]
    if len(s) >= 2 and s[0:1] == b"." and 0x30 <= s[1] <= 0x39:
        n = 2
        while n < len(s) and 0x30 <= s[n] <= 0x39:
            n += 1
        s = s[n:]
    offset = 0
    if s != b"Z":
        if len(s) != 6:
            return None
        hr, mm = num(s[1:3], 0, 23), num(s[4:6], 0, 59)
        if not ok or s[0:1] not in (b"-", b"+") or s[3:4] != b":":
            return None
        offset = (hr * 60 + mm) * 60 * (-1 if s[0:1] == b"-" else 1)
    return _unix(year, month, day, hour, minute, sec, offset)


def _rfc3339_general(s: bytes) -> int | None:
    """time.parse with layout 2006-01-02T15:04:05Z07:00, where the fast path gave up: a one-digit hour, a `,`
    fraction, offsets up to 24:60."""

    def digit(b: bytes, i: int) -> bool:
        return i < len(b) and 0x30 <= b[i] <= 0x39

    def getnum(b: bytes, fixed: bool) -> tuple[int, bytes] | None:
        if not digit(b, 0):
            return None
        if not digit(b, 1):
            return None if fixed else (b[0] - 0x30, b[1:])
        return (b[0] - 0x30) * 10 + b[1] - 0x30, b[2:]

    def skip(b: bytes, lit: bytes) -> bytes | None:
        return b[len(lit):] if b.startswith(lit) else None

    if len(s) < 4 or not digit(s, 0) or not all(digit(s, i) for i in range(4)):
        return None
    year, s = int(s[0:4]), s[4:]
    fields = []
    for lit, fixed, lo, hi in ((b"-", True, 1, 12), (b"-", True, None, None), (b"T", False, 0, 23),
                               (b":", True, 0, 59), (b":", True, 0, 59)):
        s = skip(s, lit)
        got = None if s is None else getnum(s, fixed)
        if got is None:
            return None
        value, s = got
        if lo is not None and not lo <= value <= hi:
            return None
        fields.append(value)
    month, day, hour, minute, sec = fields
    if len(s) >= 2 and s[0:1] in (b".", b",") and digit(s, 1):
        n = 2
        while n < len(s) and digit(s, n):
            n += 1
        s = s[n:]
    offset = 0
    if s[0:1] == b"Z":
        s = s[1:]
    else:
        if len(s) < 6 or s[3:4] != b":":
            return None
        sign, hh, mm, s = s[0:1], getnum(s[1:3], True), getnum(s[4:6], True), s[6:]
        if hh is None or mm is None or hh[0] > 24 or mm[0] > 60 or sign not in (b"+", b"-"):
            return None
        offset = (hh[0] * 60 + mm[0]) * 60 * (-1 if sign == b"-" else 1)
    if s:
        return None  # extra text
    if not 1 <= day <= _days_in(month, year):
        return None
    return _unix(year, month, day, hour, minute, sec, offset)


def parse_rfc3339(text: str) -> int | None:
    """time.Parse(time.RFC3339, text) as Unix seconds (Time.Unix()), or None where Go refuses it."""
    raw = text.encode("utf-8", "surrogatepass")
    fast = _rfc3339_fast(raw)
    return fast if fast is not None else _rfc3339_general(raw)


def format_rfc3339_utc(seconds: int) -> str:
    """time.Unix(seconds, 0).UTC().Format(time.RFC3339)."""
    days, rem = divmod(seconds, 86400)
    # civil_from_days
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return f"{year:04d}-{month:02d}-{day:02d}T{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}Z"


_HOST_REFUSED = set(" #[\\^`{|}")  # ASCII that url's unescape(..., encodeHost) refuses ('%' is checked apart)
_USERINFO = re.compile(r"[A-Za-z0-9\-._:~!$&'()*+,;=%@]*")


def _bad_escape(text: str, host: bool = False) -> bool:
    """url.unescape's refusals: `%` not followed by two hex digits; in a host, an escaped ASCII byte but %25."""
    for m in re.finditer("%", text):
        code = text[m.start() + 1:m.start() + 3]
        if not re.fullmatch("[0-9A-Fa-f]{2}", code):
            return True
        if host and int(code[0], 16) < 8 and code != "25":
            return True
    return host and any(c in _HOST_REFUSED for c in text)


def _parse_host(scheme: str, host: str) -> bool:
    if host.rfind("[") > 0:
        return False  # invalid IP-literal
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0 or not re.fullmatch(r"(:[0-9]*)?", host[close + 1:]):
            return False
        literal = host[1:close]
        zone = literal.find("%25")
        if _bad_escape(literal if zone < 0 else literal[:zone], host=True):
            return False
        try:
            address = ipaddress.ip_address(urllib.parse.unquote(literal))
        except ValueError:
            return False
        return address.version == 6
    if ":" in host:
        first, last = host.find(":"), host.rfind(":")
        # Go refuses a second colon in an http(s) host (go.dev/issue/75223); elsewhere the last one starts the port.
        colon = first if scheme in ("http", "https") else last
        if not re.fullmatch(r":[0-9]*", host[colon:]):
            return False
    return not _bad_escape(host, host=True)


def parse_request_uri(raw: str) -> tuple[str, str] | None:
    """url.ParseRequestURI: (scheme, host[:port]) of what it accepts, None for what it refuses (empty, a control
    character, no scheme and no leading `/`, a bad escape, a bad port or host)."""
    if not raw or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return None
    if raw == "*":
        return "", ""
    scheme, rest = "", raw
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                return None  # missing protocol scheme
            scheme, rest = raw[:i].lower(), raw[i + 1:]
        break
    rest = rest[:-1] if rest.endswith("?") and rest.count("?") == 1 else rest.split("?", 1)[0]
    if not rest.startswith("/"):
        return (scheme, "") if scheme else None  # a scheme and no slash is an opaque URL
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        at = authority.rfind("@")
        host = authority[at + 1:]
        if not _parse_host(scheme, host):
            return None
        if at >= 0 and (not _USERINFO.fullmatch(authority[:at]) or _bad_escape(authority[:at])):
            return None
    return None if _bad_escape(rest) else (scheme, urllib.parse.unquote(host))


# ---------------------------------------------------------------- framework diagnostics and paths
@dataclass(frozen=True)
class Diag:
    """A framework diagnostic. `path` is a tuple of steps: ("attr", tf_name) | ("key", map_key) | ("elem", value)."""
    summary: str
    detail: str
    path: tuple = ()
    warning: bool = False


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def fw_path(path: tuple) -> str:
    """path.Path.String(): `nodes["pve1"]`, `resources[Value("vm:1")]`."""
    out = []
    for i, (kind, v) in enumerate(path):
        if kind == "attr":
            out.append(("." if i else "") + v)
        elif kind == "key":
            out.append(f"[{go_quote(v)}]")
        else:
            out.append(f"[Value({go_quote(v) if isinstance(v, str) else v})]")
    return "".join(out)


def tf_path(path: tuple) -> str:
    """tftypes.AttributePath.String(), as a diagnostic outside Check is prefixed: `AttributeName("endpoint")`."""
    names = {"attr": "AttributeName", "key": "ElementKeyString", "elem": "ElementKeyValue"}
    return ".".join(f'{names[k]}("{v}")' if k != "elem" else f"{names[k]}({go_quote(v)})" for k, v in path)


_PROP_DOT = re.compile(r"\A[_a-zA-Z][-_a-zA-Z0-9]*\Z")


def pulumi_path(path: tuple, names: dict[str, str]) -> str:
    """The bridge's CheckFailurePath: camelCase names, a map key as `.key` or `["key"]`, a set element as nothing."""
    out = ""
    for kind, v in path:
        if kind == "attr":
            name = names.get(v, v)
            out = f"{out}.{name}" if out else name
        elif kind == "key":
            out = f"{out}.{v}" if _PROP_DOT.search(v) else f"{out}[{go_quote(v)}]"
    return out


def check_reason(diag: Diag, resource_name: str, names: dict[str, str]) -> str:
    """The bridge's Check failure reason for an attribute diagnostic (Property stays empty)."""
    reason = diag.summary + (". " + diag.detail if diag.detail else "")
    where = pulumi_path(diag.path, names)
    return f"{reason}. Examine values at '{resource_name}.{where}'." if where else reason


def error_text(summary: str, detail: str, path: tuple = ()) -> str:
    """An error diagnostic of Create/Read/Update/Delete/Configure as the bridge returns it."""
    prefix = f"[{tf_path(path)}] " if path else ""
    return f"{prefix}{summary}" if summary == detail else f"{prefix}{summary}: {detail}"


def warning_text(diag: Diag) -> str:
    """A warning diagnostic as the bridge logs it: `[WARNING] <Detail>: <Summary>`."""
    text = f"[WARNING] {diag.detail}" + (f": {diag.summary}" if diag.summary else "")
    return text + (f" at attribute {tf_path(diag.path)}" if diag.path else "")


# ---------------------------------------------------------------- validators (path, value) -> [Diag]
Validator = Callable[[tuple, Any], list]


def _attr_value(path, description, value):
    return Diag("Invalid Attribute Value", f"Attribute {fw_path(path)} {description}, got: {value}", path)


def _attr_match(path, description, value):
    return Diag("Invalid Attribute Value Match", f"Attribute {fw_path(path)} {description}, got: {value}", path)


def regex_matches(pattern: str, message: str) -> Validator:
    regex = go_regex(pattern)

    def validate(path, value):
        if not known(value) or go_match(regex, value):
            return []
        return [_attr_match(path, message or f"value must match regular expression '{pattern}'", value)]
    return validate


def one_of(*values: str) -> Validator:
    description = "value must be one of: [" + " ".join(go_quote(v) for v in values) + "]"

    def validate(path, value):
        return [] if not known(value) or value in values else [_attr_match(path, description, go_quote(value))]
    return validate


def utf8_length_at_least(n: int) -> Validator:
    def validate(path, value):
        if not known(value) or len(value) >= n:
            return []
        return [Diag("Invalid Attribute Value Length",
                     f"Attribute {fw_path(path)} UTF-8 character count must be at least {n}, got: {len(value)}", path)]
    return validate


def parses(parse: Callable[[str], Any], description: str) -> Validator:
    """bpg's validators.NewParseValidator: the parse function refusing is a failure; the value is quoted."""
    def validate(path, value):
        return [] if not known(value) or parse(value) is not None else [_attr_match(path, description, go_quote(value))]
    return validate


def between(lo: int, hi: int) -> Validator:
    def validate(path, value):
        if not known(value) or lo <= int(value) <= hi:
            return []
        return [_attr_value(path, f"value must be between {lo} and {hi}", int(value))]
    return validate


def map_size_at_least(n: int) -> Validator:
    def validate(path, value):
        if not known(value) or len(value) >= n:
            return []
        return [_attr_value(path, f"map must contain at least {n} elements", len(value))]
    return validate


def map_keys_are(*validators: Validator) -> Validator:
    def validate(path, value):
        if not known(value):
            return []
        return [d for k in sorted(value) for v in validators for d in v(path + (("key", k),), k)]
    return validate


def map_values_are(*validators: Validator) -> Validator:
    def validate(path, value):
        if not known(value):
            return []
        return [d for k in sorted(value) for v in validators for d in v(path + (("key", k),), value[k])]
    return validate


def set_elements(value: Iterable) -> list:
    """A set's elements: a Pulumi list, duplicates dropped (a set holds each once)."""
    out = []
    for v in value:
        if v not in out:
            out.append(v)
    return out


def set_size_at_least(n: int) -> Validator:
    def validate(path, value):
        if not known(value) or len(set_elements(value)) >= n:
            return []
        return [_attr_value(path, f"set must contain at least {n} elements", len(set_elements(value)))]
    return validate


def set_values_are(*validators: Validator) -> Validator:
    def validate(path, value):
        if not known(value):
            return []
        return [d for e in set_elements(value) for v in validators for d in v(path + (("elem", e),), e)]
    return validate


def conflicting(*attrs: str) -> Callable[[dict[str, Any], dict[str, str]], list]:
    """resourcevalidator.Conflicting: more than one configured (not null, not unknown) is a failure, on the first."""
    description = "These attributes cannot be configured together: [" + ",".join(attrs) + "]"

    def validate(config: dict[str, Any], names: dict[str, str]) -> list:
        configured = [a for a in attrs if known(config.get(names.get(a, a)))]
        if len(configured) <= 1:
            return []
        return [Diag("Invalid Attribute Combination", description, (("attr", configured[0]),))]
    return validate


# The comment validators every HA resource carries.
COMMENT = (utf8_length_at_least(1),
           regex_matches(r"^\S|^$", "must not start with whitespace"),
           regex_matches(r"\S$|^$", "must not end with whitespace"))
HA_ID = regex_matches(r"^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$",
                      "must start with a letter, end with a letter or number, be composed of letters, numbers, "
                      "'-', '_' and '.', and must be at least 2 characters long")
NODES = (map_size_at_least(1),
         map_keys_are(regex_matches(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$", "must be a valid Proxmox node name")),
         map_values_are(between(0, 1000)))
