"""The drand beacon, verified locally: chain parameters, round arithmetic, BLS checks.

This module is pure: no network, no clock, no discord, no database. It only knows
the maths of one drand scheme, the one the League of Entropy's "quicknet" chain uses
(scheme id ``bls-unchained-g1-rfc9380``).

How a drand chain works, in plain words
---------------------------------------
A group of independent organisations jointly holds one BLS secret key, split so that
no single member (nor any minority of them) ever knows it. Every ``period`` seconds,
starting at ``genesis_time`` with round 1, enough members sign the round number; their
partial signatures combine into the one signature that the whole key would have made.
BLS signatures are *unique*: for a given key and message there is exactly one valid
signature, so the signers cannot choose among several outcomes, and nobody can
compute it before the members sign. The round's random value is the SHA-256 of that
signature.

What exactly is signed ("unchained", signatures on G1, RFC 9380 hashing)
--------------------------------------------------------------------------
- The message is ``SHA-256(round number as 8 bytes, big-endian)``. *Unchained* means
  the previous round's signature is not part of the message, so any round can be
  checked on its own.
- The message is mapped to a point ``H(m)`` of the elliptic-curve group G1 of
  BLS12-381 with the RFC 9380 hash-to-curve suite ``BLS12381G1_XMD:SHA-256_SSWU_RO_``
  and the domain separation tag ``BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_``.
- The signature is ``sk · H(m)``, a G1 point sent compressed in 48 bytes. The public
  key is ``sk · g2`` (g2 the standard generator of G2), sent compressed in 96 bytes.
- Anyone holding the public key checks ``e(signature, g2) == e(H(m), public key)``
  with the BLS12-381 pairing ``e``: both sides equal ``e(H(m), g2)`` raised to ``sk``.

The two pairings are computed as one: ``e(signature, -g2) · e(H(m), pk) == 1``, with
the two Miller loops multiplied together before a single final exponentiation, which
is most of the cost. The signature must also be a genuine point of the prime-order
subgroup (not the point at infinity); otherwise it is refused.

Round arithmetic
----------------
Round ``n`` (counting from 1) is due at ``genesis_time + (n - 1) * period``. See
:func:`time_of_round`, :func:`current_round`, :func:`round_at` and
:func:`first_round_after`; a draw uses ``first_round_after(chain, freeze_time)``.

The arithmetic (pairings, hash-to-curve, point compression) comes from ``py_ecc``, imported
the first time a signature is checked or made (it costs ~0.4 s, which start-up need not pay).
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from py_ecc.bls.typing import G1Uncompressed, G2Uncompressed

__all__ = [
    "DST",
    "PUBLIC_KEY_LENGTH",
    "QUICKNET",
    "SCHEME_ID",
    "SIGNATURE_LENGTH",
    "BeaconRound",
    "ChainInfo",
    "chain_hash_of",
    "current_round",
    "first_round_after",
    "keypair",
    "message_for_round",
    "new_chain_info",
    "parse_chain_info",
    "parse_round",
    "round_at",
    "sign_round",
    "time_of_round",
    "verify_round",
]

SCHEME_ID: Final = "bls-unchained-g1-rfc9380"
"""The only drand scheme this module verifies (the one quicknet uses)."""

DST: Final = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
"""Domain separation tag given to hash-to-curve when mapping a round's message to G1."""

SIGNATURE_LENGTH: Final = 48
"""A compressed G1 point."""

PUBLIC_KEY_LENGTH: Final = 96
"""A compressed G2 point."""

_MAX_ROUND: Final = 2**64 - 1
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_DEFAULT_BEACON_IDS: Final = frozenset({"", "default"})


# --------------------------------------------------------------------------- chain info


@dataclass(frozen=True)
class ChainInfo:
    """The public parameters of one drand chain: everything needed to check its rounds.

    ``chain_hash`` is the chain's identifier (it is in every URL of the HTTP API).
    drand derives it from the other fields (see :func:`chain_hash_of`); ``group_hash``
    (drand's "genesis seed") and ``beacon_id`` are only needed to recompute it.
    """

    public_key: bytes = field(repr=False)
    period: int
    genesis_time: int
    chain_hash: str
    scheme_id: str = SCHEME_ID
    group_hash: bytes = field(default=b"", repr=False)
    beacon_id: str = ""

    def __post_init__(self) -> None:
        if len(self.public_key) != PUBLIC_KEY_LENGTH:
            raise ValueError(
                f"public key must be {PUBLIC_KEY_LENGTH} bytes (a compressed G2 point), "
                f"got {len(self.public_key)}"
            )
        if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 1:
            raise ValueError(f"period must be a positive number of seconds, got {self.period!r}")
        if isinstance(self.genesis_time, bool) or not isinstance(self.genesis_time, int):
            raise ValueError(f"genesis_time must be an integer, got {self.genesis_time!r}")
        if not _HEX_HASH.fullmatch(self.chain_hash):
            raise ValueError(f"chain hash must be 64 lowercase hex digits, got {self.chain_hash!r}")
        if self.scheme_id != SCHEME_ID:
            raise ValueError(
                f"unsupported drand scheme {self.scheme_id!r}: only {SCHEME_ID!r} is verified"
            )

    @property
    def public_key_hex(self) -> str:
        """The public key as drand prints it (lowercase hex)."""
        return self.public_key.hex()


def chain_hash_of(
    *,
    public_key: bytes,
    period: int,
    genesis_time: int,
    group_hash: bytes,
    beacon_id: str = "",
) -> str:
    """drand's chain hash: SHA-256 over the chain's defining parameters.

    The bytes hashed are, in order: the period in seconds (4 bytes, big-endian), the
    genesis time (8 bytes, big-endian, signed), the compressed public key, the group
    hash, and the beacon id in UTF-8 unless it is the default beacon (empty or
    ``"default"``). The scheme id is not part of it.
    """
    data = struct.pack(">Iq", period, genesis_time) + public_key + group_hash
    if beacon_id not in _DEFAULT_BEACON_IDS:
        data += beacon_id.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def new_chain_info(
    *,
    public_key: bytes,
    period: int,
    genesis_time: int,
    group_hash: bytes = b"",
    beacon_id: str = "",
) -> ChainInfo:
    """A :class:`ChainInfo` whose chain hash is computed the way drand computes it.

    For chains of our own (the local fake beacon in tests). The public key must be a
    valid compressed G2 point of the prime-order subgroup.
    """
    _public_key_point(public_key)
    return ChainInfo(
        public_key=public_key,
        period=period,
        genesis_time=genesis_time,
        chain_hash=chain_hash_of(
            public_key=public_key,
            period=period,
            genesis_time=genesis_time,
            group_hash=group_hash,
            beacon_id=beacon_id,
        ),
        group_hash=group_hash,
        beacon_id=beacon_id,
    )


def parse_chain_info(data: Mapping[str, Any]) -> ChainInfo:
    """Read the JSON object served at ``{base}/{chain_hash}/info``.

    Accepts drand's original field names (``hash``, ``groupHash``, ``schemeID``,
    ``metadata.beaconID``) and its v2 names (``chain_hash``, ``genesis_seed``,
    ``scheme``, ``beacon_id``). When the group hash is present, the advertised chain
    hash is recomputed and must match. The public key must be a valid point.

    Raises ``ValueError`` on anything malformed or inconsistent.
    """
    metadata = data.get("metadata")
    beacon_id = data.get("beacon_id")
    if beacon_id is None and isinstance(metadata, Mapping):
        beacon_id = metadata.get("beaconID")
    chain_hash = _first_present(data, "hash", "chain_hash")
    scheme_id = _first_present(data, "schemeID", "scheme")
    group_hash_hex = _first_present(data, "groupHash", "genesis_seed")

    public_key = _hex_field(data.get("public_key"), "public_key")
    period = _int_field(data.get("period"), "period")
    genesis_time = _int_field(data.get("genesis_time"), "genesis_time")
    if not isinstance(chain_hash, str):
        raise ValueError("chain info has no chain hash")
    if not isinstance(scheme_id, str):
        raise ValueError("chain info has no scheme id")
    if beacon_id is not None and not isinstance(beacon_id, str):
        raise ValueError("chain info beacon id is not a string")
    group_hash = b"" if group_hash_hex is None else _hex_field(group_hash_hex, "groupHash")

    info = ChainInfo(
        public_key=public_key,
        period=period,
        genesis_time=genesis_time,
        chain_hash=chain_hash.lower(),
        scheme_id=scheme_id,
        group_hash=group_hash,
        beacon_id=beacon_id or "",
    )
    if group_hash:
        expected = chain_hash_of(
            public_key=public_key,
            period=period,
            genesis_time=genesis_time,
            group_hash=group_hash,
            beacon_id=info.beacon_id,
        )
        if expected != info.chain_hash:
            raise ValueError(
                f"chain info is inconsistent: its fields hash to {expected}, "
                f"not to the advertised {info.chain_hash}"
            )
    _public_key_point(public_key)
    return info


QUICKNET: Final = ChainInfo(
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    period=3,
    genesis_time=1692803367,
    chain_hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    scheme_id=SCHEME_ID,
    group_hash=bytes.fromhex("f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e"),
    beacon_id="quicknet",
)
"""The League of Entropy's quicknet chain (a round every 3 s since 2023-08-23 15:09:27 UTC)."""


# --------------------------------------------------------------------------- round arithmetic


def time_of_round(chain: ChainInfo, round_number: int) -> int:
    """The Unix time at which round ``round_number`` is due (round 1 is at genesis)."""
    if round_number < 1:
        raise ValueError(f"drand rounds start at 1, got {round_number}")
    return chain.genesis_time + (round_number - 1) * chain.period


def current_round(chain: ChainInfo, unix_time: float) -> int:
    """The latest round due at or before ``unix_time``; 0 before genesis.

    This is the round a beacon should be serving as "latest" at that moment.
    """
    elapsed = unix_time - chain.genesis_time
    if elapsed < 0:
        return 0
    if isinstance(elapsed, int):
        return elapsed // chain.period + 1
    return math.floor(elapsed / chain.period) + 1


def round_at(chain: ChainInfo, unix_time: float) -> int:
    """The first round whose time is at or after ``unix_time`` (never less than 1).

    A round due exactly at ``unix_time`` is that round itself.
    """
    elapsed = unix_time - chain.genesis_time
    if elapsed <= 0:
        return 1
    if isinstance(elapsed, int):
        return -(-elapsed // chain.period) + 1
    return math.ceil(elapsed / chain.period) + 1


def first_round_after(chain: ChainInfo, unix_time: float) -> int:
    """The first round whose time is strictly after ``unix_time``.

    This is the round a draw uses when ``unix_time`` is the moment its roster was
    frozen: the value cannot have existed, even partially, when the roster was fixed.
    """
    return current_round(chain, unix_time) + 1


# --------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class BeaconRound:
    """One round of a drand chain: its number and its signature.

    ``randomness`` is always computed here as ``SHA-256(signature)``;
    ``claimed_randomness`` is whatever value the source claimed, if it sent one
    (``verify_round`` refuses a round whose claim differs).
    """

    round: int
    signature: bytes
    claimed_randomness: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.round, bool) or not isinstance(self.round, int):
            raise ValueError(f"round must be an integer, got {self.round!r}")
        if not 1 <= self.round <= _MAX_ROUND:
            raise ValueError(f"round out of range: {self.round}")

    @property
    def randomness(self) -> bytes:
        """The round's random value: ``SHA-256(signature)``, 32 bytes."""
        return hashlib.sha256(self.signature).digest()

    def to_json(self) -> dict[str, Any]:
        """The round as drand's HTTP API serves it."""
        return {
            "round": self.round,
            "randomness": self.randomness.hex(),
            "signature": self.signature.hex(),
        }


def parse_round(data: Mapping[str, Any]) -> BeaconRound:
    """Read the JSON object served at ``{base}/{chain_hash}/public/{round}``.

    Only the shape is checked here (round number, hex fields); use
    :func:`verify_round` before trusting the value. Raises ``ValueError``.
    """
    round_number = _int_field(data.get("round"), "round")
    signature = _hex_field(data.get("signature"), "signature")
    claimed = data.get("randomness")
    return BeaconRound(
        round=round_number,
        signature=signature,
        claimed_randomness=None if claimed is None else _hex_field(claimed, "randomness"),
    )


def message_for_round(round_number: int) -> bytes:
    """What the chain signs for a round: ``SHA-256(round as 8 bytes, big-endian)``."""
    return hashlib.sha256(round_number.to_bytes(8, "big")).digest()


def verify_round(chain: ChainInfo, beacon: BeaconRound) -> bool:
    """True when ``beacon`` is the genuine round of ``chain`` it says it is.

    Checks, in order: the claimed randomness (if any) is ``SHA-256(signature)``; the
    signature is 48 bytes encoding a point of G1's prime-order subgroup other than
    infinity; and the pairing equation ``e(sig, g2) == e(H(m), pk)`` holds for
    ``m = SHA-256(round, 8 bytes big-endian)``. CPU-bound (a fraction of a second in
    pure Python): run it off the event loop.
    """
    if beacon.claimed_randomness is not None and beacon.claimed_randomness != beacon.randomness:
        return False
    if len(beacon.signature) != SIGNATURE_LENGTH:
        return False
    try:
        signature = _signature_point(beacon.signature)
        public_key = _public_key_point(chain.public_key)
    except ValueError:
        return False
    hashed = _hash_round(beacon.round)
    # e(sig, -g2) · e(H(m), pk) == 1, sharing one final exponentiation.
    ecc = _ecc()
    product = ecc.pairing(ecc.neg_g2, signature, final_exponentiate=False) * ecc.pairing(
        public_key, hashed, final_exponentiate=False
    )
    return bool(ecc.final_exponentiate(product) == ecc.FQ12.one())


# --------------------------------------------------------------------------- signing


def keypair(seed: bytes) -> tuple[int, bytes]:
    """A deterministic key pair for a chain of our own (tests, the local fake beacon).

    The secret is ``SHA-512("coprobot drand test key" ‖ seed)`` reduced modulo the
    group order; the public key is ``secret · g2``, compressed to 96 bytes, ready for
    :class:`ChainInfo`. Never use it for anything that must stay secret: whoever
    knows the seed knows the key.
    """
    digest = hashlib.sha512(b"coprobot drand test key" + seed).digest()
    ecc = _ecc()
    secret = int.from_bytes(digest, "big") % ecc.curve_order or 1
    return secret, _compress_g2(ecc.multiply(ecc.G2, secret))


def sign_round(secret: int, round_number: int) -> bytes:
    """The 48-byte signature of ``round_number`` under ``secret`` (same scheme as quicknet)."""
    if not 1 <= round_number <= _MAX_ROUND:
        raise ValueError(f"round out of range: {round_number}")
    ecc = _ecc()
    point = ecc.multiply(_hash_round(round_number), secret % ecc.curve_order)
    return int(ecc.compress_G1(point)).to_bytes(SIGNATURE_LENGTH, "big")


# --------------------------------------------------------------------------- internals


@lru_cache(maxsize=1)
def _ecc() -> SimpleNamespace:
    """py_ecc's BLS12-381 pieces, imported once, when first needed."""
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import (
        compress_G1,
        compress_G2,
        decompress_G1,
        decompress_G2,
    )
    from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
    from py_ecc.optimized_bls12_381.optimized_curve import (
        G2,
        curve_order,
        is_inf,
        multiply,
        neg,
    )
    from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing

    return SimpleNamespace(
        hash_to_G1=hash_to_G1,
        compress_G1=compress_G1,
        compress_G2=compress_G2,
        decompress_G1=decompress_G1,
        decompress_G2=decompress_G2,
        FQ12=FQ12,
        G2=G2,
        neg_g2=neg(G2),
        curve_order=curve_order,
        is_inf=is_inf,
        multiply=multiply,
        final_exponentiate=final_exponentiate,
        pairing=pairing,
    )


def _hash_round(round_number: int) -> G1Uncompressed:
    # py_ecc annotates hash_function with the private type ``_hashlib.HASH`` although
    # it calls it as a constructor (``hash_function()``); hashlib.sha256 is what it expects.
    return _ecc().hash_to_G1(message_for_round(round_number), DST, hashlib.sha256)  # type: ignore[no-any-return]  # py_ecc via a namespace


def _signature_point(signature: bytes) -> G1Uncompressed:
    """Decompress a signature; ValueError unless it is a non-identity subgroup point."""
    ecc = _ecc()
    point = ecc.decompress_G1(int.from_bytes(signature, "big"))
    if ecc.is_inf(point):
        raise ValueError("signature is the point at infinity")
    if not ecc.is_inf(ecc.multiply(point, ecc.curve_order)):
        raise ValueError("signature is not in the prime-order subgroup of G1")
    checked: G1Uncompressed = point
    return checked


@lru_cache(maxsize=8)
def _public_key_point(public_key: bytes) -> G2Uncompressed:
    """Decompress a public key once; ValueError unless a non-identity subgroup point."""
    if len(public_key) != PUBLIC_KEY_LENGTH:
        raise ValueError(f"public key must be {PUBLIC_KEY_LENGTH} bytes")
    half = PUBLIC_KEY_LENGTH // 2
    ecc = _ecc()
    point = ecc.decompress_G2(
        (int.from_bytes(public_key[:half], "big"), int.from_bytes(public_key[half:], "big"))
    )
    if ecc.is_inf(point):
        raise ValueError("public key is the point at infinity")
    if not ecc.is_inf(ecc.multiply(point, ecc.curve_order)):
        raise ValueError("public key is not in the prime-order subgroup of G2")
    checked: G2Uncompressed = point
    return checked


def _compress_g2(point: G2Uncompressed) -> bytes:
    high, low = _ecc().compress_G2(point)
    half = PUBLIC_KEY_LENGTH // 2
    return int(high).to_bytes(half, "big") + int(low).to_bytes(half, "big")


def _first_present(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _hex_field(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid hex") from exc


def _int_field(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value
