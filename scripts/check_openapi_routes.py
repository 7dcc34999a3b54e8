#!/usr/bin/env python3
"""Checks that openapi.yaml documents exactly the routes registered in Sources/AvioApp/Router+build.swift.

Reads the route table the way it is written (STYLE §2):

    let router = Router(context: AppRequestContext.self)
    router.get("/health", use: health.health)
    let admin = router.group().add(middleware: ...)          # no prefix
    admin.get("/admin/leads", use: reads.leads)              # GET /admin/leads
    let pubWA = router.group("/pub/wa")                      # prefix /pub/wa, chained calls may follow on
        .add(middleware: ...)                                # the next lines
    pubWA.get("/status", use: wa.status)                     # GET /pub/wa/status

Groups of groups add up their prefixes; `.on("/p", method: .get, use:)` and `:param` path segments (→ `{param}`)
are understood too. Comments and string contents are ignored when looking for code.

Exit status: 0 when both sides agree, 1 listing every route missing from the document and every documented
operation the router does not have, 2 when a file cannot be read or a route call cannot be understood.

Usage: scripts/check_openapi_routes.py [--router PATH] [--openapi PATH] [-v]
"""
import argparse
import pathlib
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_openapi_routes: PyYAML is required (pip install pyyaml)")

ROOT = pathlib.Path(__file__).resolve().parent.parent
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Members of a router/group chain that keep the receiver a router (they return the group itself).
PASS_THROUGH = {"add", "addMiddleware", "middlewares"}


class ParseError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# A small Swift scanner: removes comments, and remembers where string literals are.

def scan(source):
    """Returns (code, strings): code is the source with comments blanked (newlines kept, so offsets and line
    numbers stay valid); strings maps the offset of each string literal's opening quote to (end offset, value)
    with the value as written (escapes other than \\" and \\\\ kept verbatim, interpolations kept as text)."""
    out = list(source)
    strings = {}
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif source.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == '"' or (c == "#" and source.startswith('#"', i)):
            start = i
            hashes = 0
            while i < n and source[i] == "#":
                hashes, i = hashes + 1, i + 1
            triple = source.startswith('"""', i)
            quote = '"""' if triple else '"'
            i += len(quote)
            closer = quote + "#" * hashes
            value = []
            while i < n and not source.startswith(closer, i):
                if source[i] == "\\" and hashes == 0 and i + 1 < n:
                    if source[i + 1] == "(":  # interpolation: keep the text, skip nested parentheses
                        depth, j = 1, i + 2
                        while j < n and depth:
                            depth += {"(": 1, ")": -1}.get(source[j], 0)
                            j += 1
                        value.append(source[i:j])
                        i = j
                        continue
                    value.append(source[i + 1] if source[i + 1] in '"\\' else source[i:i + 2])
                    i += 2
                    continue
                if source[i] == "\n" and not triple:
                    break  # unterminated single-line literal: stop here rather than eat the file
                value.append(source[i])
                i += 1
            i = min(n, i + len(closer))
            strings[start] = (i, "".join(value))
        else:
            i += 1
    return "".join(out), strings


class Source:
    def __init__(self, text, path):
        self.path = path
        self.code, self.strings = scan(text)
        # Offsets inside string literals, to skip identifiers there.
        self.in_string = bytearray(len(self.code))
        for start, (end, _) in self.strings.items():
            for k in range(start, end):
                self.in_string[k] = 1

    def line(self, offset):
        return self.code.count("\n", 0, offset) + 1

    def skip_ws(self, i):
        while i < len(self.code) and self.code[i].isspace():
            i += 1
        return i

    def ident(self, i):
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.code, i)
        return (m.group(0), m.end()) if m else (None, i)

    def balanced(self, i, open_="(", close=")"):
        """i at an opening bracket; returns the offset after the matching closer."""
        depth, j = 0, i
        while j < len(self.code):
            if j in self.strings:
                j = self.strings[j][0]
                continue
            ch = self.code[j]
            if ch == open_:
                depth += 1
            elif ch == close:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise ParseError(f"{self.path}:{self.line(i)}: unbalanced '{open_}'")

    def chain(self, i):
        """Parses `base(.member(args)?)*` starting at an identifier; returns (base, [(member, args|None, offset)], end).
        A trailing closure or generic arguments on a member are skipped."""
        base, j = self.ident(i)
        members = []
        while True:
            k = self.skip_ws(j)
            if k >= len(self.code) or self.code[k] != ".":
                break
            name, after = self.ident(self.skip_ws(k + 1))
            if not name:
                break
            k2 = after
            if k2 < len(self.code) and self.code[k2] == "<":
                k2 = self.balanced(k2, "<", ">")
            args = None
            if k2 < len(self.code) and self.code[k2] == "(":
                end = self.balanced(k2)
                args = (k2 + 1, end - 1)
                k2 = end
            members.append((name, args, k))
            j = k2
        return base, members, j

    def first_string_arg(self, args):
        """The first argument when it is a string literal, '' when there are no positional arguments, None when
        the first argument is something else (a constant, an expression)."""
        start, end = args
        k = self.skip_ws(start)
        if k >= end:
            return ""
        if k in self.strings:
            return self.strings[k][1]
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*\s*:", self.code[k:end]):
            return ""  # first argument is labelled (`use:`, `context:`): no path
        return None

    def labelled(self, args, label):
        start, end = args
        m = re.search(r"\b" + label + r"\s*:\s*\.?([A-Za-z_][A-Za-z0-9_]*)", self.code[start:end])
        return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------------------------

def join(prefix, path):
    path = "/".join("{" + seg[1:] + "}" if seg.startswith(":") and len(seg) > 1 else seg for seg in path.split("/"))
    if not path or path == "/":
        return prefix or "/"
    if not path.startswith("/"):
        path = "/" + path
    return (prefix.rstrip("/") + path) if prefix else path


def router_routes(path):
    """[(METHOD, /path, line)] registered in the router file."""
    src = Source(path.read_text(encoding="utf-8"), path)
    code = src.code
    groups = {}  # variable → path prefix
    routes = []
    problems = []
    assign = re.compile(r"\b(?:let|var)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=\n]+?)?\s*=\s*")
    router_init = re.compile(r"(?:HummingbirdRouter\.)?Router\s*(?:<[^>\n]*>)?\s*\(")
    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    i = 0
    while True:
        m = ident.search(code, i)
        if not m:
            break
        start = m.start()
        if src.in_string[start] or (start > 0 and (code[start - 1] == "." or code[start - 1].isalnum()
                                                   or code[start - 1] in "_$@#")):
            i = m.end()
            continue
        target = None
        a = assign.match(code, start)
        if a:
            target, start = a.group(1), a.end()
            if router_init.match(code, start):
                groups[target] = ""
                i = a.end()
                continue
            m2 = ident.match(code, start)
            if not m2:
                i = a.end()
                continue
        base, base_end = src.ident(start)
        if base not in groups:
            if target is not None:
                groups.pop(target, None)
            # A route-looking call on something we do not know as a router: say so instead of missing it.
            for name, args, offset in src.chain(start)[1]:
                if (name in HTTP_METHODS or name == "on") and args and re.search(r"\buse\s*:", code[args[0]:args[1]]) \
                        and (src.first_string_arg(args) or "").startswith("/"):
                    problems.append(f"{path.name}:{src.line(offset)}: route call on '{base}', "
                                    "which is not a router or group assigned in this file")
            i = base_end
            continue
        base, members, end = src.chain(start)
        prefix = groups[base]
        is_router = True  # the chain's value is still a router/group
        for name, args, offset in members:
            line = src.line(offset)
            if name == "group":
                if args is None:
                    is_router = False
                    break
                arg = src.first_string_arg(args)
                if arg is None:
                    problems.append(f"{path.name}:{line}: group path is not a string literal")
                    arg = ""
                prefix = join(prefix, arg) if arg else prefix
            elif name in HTTP_METHODS or name == "on":
                if args is None:
                    is_router = False
                    break
                method = name if name != "on" else (src.labelled(args, "method") or "")
                arg = src.first_string_arg(args)
                if arg is None or method.lower() not in HTTP_METHODS:
                    problems.append(f"{path.name}:{line}: cannot read the path or method of this route")
                else:
                    routes.append((method.upper(), join(prefix, arg), line))
                # Hummingbird route calls return the group: chained `.get().post()` keep the prefix.
            elif name in PASS_THROUGH:
                pass
            else:
                is_router = False
                break
        if target is not None:
            if is_router:
                groups[target] = prefix
            else:
                groups.pop(target, None)
        i = max(end, m.end())
    if not routes and not problems:
        problems.append(f"{path.name}: no routes found (is this the route table?)")
    return routes, problems


def openapi_operations(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise ParseError(f"{path}: no 'paths' mapping")
    ops = set()
    for route, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        for method in item:
            if str(method).lower() in HTTP_METHODS:
                ops.add((str(method).upper(), str(route)))
    return ops


def shape(route):
    return re.sub(r"\{[^}/]*\}", "{}", route)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--router", type=pathlib.Path, default=ROOT / "Sources/AvioApp/Router+build.swift")
    parser.add_argument("--openapi", type=pathlib.Path, default=ROOT / "openapi.yaml")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every route found")
    args = parser.parse_args(argv)
    try:
        routes, problems = router_routes(args.router)
        documented = openapi_operations(args.openapi)
    except (OSError, ParseError, yaml.YAMLError) as error:
        print(f"check_openapi_routes: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"check_openapi_routes: {problem}", file=sys.stderr)
    if problems:
        return 2

    registered = {}
    duplicates = []
    for method, route, line in routes:
        if (method, route) in registered:
            duplicates.append(f"  {method} {route} (lines {registered[(method, route)]} and {line})")
        registered.setdefault((method, route), line)
    if args.verbose:
        for (method, route), line in sorted(registered.items(), key=lambda kv: kv[1]):
            print(f"  {method:6} {route}  (line {line})")

    missing = sorted(set(registered) - documented, key=lambda op: (op[1], op[0]))
    extra = sorted(documented - set(registered), key=lambda op: (op[1], op[0]))
    by_shape = {(m, shape(r)): r for m, r in documented}
    failed = False
    if missing:
        failed = True
        print(f"Routes of {args.router.name} missing from {args.openapi.name}:")
        for method, route in missing:
            hint = by_shape.get((method, shape(route)))
            note = f"  (documented as {hint}: path parameter names differ)" if hint else ""
            print(f"  {method} {route}  (line {registered[(method, route)]}){note}")
    if extra:
        failed = True
        print(f"Operations in {args.openapi.name} that {args.router.name} does not register:")
        for method, route in extra:
            print(f"  {method} {route}")
    if duplicates:
        failed = True
        print(f"Routes registered twice in {args.router.name}:")
        print("\n".join(duplicates))
    if failed:
        return 1
    print(f"OK: {len(registered)} routes in {args.router.name}, all documented in {args.openapi.name}, nothing extra")
    return 0


if __name__ == "__main__":
    sys.exit(main())
