#!/usr/bin/env bash
# The air-gapped binary must not link any networking code. This lists every crate in
# the normal and build dependency trees of keyexport-offline (and of the shared library
# it is built on) and fails, naming the crate, if one of them does networking.
#
# It also prints how many crates the air-gapped binary is built from and fails when the
# count rises above the ceiling: every crate there is attack surface on the machine that
# holds the key. 236 since rxing lost its `image` feature (which pulled every image
# format in) and GIF encoding became an online-only feature (293 before). 246 since
# HD derivation uses Dfns' own `hd-wallet` crate (+7: hd-wallet, generic-ec and its core and
# curves, educe, enum-ordinalize, phantom-type; the curve backends are ours) and Ctrl-C at a
# passphrase prompt restores the terminal (+3: signal-hook, its registry, errno). 258 since
# `sign --psbt` parses and hashes PSBTs with the `bitcoin` crate (+12: bitcoin, bitcoin-io,
# bitcoin-units, base58ck, hex-conservative, hex_lit, arrayvec, and libsecp256k1 through
# secp256k1 and secp256k1-sys, built with cc, shlex and find-msvc-tools; signing stays
# with k256). 260 since `sign --eth-tx` decodes RLP with alloy-rlp (+2: alloy-rlp, bytes;
# alloy-consensus would have added ~30 and a second sha3). 275 since `sign --solana-tx`
# decodes messages with Anza's solana-message and its bincode wire format (+15: bincode,
# five8, five8_const, five8_core, solana-address, -hash, -instruction, -instruction-error,
# -message, -program-error, -pubkey, -sanitize, -sdk-ids, -short-vec, -transaction-error).
# 270 since ff is built without its `bits` feature (-5: bitvec, funty, radium, tap, wyz).
# 267 since k256 and ed25519-dalek are built without PKCS#8/PEM here (-3: pkcs8, base64ct,
# pem-rfc7468; keyexport-online and the sandbox, which read credential files, add them).
# 261 since clap is built without `color` (-6: anstream, anstyle-parse, anstyle-query,
# colorchoice, is_terminal_polyfill, utf8parse; help and usage errors are plain text).
# 255 since batch reconstruction runs on std's scoped threads instead of rayon (-6: rayon,
# rayon-core, crossbeam-deque, crossbeam-epoch, crossbeam-utils, either).
# 252 since Cargo.lock holds rust-embed 8.9 (age's translations) instead of 8.13 (-3: mime,
# mime_guess, unicase; and 8.13's sha2 0.11 brought a second RustCrypto generation:
# digest, block-buffer, crypto-common, hybrid-array, cpufeatures, const-oid twice). A
# `cargo update` that raises it again fails this check: pin it back with
# `cargo update -p rust-embed --precise 8.9.0` (and -impl, -utils). 241 since Cargo.lock
# holds cookie-factory 0.3.2 (age's header writer) instead of 0.3.3, whose only change of
# substance is an async writer, on by default (-11: futures and eight of its crates,
# pin-project-lite, slab); pinned back the same way if an update raises it. 240 since
# Bitcoin addresses hash with bitcoin_hashes' HASH160 (already there through `bitcoin`)
# instead of the ripemd crate (-1).
# What the crates are, per family, and why each stays: docs/dependencies.md (age alone
# brings 50, 33 of them its localisation stack). Lower the ceiling when the count drops;
# raising it needs a reason in the commit message.
set -euo pipefail

offline_ceiling=240
cd "$(dirname "$0")/.."

forbidden='^(ureq|ureq-proto|reqwest|hyper|hyper-util|hyper-rustls|h2|h3|quinn|rustls|rustls-webpki|webpki|webpki-roots|native-tls|openssl|openssl-sys|tokio|tokio-rustls|mio|socket2|curl|curl-sys|isahc|surf|attohttpc|tiny_http|axum|actix-web|warp|tungstenite|async-std|smol|libp2p|trust-dns-resolver|hickory-resolver|ring)$'

status=0
for package in keyexport-offline keyexport-shared; do
  crates=$(cargo tree --locked -p "$package" -e normal,build --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  count=$(printf '%s\n' "$crates" | wc -l)
  bad=$(printf '%s\n' "$crates" | grep -E "$forbidden" || true)
  if [ -n "$bad" ]; then
    for crate in $bad; do
      echo "offline dependency rule: $package depends on networking crate '$crate':" >&2
      cargo tree --locked -p "$package" -e normal,build -i "$crate" >&2 || true
    done
    status=1
  else
    echo "offline dependency rule: $package links no networking crate ($count crates checked)"
  fi
  if [ "$package" = keyexport-offline ]; then
    if [ "$count" -gt "$offline_ceiling" ]; then
      echo "offline dependency rule: keyexport-offline is built from $count crates, above the ceiling of $offline_ceiling: trim the new dependency or justify raising the ceiling" >&2
      status=1
    else
      echo "offline dependency rule: keyexport-offline is built from $count crates (ceiling $offline_ceiling)"
    fi
  fi
done
exit $status
