"""The drand beacon: real quicknet rounds verify, forgeries don't, the client copes.

Vectors (numbers only) from public sources:
- quicknet chain info: the chain's ``/info`` document as reproduced in ChainSafe/forest
  (``src/beacon/tests/fixtures/drand_quicknet.json``) and many other clients;
- quicknet round 1000: widely used as a known-answer round (e.g. drand's timelock
  bindings, Ideal Labs' randomness-beacon pallet benchmarks);
- quicknet rounds 2, 3 and 30662982: ChainSafe/forest's fixture above and its
  ``src/beacon/signatures/tests.rs``;
- the "walkthrough" chain and its round 38 (same scheme, another key):
  drand/drand-client ``test/beacon-verification.test.ts``;
- hash-to-G1 outputs: RFC 9380 appendix J.9.1 (BLS12381G1_XMD:SHA-256_SSWU_RO_).

Each successful or forged-but-well-formed verification costs one pairing check
(~0.2 s in pure Python), so the file keeps them few.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.optimized_bls12_381.optimized_curve import normalize

from bot.beacon.client import (
    BadSignature,
    BeaconUnavailable,
    ChainMismatch,
    DrandClient,
    RoundNotYet,
)
from bot.beacon.drand import (
    QUICKNET,
    BeaconRound,
    ChainInfo,
    chain_hash_of,
    current_round,
    first_round_after,
    keypair,
    new_chain_info,
    parse_chain_info,
    parse_round,
    round_at,
    sign_round,
    time_of_round,
    verify_round,
)
from tests.fakes import FakeDrandServer, ManualClock

QUICKNET_INFO_JSON = {
    "public_key": (
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    "period": 3,
    "genesis_time": 1692803367,
    "hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    "groupHash": "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
    "schemeID": "bls-unchained-g1-rfc9380",
    "metadata": {"beaconID": "quicknet"},
}

QUICKNET_ROUNDS = {
    1000: {
        "round": 1000,
        "randomness": "fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd",
        "signature": "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b1957"
        "6350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
    },
    2: {
        "round": 2,
        "randomness": "5782d6987841c654515a0e72b2d1ebb4e741234042c37cb19608ae50d93fb60c",
        "signature": "b6b6a585449b66eb12e875b64fcbab3799861a00e4dbf092"
        "d99e969a5eac57dd3f798acf61e705fe4f093db926626807",
    },
    3: {
        "round": 3,
        "randomness": "7ef4621ace1c6da4eb2eee7cd901f81385bca5b189771ec0f08d0d2566dd1a21",
        "signature": "b3fab6df720b68cc47175f2c777e86d84187caab5770906f"
        "515ff1099cb01e4deaa027075d860823e49477b93c72bd64",
    },
    30662982: {
        "round": 30662982,
        "randomness": "ae76da5137c6d0a0d3b50d325948b26cc3ff1f804cd7bbca29b9250c2bfe8d67",
        "signature": "8b3edd0d42a2fa36ac15641a2dea2e4f4895acec2ef72ef3"
        "9e5b6138f0346fb6b046dde1b4b3d09ff5fe8a6a7acd674a",
    },
}

WALKTHROUGH_INFO_JSON = {
    "public_key": (
        "81d320f220ee9c79e60e19dedc838c31e3ab919b15481e9feb52f643628c4f6a"
        "13fdc52129493875a818109d767272ca0541cbcdcea9335f2870d781b39b845b"
        "a8cbd44fdfe4967781cf72ca5917fc9398bcf97ca0548ed5a709016c4b1ff0f3"
    ),
    "period": 3,
    "genesis_time": 1687506816,
    "hash": "af8b6fc95693b058a3a59efe586eb31c2c352fe00cf40c62a427d87c34f7a235",
    "groupHash": "02d678e93908888871b70e3f015b396a8c082bc1493ae5479f8743cb5d972b54",
    "schemeID": "bls-unchained-g1-rfc9380",
    "metadata": {"beaconID": "walkthrough"},
}
WALKTHROUGH_ROUND_38 = {
    "round": 38,
    "randomness": "b2fc21325a24904a6a9e81a6c63f65f6cec3f0b2400df3f4a56b214770e9ccca",
    "signature": "95c93585c513ebbcb4777ff15599b3140e5ec0295faa0e48"
    "3f3deadd88fa6d43f0d3703e3a4ce106e8fd6c6987f32126",
}

# RFC 9380, J.9.1: (msg, P.x, P.y) for DST QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_
RFC9380_G1_DST = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"
RFC9380_G1_VECTORS = [
    (
        b"",
        "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4"
        "e8cf62d9c09db0fac349612b759e79a1",
        "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc"
        "68ee29813bb7994998f3eae0c9c6a265",
    ),
    (
        b"abc",
        "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3a"
        "ee664ba5379a7655d3c68900be2f6903",
        "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af21553331"
        "1f0b8dfaaa154fa6b88176c229f2885d",
    ),
    (
        b"abcdef0123456789",
        "11e0b079dea29a68f0383ee94fed1b940995272407e3bb916bbf268c263ddd57"
        "a6a27200a784cbc248e84f357ce82d98",
        "03a87ae2caf14e8ee52e51fa2ed8eefe80f02457004ba4d486d6aa1f517c0889"
        "501dc7413753f9599b099ebcbbd2d709",
    ),
]


def _quicknet_round(number: int) -> BeaconRound:
    return parse_round(QUICKNET_ROUNDS[number])


# --------------------------------------------------------------------------- chain info


def test_quicknet_constant_is_the_published_chain_info() -> None:
    assert parse_chain_info(QUICKNET_INFO_JSON) == QUICKNET
    assert QUICKNET.public_key_hex == QUICKNET_INFO_JSON["public_key"]
    assert QUICKNET.period == 3
    assert QUICKNET.genesis_time == 1692803367


def test_chain_hash_is_recomputed_like_drand() -> None:
    assert chain_hash_of(
        public_key=QUICKNET.public_key,
        period=QUICKNET.period,
        genesis_time=QUICKNET.genesis_time,
        group_hash=QUICKNET.group_hash,
        beacon_id=QUICKNET.beacon_id,
    ) == str(QUICKNET_INFO_JSON["hash"])
    walkthrough = parse_chain_info(WALKTHROUGH_INFO_JSON)
    assert walkthrough.chain_hash == WALKTHROUGH_INFO_JSON["hash"]


def test_chain_info_v2_field_names() -> None:
    v2 = {
        "public_key": QUICKNET_INFO_JSON["public_key"],
        "period": 3,
        "genesis_time": 1692803367,
        "chain_hash": QUICKNET_INFO_JSON["hash"],
        "genesis_seed": QUICKNET_INFO_JSON["groupHash"],
        "scheme": "bls-unchained-g1-rfc9380",
        "beacon_id": "quicknet",
    }
    assert parse_chain_info(v2) == QUICKNET


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"genesis_time": 1692803368}, "inconsistent"),
        ({"hash": "00" * 32}, "inconsistent"),
        ({"schemeID": "pedersen-bls-chained"}, "unsupported drand scheme"),
        ({"public_key": "83cf0f28"}, "96 bytes"),
        ({"period": "3"}, "period"),
        ({"public_key": "zz"}, "hex"),
    ],
)
def test_malformed_or_inconsistent_chain_info_is_refused(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_chain_info({**QUICKNET_INFO_JSON, **change})


def test_public_key_off_the_curve_is_refused() -> None:
    info = dict(QUICKNET_INFO_JSON)
    info.pop("groupHash")  # so the hash check can't be what refuses it
    key = bytearray(QUICKNET.public_key)
    key[95] ^= 0x01
    info["public_key"] = key.hex()
    with pytest.raises(ValueError):
        parse_chain_info(info)


# --------------------------------------------------------------------------- round arithmetic


def test_round_times() -> None:
    assert time_of_round(QUICKNET, 1) == QUICKNET.genesis_time
    assert time_of_round(QUICKNET, 1000) == 1692803367 + 999 * 3
    with pytest.raises(ValueError):
        time_of_round(QUICKNET, 0)


def test_round_at_known_dates() -> None:
    # 2026-04-20 00:00:00 UTC falls exactly on round 27946612.
    midnight = int(datetime(2026, 4, 20, tzinfo=UTC).timestamp())
    assert time_of_round(QUICKNET, 27946612) == midnight
    assert round_at(QUICKNET, midnight) == 27946612
    assert current_round(QUICKNET, midnight) == 27946612
    assert first_round_after(QUICKNET, midnight) == 27946613
    later = datetime(2026, 4, 20, 12, 30, 45, tzinfo=UTC).timestamp()
    assert current_round(QUICKNET, later) == 27961627
    assert round_at(QUICKNET, later) == 27961627  # 12:30:45 is itself a round time


@pytest.mark.parametrize(
    ("offset", "current", "at", "after"),
    [
        (-100, 0, 1, 1),  # before genesis
        (0, 1, 1, 2),  # exactly at genesis: round 1 is due
        (0.5, 1, 2, 2),
        (1, 1, 2, 2),
        (2.999, 1, 2, 2),
        (3, 2, 2, 3),  # exactly on round 2's time
        (3.001, 2, 3, 3),
        (2997, 1000, 1000, 1001),
    ],
)
def test_round_arithmetic_at_boundaries(offset: float, current: int, at: int, after: int) -> None:
    moment = QUICKNET.genesis_time + offset
    assert current_round(QUICKNET, moment) == current
    assert round_at(QUICKNET, moment) == at
    assert first_round_after(QUICKNET, moment) == after
    assert time_of_round(QUICKNET, after) > moment
    if current:
        assert time_of_round(QUICKNET, current) <= moment
    assert time_of_round(QUICKNET, at) >= moment


# --------------------------------------------------------------------------- real rounds


@pytest.mark.parametrize("number", [1000, 30662982])
def test_real_quicknet_rounds_verify(number: int) -> None:
    beacon = _quicknet_round(number)
    assert beacon.randomness.hex() == QUICKNET_ROUNDS[number]["randomness"]
    assert verify_round(QUICKNET, beacon)


def test_real_round_under_another_round_number_is_refused() -> None:
    genuine = _quicknet_round(2)
    assert not verify_round(QUICKNET, BeaconRound(3, genuine.signature))


def test_same_scheme_on_another_chain_verifies() -> None:
    walkthrough = parse_chain_info(WALKTHROUGH_INFO_JSON)
    assert verify_round(walkthrough, parse_round(WALKTHROUGH_ROUND_38))


def test_tampered_signature_bytes_are_refused() -> None:
    genuine = _quicknet_round(1000)
    for position in (0, 20, 47):
        tampered = bytearray(genuine.signature)
        tampered[position] ^= 0x04
        assert not verify_round(QUICKNET, BeaconRound(1000, bytes(tampered)))


def test_wrong_length_and_identity_signatures_are_refused() -> None:
    genuine = _quicknet_round(1000).signature
    assert not verify_round(QUICKNET, BeaconRound(1000, genuine[:-1]))
    assert not verify_round(QUICKNET, BeaconRound(1000, genuine + b"\0"))
    infinity = bytes([0xC0]) + bytes(47)  # the compressed point at infinity
    assert not verify_round(QUICKNET, BeaconRound(1000, infinity))


def test_randomness_that_is_not_the_signature_hash_is_refused() -> None:
    data = dict(QUICKNET_ROUNDS[1000])
    data["randomness"] = "00" * 32
    assert not verify_round(QUICKNET, parse_round(data))


@pytest.mark.parametrize(
    "bad",
    [
        {"round": "1000", "signature": "b4"},
        {"round": True, "signature": "b4"},
        {"round": 0, "signature": "b4"},
        {"round": 1000},
        {"round": 1000, "signature": "xyz"},
        {"round": 1000, "signature": "b4", "randomness": 7},
    ],
)
def test_malformed_round_json_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_round(bad)


def test_py_ecc_hash_to_g1_matches_rfc9380_vectors() -> None:
    for message, x_hex, y_hex in RFC9380_G1_VECTORS:
        x, y = normalize(hash_to_G1(message, RFC9380_G1_DST, hashlib.sha256))  # type: ignore[arg-type]
        assert (int(x), int(y)) == (int(x_hex, 16), int(y_hex, 16))


# --------------------------------------------------------------------------- signing


def test_keypair_is_deterministic_and_signs_the_quicknet_way() -> None:
    secret, public_key = keypair(b"unit test")
    assert keypair(b"unit test") == (secret, public_key)
    assert keypair(b"other")[0] != secret
    chain = new_chain_info(public_key=public_key, period=3, genesis_time=1_700_000_000)
    signature = sign_round(secret, 42)
    assert len(signature) == 48
    assert sign_round(secret, 42) == signature  # unique signatures
    assert verify_round(chain, BeaconRound(42, signature))


# --------------------------------------------------------------------------- client vs fake


GENESIS = 1_700_000_000


@pytest.fixture
def beacon_clock() -> ManualClock:
    return ManualClock(GENESIS + 3 * 99 + 1)  # round 100 is due, 101 is not


@pytest.fixture
async def fake_drand(beacon_clock: ManualClock) -> AsyncIterator[FakeDrandServer]:
    async with FakeDrandServer(genesis_time=GENESIS, period=3, clock=beacon_clock) as server:
        yield server


@pytest.fixture
async def client(
    fake_drand: FakeDrandServer, beacon_clock: ManualClock
) -> AsyncIterator[DrandClient]:
    async with DrandClient(
        fake_drand.url, fake_drand.chain, timeout=2.0, clock=beacon_clock
    ) as drand:
        yield drand


async def test_client_reads_and_checks_chain_info(
    client: DrandClient, fake_drand: FakeDrandServer
) -> None:
    info = await client.fetch_info()
    assert info == fake_drand.chain


async def test_client_verifies_a_due_round(
    client: DrandClient, fake_drand: FakeDrandServer
) -> None:
    beacon = await client.fetch_round(100)
    assert beacon == fake_drand.genuine_round(100)
    assert beacon.randomness == hashlib.sha256(beacon.signature).digest()


async def test_client_waits_for_a_round_not_yet_due(
    client: DrandClient, fake_drand: FakeDrandServer, beacon_clock: ManualClock
) -> None:
    with pytest.raises(RoundNotYet) as not_yet:
        await client.fetch_round(101)
    assert not_yet.value.due_at == GENESIS + 300
    assert fake_drand.requests == []  # our clock said so: the server was not asked

    # Our clock runs ahead of the server's: the server itself says "too early".
    client_clock = ManualClock(beacon_clock.now + 3)
    ahead = DrandClient(fake_drand.url, fake_drand.chain, timeout=2.0, clock=client_clock)
    async with ahead:
        for status in (425, 404):
            fake_drand.future_status = status
            with pytest.raises(RoundNotYet, match=f"HTTP {status}"):
                await ahead.fetch_round(101)

        beacon_clock.advance(3)
        assert await ahead.fetch_round(101) == fake_drand.genuine_round(101)


async def test_client_refuses_a_forged_round(
    client: DrandClient, fake_drand: FakeDrandServer
) -> None:
    fake_drand.forge(90, "other-key")  # well-formed: only the pairing check catches it
    with pytest.raises(BadSignature):
        await client.fetch_round(90)
    fake_drand.forge(91, "randomness")
    with pytest.raises(BadSignature):
        await client.fetch_round(91)


async def test_client_reports_the_server_down(
    client: DrandClient, fake_drand: FakeDrandServer
) -> None:
    await fake_drand.go_down("503")
    with pytest.raises(BeaconUnavailable, match="503"):
        await client.fetch_round(100)
    with pytest.raises(BeaconUnavailable):
        await client.fetch_info()

    await fake_drand.go_down("refuse")
    with pytest.raises(BeaconUnavailable):
        await client.fetch_round(100)

    await fake_drand.come_back()
    assert (await client.fetch_latest()).round == 100


async def test_client_times_out_on_a_silent_server(
    fake_drand: FakeDrandServer, beacon_clock: ManualClock
) -> None:
    fake_drand.delay = 0.5
    async with DrandClient(
        fake_drand.url, fake_drand.chain, timeout=0.1, clock=beacon_clock
    ) as impatient:
        with pytest.raises(BeaconUnavailable, match="Timeout"):
            await impatient.fetch_round(100)


async def test_client_refuses_a_server_of_another_chain(
    fake_drand: FakeDrandServer, beacon_clock: ManualClock
) -> None:
    # A server that does not serve the configured chain hash at all.
    async with DrandClient(fake_drand.url, QUICKNET, timeout=2.0) as quicknet_client:
        with pytest.raises(ChainMismatch):
            await quicknet_client.fetch_info()

    # A server that describes another chain under our chain's hash.
    _, other_key = keypair(b"someone else's chain")
    fake_drand.impersonate = replace(fake_drand.chain, public_key=other_key)
    async with DrandClient(
        fake_drand.url, fake_drand.chain, timeout=2.0, clock=beacon_clock
    ) as drand:
        with pytest.raises(ChainMismatch):
            await drand.fetch_info()


async def test_a_quicknet_client_refuses_rounds_of_an_impostor_chain(
    fake_drand: FakeDrandServer, beacon_clock: ManualClock
) -> None:
    """A client pinned to quicknet, pointed at a server answering under quicknet's hash with
    a chain of its own: its info and its rounds are refused."""
    beacon_clock.set(GENESIS + 3 * 999)  # the impostor's round 1000 is due
    impostor = replace(fake_drand.chain, chain_hash=QUICKNET.chain_hash)
    fake_drand.chain = impostor  # the fake now answers under quicknet's hash, with its own key
    async with DrandClient(fake_drand.url, QUICKNET, timeout=2.0) as drand:
        with pytest.raises(ChainMismatch):
            await drand.fetch_info()
        with pytest.raises(BadSignature):
            await drand.fetch_round(1000)


def test_chain_info_validation() -> None:
    with pytest.raises(ValueError):
        replace(QUICKNET, period=0)
    with pytest.raises(ValueError):
        replace(QUICKNET, chain_hash="ABC")
    assert isinstance(QUICKNET, ChainInfo)
