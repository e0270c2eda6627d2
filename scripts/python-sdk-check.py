#!/usr/bin/env python3
"""Dfns' official Python SDK (`dfns-sdk` on PyPI) against a running `dfns-sandbox serve`.

Reads what the sandbox printed (its URL, token, credential id and PEM, and its keys),
then for every key, with the SDK's own `KeySigner` and `DfnsClient`:
  1. `keyexport-offline init` makes a request (decryption key sealed in a temp folder);
  2. `client.keys.get_key` reads the key;
  3. `client.keys.export_key` exports it with the request's Dfns body: the SDK signs the
     user action (`/auth/action/init`, `/auth/action`) with the sandbox's credential;
  4. the SDK's raw answer is written as JSON and `keyexport-offline reconstruct` rebuilds
     the key from it, verified against the public key `get_key` gave.
It fails unless every key is exported and rebuilt, and the exported schemes are exactly
those the sandbox listed (one key per scheme by default).

Usage: scripts/python-sdk-check.py --serve-output FILE --offline BIN --work DIR
  FILE  the standard output of `dfns-sandbox serve` (waited for until "Ready:")
  BIN   the keyexport-offline binary
  DIR   an empty folder for requests, sealed keys and responses
Exit status: 0 every key rebuilt; 1 a step failed (what and why on standard error).
Run by .ci/python-sdk.sh, which starts and stops the sandbox.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from dfns_sdk import DfnsClient, DfnsClientConfig, DfnsError, KeySigner

# A sandbox needs a few seconds to deal its keys; a debug build on a loaded machine more.
READY_TIMEOUT_SECONDS = 120
PASSPHRASE = "correct horse battery staple for the sdk check"


def fail(message):
    """Stops with exit status 1."""
    print(f"python-sdk-check: {message}", file=sys.stderr)
    sys.exit(1)


def read_sandbox(path):
    """Waits for the sandbox's "Ready:" line; returns its settings and keys."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        text = path.read_text() if path.exists() else ""
        if re.search(r"^Ready: ", text, re.MULTILINE):
            break
        if time.monotonic() > deadline:
            fail(f"the sandbox did not print its Ready line in {READY_TIMEOUT_SECONDS} s:\n{text}")
        time.sleep(0.2)
    # `export NAME='value'`, the value possibly spanning lines (the PEM).
    settings = dict(re.findall(r"^export (\w+)='([^']*)'", text, re.MULTILINE))
    for name in ("DFNS_API_URL", "DFNS_AUTH_TOKEN", "DFNS_CRED_ID", "DFNS_PRIVATE_KEY"):
        if name not in settings:
            fail(f"the sandbox output has no {name}")
    if not settings["DFNS_API_URL"].startswith("http://127.0.0.1:"):
        fail(f"the sandbox is not on loopback: {settings['DFNS_API_URL']}")
    keys = re.findall(r"^  (\S+)  (\S+)  \d+-of-\d+  publicKey ([0-9a-f]+)$", text, re.MULTILINE)
    if not keys:
        fail("the sandbox listed no keys")
    return settings, keys


def offline(binary, *args):
    """Runs keyexport-offline (air-gap guard off: this is a rehearsal on a networked
    machine; scrypt work factor lowered: a test); returns its standard output."""
    env = dict(os.environ, KEYEXPORT_ALLOW_ONLINE="1", KEYEXPORT_TEST_SCRYPT_LOG_N="10")
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(f"keyexport-offline {args[0]} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def export_one(client, binary, work, key_id, listed_public_key):
    """Exports one key with the SDK and rebuilds it; returns (protocol, curve)."""
    folder = work / key_id
    passphrase = work / "passphrase.txt"
    offline(binary, "init", "--key-id", key_id, "--out", str(folder),
            "--passphrase-file", str(passphrase))
    request = json.loads((folder / "request.json").read_text())
    key = client.keys.get_key(key_id)
    if key["publicKey"] != listed_public_key or key.get("exported"):
        fail(f"get_key({key_id}) does not match the key the sandbox listed: {key}")
    try:
        response = client.keys.export_key(key_id, request["dfnsRequest"])
    except DfnsError as error:
        fail(f"export_key({key_id}) failed: {error}")
    if "encryptedKeyShares" not in response:
        fail(f"export_key({key_id}) answered without shares: {response}")
    raw = folder / "sdk-response.json"
    raw.write_text(json.dumps(response))
    report = json.loads(offline(
        binary, "reconstruct", "--decryption-key", str(folder / "decryption-key.age"),
        "--response", str(raw), "--passphrase-file", str(passphrase), "--json"))
    # reconstruct exits 0 only once the rebuilt key matched the response's public key.
    if report.get("publicKey") != key["publicKey"]:
        fail(f"reconstruct of {key_id} rebuilt another key than {key['publicKey']}: {report}")
    # An export is final: the same request again is refused with HTTP 409.
    try:
        client.keys.export_key(key_id, request["dfnsRequest"])
        fail(f"{key_id} was exported twice")
    except DfnsError as error:
        if error.status_code != 409:
            fail(f"a second export of {key_id} gave {error} instead of HTTP 409")
    return response["protocol"], response["curve"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-output", type=Path, required=True)
    parser.add_argument("--offline", required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    settings, keys = read_sandbox(args.serve_output)
    (args.work / "passphrase.txt").write_text(PASSPHRASE + "\n")
    signer = KeySigner(
        credential_id=settings["DFNS_CRED_ID"],
        private_key=settings["DFNS_PRIVATE_KEY"],
        app_origin="http://127.0.0.1",
    )
    config = DfnsClientConfig(
        auth_token=settings["DFNS_AUTH_TOKEN"],
        base_url=settings["DFNS_API_URL"],
        signer=signer,
    )
    exported = []
    with DfnsClient(config) as client:
        for key_id, scheme, public_key in keys:
            protocol, curve = export_one(client, args.offline, args.work, key_id, public_key)
            if f"{protocol}:{curve}" != scheme:
                fail(f"{key_id} is {scheme} but its export says {protocol}:{curve}")
            exported.append(scheme)
    print(f"{len(exported)} keys exported with dfns-sdk and rebuilt: {', '.join(exported)}")


if __name__ == "__main__":
    main()
