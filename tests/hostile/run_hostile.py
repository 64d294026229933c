#!/usr/bin/python3
"""Hostile-input suite: runs the memspice binary on the cases of one or more TOML files.

Each case runs in a fresh temporary folder (removed afterwards) and asserts the exit code, the
messages, and that no input file or previous result was lost. Case fields (all optional except
name, args and exit):

  name        unique name                      args     memspice arguments (list of strings)
  exit        expected exit code; a process ended by signal N counts as 128 + N
  files       {path = text} files to create    use      {path = key of [decks]} shared texts
  bytes       {path = hex} binary files        dirs     [folders to create]
  setup       [[memspice args], ...] run first, each must exit 0 (e.g. a previous result)
  shell       shell command run after setup (e.g. "chmod a-w ro")
  stdin       text fed to standard input       env      {NAME = value}
  stderr      [regex, ...] each must match stderr (Python re, case-insensitive, multi-line)
  stdout      [regex, ...] each must match stdout
  not_stderr  [regex, ...] none may match stderr
  unchanged   [paths] byte-identical before and after the main command (inputs, old results)
  exists      [paths] must exist afterwards     absent   [paths] must not exist afterwards
  signal      "INT" | "TERM" | "HUP": sent to the main command once `signal_when` (regex) has
              appeared on stderr, or after `signal_after` seconds (default 1.0)
  timeout     seconds before the case counts as a hang (default 60; times $MEMSPICE_TIMEOUT_SCALE)
  skip_if_root  true: skipped when run as root (permission cases; root may write anywhere)

Every case also checks: no crash (exit >= 128 only when a signal is expected), no sanitizer or
std::terminate report, no "error:" twice on one line, no stderr line longer than 2000 characters,
and no temporary output file (".NAME.tmp-XXXXXX") left behind.

usage: run_hostile.py --memspice PATH [--only REGEX] FILE.toml [...]
"""
import argparse
import hashlib
import os
import re
import shutil
import signal as sig
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

CRASH_PATTERNS = [r"AddressSanitizer", r"runtime error:", r"terminate called", r"Segmentation fault",
                  r"std::bad_alloc", r"LeakSanitizer", r"Assertion .* failed"]
MAX_LINE = 2000
# Sanitizer builds run several times slower: scripts/sanitize.sh scales every case's timeout.
TIMEOUT_SCALE = float(os.environ.get("MEMSPICE_TIMEOUT_SCALE", "1"))
TEMP_NAME = re.compile(r"^\..*\.tmp-[A-Za-z0-9]{6}$")


def case_timeout(case):
    """Seconds before the case counts as a hang."""
    return case.get("timeout", 60) * TIMEOUT_SCALE


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_files(case, decks, work):
    for d in case.get("dirs", []):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    texts = dict(case.get("files", {}))
    for path, key in case.get("use", {}).items():
        if key not in decks:
            raise KeyError(f"use: no deck '{key}' in [decks]")
        texts[path] = decks[key]
    for path, text in texts.items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    for path, hexdata in case.get("bytes", {}).items():
        full = os.path.join(work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(bytes.fromhex(hexdata))


def run_main(cmd, case, work, env):
    """Runs the main command; returns (exit code as a shell reports it, stdout, stderr)."""
    timeout = case_timeout(case)
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out_chunks, err_chunks = [], []
    err_seen = threading.Event()
    when = case.get("signal_when")

    def pump(stream, chunks, watch):
        # Chunks, not lines: a progress line ends in '\r' and must be seen as it is printed.
        for chunk in iter(lambda: stream.read1(65536), b""):
            chunks.append(chunk)
            if watch and when and re.search(when, b"".join(chunks).decode("utf-8", "replace")):
                err_seen.set()
        stream.close()

    threads = [threading.Thread(target=pump, args=(proc.stdout, out_chunks, False)),
               threading.Thread(target=pump, args=(proc.stderr, err_chunks, True))]
    for t in threads:
        t.start()
    try:
        proc.stdin.write(case.get("stdin", "").encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    if "signal" in case:
        signum = getattr(sig, "SIG" + case["signal"])
        if when:
            err_seen.wait(timeout)
        else:
            time.sleep(case.get("signal_after", 1.0))
        if proc.poll() is None:
            proc.send_signal(signum)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for t in threads:
            t.join()
        return None, b"".join(out_chunks).decode("utf-8", "replace"), \
            b"".join(err_chunks).decode("utf-8", "replace")
    for t in threads:
        t.join()
    rc = proc.returncode
    if rc < 0:
        rc = 128 - rc
    return rc, b"".join(out_chunks).decode("utf-8", "replace"), \
        b"".join(err_chunks).decode("utf-8", "replace")


def check_case(case, decks, memspice):
    """Runs one case; returns a list of failure descriptions (empty: passed)."""
    problems = []
    work = tempfile.mkdtemp(prefix="memspice_hostile_")
    try:
        make_files(case, decks, work)
        env = dict(os.environ)
        env.update({k: str(v) for k, v in case.get("env", {}).items()})
        for args in case.get("setup", []):
            r = subprocess.run([memspice] + args, cwd=work, env=env, capture_output=True,
                               timeout=case_timeout(case))
            if r.returncode != 0:
                return [f"setup {args} exited {r.returncode}: {r.stderr.decode()[-800:]}"]
        if "shell" in case:
            subprocess.run(case["shell"], shell=True, cwd=work, env=env, check=True)
        before = {}
        for p in case.get("unchanged", []):
            full = os.path.join(work, p)
            if not os.path.exists(full):
                return [f"unchanged: '{p}' does not exist before the command"]
            before[p] = digest(full)
        rc, out, err = run_main([memspice] + case["args"], case, work, env)
        if rc is None:
            return [f"hang: no exit within {case_timeout(case):g} s\nstderr: {err[-800:]}"]
        if rc != case["exit"]:
            problems.append(f"exit {rc}, expected {case['exit']}")
        if rc >= 128 and "signal" not in case:
            problems.append(f"killed by signal {rc - 128} (crash)")
        flags = re.IGNORECASE | re.MULTILINE
        for pat in case.get("stderr", []):
            if not re.search(pat, err, flags):
                problems.append(f"stderr lacks /{pat}/")
        for pat in case.get("stdout", []):
            if not re.search(pat, out, flags):
                problems.append(f"stdout lacks /{pat}/")
        for pat in case.get("not_stderr", []) + CRASH_PATTERNS:
            if re.search(pat, err, flags):
                problems.append(f"stderr has /{pat}/")
        for line in err.splitlines():
            if line.count("error:") > 1:
                problems.append(f"'error:' twice on one line: {line[:200]}")
            if len(line) > MAX_LINE:
                problems.append(f"stderr line of {len(line)} characters")
        for p, h in before.items():
            full = os.path.join(work, p)
            if not os.path.exists(full):
                problems.append(f"'{p}' was deleted")
            elif digest(full) != h:
                problems.append(f"'{p}' was modified")
        for p in case.get("exists", []):
            if not os.path.exists(os.path.join(work, p)):
                problems.append(f"'{p}' does not exist")
        for p in case.get("absent", []):
            if os.path.exists(os.path.join(work, p)):
                problems.append(f"'{p}' exists")
        for root, _, names in os.walk(work):
            for n in names:
                if TEMP_NAME.match(n):
                    problems.append(f"temporary file left: {os.path.relpath(os.path.join(root, n), work)}")
        if problems:
            problems.append(f"stdout: {out[-600:]}\nstderr: {err[-1500:]}")
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memspice", required=True)
    ap.add_argument("--only", help="run only cases whose name matches this regex")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    memspice = os.path.abspath(a.memspice)
    failed, passed, skipped = [], 0, 0
    names = set()
    for path in a.files:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        decks = data.get("decks", {})
        for case in data.get("case", []):
            name = case["name"]
            if name in names:
                failed.append((name, [f"duplicate case name in {path}"]))
                continue
            names.add(name)
            if a.only and not re.search(a.only, name):
                continue
            if case.get("skip_if_root") and os.geteuid() == 0:
                print(f"skipped {name}: running as root, which may write anywhere")
                skipped += 1
                continue
            start = time.time()
            problems = check_case(case, decks, memspice)
            if problems:
                failed.append((name, problems))
                print(f"FAIL {name} ({time.time() - start:.1f} s)")
                for p in problems:
                    print("    " + p.replace("\n", "\n    "))
            else:
                passed += 1
                print(f"ok   {name} ({time.time() - start:.1f} s)")
    print(f"{passed} passed, {len(failed)} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
