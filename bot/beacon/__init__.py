"""Public randomness from the drand beacon (League of Entropy, "quicknet" chain).

A draw's seed is ``SHA-256(committed seed ‖ beacon randomness)``, where the beacon
randomness is a drand round published after the roster was frozen. Nobody, the bot
included, can know that value in advance, and anybody can check it afterwards.

- :mod:`bot.beacon.drand` is the pure part: chain parameters, round/time arithmetic,
  BLS signature verification (and signing, for tests and the local fake chain).
- :mod:`bot.beacon.client` fetches rounds over HTTP and verifies them before
  handing them out, so the transport never has to be trusted.
"""

from __future__ import annotations

from bot.beacon.drand import (
    QUICKNET,
    SCHEME_ID,
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

__all__ = [
    "QUICKNET",
    "SCHEME_ID",
    "BeaconRound",
    "ChainInfo",
    "chain_hash_of",
    "current_round",
    "first_round_after",
    "keypair",
    "new_chain_info",
    "parse_chain_info",
    "parse_round",
    "round_at",
    "sign_round",
    "time_of_round",
    "verify_round",
]
