"""An outsider's checker for a published draw file, written only from docs/draw.md.

It imports nothing from the bot: the standard library for the draw itself, and a BLS12-381
library (py_ecc) for the one thing the standard library can't do, the drand signature check.
It exists to show that the documentation is enough to check a draw; the tests compare its
verdict with ``python -m bot.verify_draw`` on the same files.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import datetime
from typing import Any

QUICKNET = {
    "chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    "public_key": "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
    "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
    "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
    "period": 3,
    "genesis_time": 1692803367,
    "group_hash": "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
    "beacon_id": "quicknet",
}

DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chain_hash(chain: dict[str, Any]) -> str:
    """docs/draw.md, "The chain hash"."""
    data = struct.pack(">I", int(chain["period"])) + struct.pack(">q", int(chain["genesis_time"]))
    data += bytes.fromhex(chain["public_key"]) + bytes.fromhex(chain["group_hash"])
    if chain.get("beacon_id") not in ("", "default", None):
        data += str(chain["beacon_id"]).encode("utf-8")
    return sha256_hex(data)


def drand_round_is_genuine(chain: dict[str, Any], round_number: int, signature: bytes) -> bool:
    """docs/draw.md, "Checking a round": e(signature, g2) = e(H(m), public key)."""
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import decompress_G1, decompress_G2
    from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
    from py_ecc.optimized_bls12_381 import G2, curve_order, is_inf, multiply, neg, pairing

    if len(signature) != 48:
        return False
    try:
        sig = decompress_G1(int.from_bytes(signature, "big"))  # type: ignore[arg-type]
        key = bytes.fromhex(chain["public_key"])
        pk = decompress_G2((int.from_bytes(key[:48], "big"), int.from_bytes(key[48:], "big")))  # type: ignore[arg-type]
    except ValueError:
        return False
    if is_inf(sig) or not is_inf(multiply(sig, curve_order)):
        return False
    message = hashlib.sha256(round_number.to_bytes(8, "big")).digest()
    hashed = hash_to_G1(message, DST, hashlib.sha256)  # type: ignore[arg-type]
    product = pairing(neg(G2), sig, final_exponentiate=False) * pairing(
        pk, hashed, final_exponentiate=False
    )
    from py_ecc.optimized_bls12_381 import final_exponentiate

    return bool(final_exponentiate(product) == FQ12.one())


def one_space(text: str) -> str:
    return " ".join(text.split())


def verify(
    data: dict[str, Any], trusted_chain_hash: str = QUICKNET["chain_hash"]
) -> tuple[bool, list[str]]:
    """Check a version 3 draw file; ``(everything checks out, problems)``."""
    problems: list[str] = []
    seed = data["seed"]
    if sha256_hex(seed.encode("ascii")) != data["seed_commitment"]:
        problems.append("commitment")
    roster = [(r["ref"], r["category"]) for r in data["roster"]]
    places = {c["key"]: int(c["places"]) for c in data["categories"]}  # the call's order
    roster_text = "".join(f"{ref}:{key}\n" for ref, key in sorted(roster))
    if sha256_hex(roster_text.encode("utf-8")) != data["roster_fingerprint"]:
        problems.append("roster fingerprint")
    beacon = data["beacon"]
    freeze = data["freeze"]
    if beacon["kind"] == "drand":
        beacon_name = f"drand {beacon['chain_hash']} {beacon['round']}"
    else:
        beacon_name = f"public {one_space(beacon['source'])}"
    if freeze["beacon_name"] != beacon_name:
        problems.append("beacon named at the freeze")
    lines = [
        "coprobot-draw-freeze/v3",
        f"commitment {data['seed_commitment']}",
        f"beacon {beacon_name}",
    ]
    lines += [f"places {key}={n}" for key, n in places.items()]
    freeze_text = "".join(f"{line}\n" for line in lines) + roster_text
    if sha256_hex(freeze_text.encode("utf-8")) != freeze["fingerprint"]:
        problems.append("freeze fingerprint")
    # The public value.
    if beacon["kind"] == "drand":
        if beacon["chain_hash"] != trusted_chain_hash:
            problems.append("not the trusted chain")
            return False, problems
        chain = QUICKNET if trusted_chain_hash == QUICKNET["chain_hash"] else beacon["chain"]
        if chain_hash(chain) != trusted_chain_hash:
            problems.append("chain parameters")
            return False, problems
        signature = bytes.fromhex(beacon["signature"])
        value = hashlib.sha256(signature).digest()
        if value.hex() != beacon["randomness"]:
            problems.append("randomness is not the signature's hash")
        if not drand_round_is_genuine(chain, int(beacon["round"]), signature):
            problems.append("drand signature")
        round_time = int(chain["genesis_time"]) + (int(beacon["round"]) - 1) * int(chain["period"])
    else:
        value = one_space(beacon["value"]).encode("utf-8")
        round_time = int(datetime.fromisoformat(beacon["due"].replace("Z", "+00:00")).timestamp())
    published = freeze.get("published_at")
    if (
        published is None
        or datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp() >= round_time
    ):
        problems.append("freeze not published before the public value")
    # The order.
    draw_key = hashlib.sha256(bytes.fromhex(seed) + value).digest()
    group: dict[str, list[str]] = {}
    waiting: dict[str, list[str]] = {}
    for key, n in places.items():
        members = [ref for ref, k in roster if k == key]
        order = sorted(
            members,
            key=lambda ref, key=key: (
                hmac.new(draw_key, f"{key}:{ref}".encode(), hashlib.sha256).hexdigest(),
                ref,
            ),
        )
        published_result = data["result"].get(key, {"selected": [], "reserve": []})
        if published_result["selected"] != order[:n] or published_result["reserve"] != order[n:]:
            problems.append(f"order of {key}")
        group[key], waiting[key] = order[:n], order[n:]
    if set(data["result"]) - set(places):
        problems.append("a category without places")
    # The changes, replayed against the reserve order.
    for change in data.get("changes", []):
        key, left, joined = change["category"], change["left"], change.get("joined")
        if key not in group:
            problems.append("change in an unknown category")
        elif left in waiting[key]:
            waiting[key].remove(left)
            if joined is not None:
                problems.append("a reserve left and someone came in")
        elif left not in group[key]:
            problems.append("change: who left was not in the group")
        else:
            group[key].remove(left)
            expected = waiting[key][0] if waiting[key] else None
            if joined != expected:
                problems.append("change: not the next reserve")
            elif expected is not None:
                group[key].append(waiting[key].pop(0))
    return not problems, problems
