"""Gateway v10 websocket emulation: HELLO, IDENTIFY/READY, heartbeats, dispatch, RESUME.

Each IDENTIFY creates a :class:`Session`.  Every world event is filtered by the
session's intents, numbered with the session's sequence and kept in a replay
buffer, so a client that RESUMEs after a dropped connection receives whatever
it missed, followed by RESUMED.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .state import JSON, World, shard_of

log = logging.getLogger(__name__)

REPLAY_BUFFER = 2000


class Intent(enum.IntFlag):
    """Gateway intent bits the emulator filters on."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_VOICE_STATES = 1 << 7
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25


def required_intent(event: str, data: JSON) -> Intent | None:
    """The intent a session needs to receive ``event`` (None: always delivered)."""
    in_guild = data.get("guild_id") is not None
    if event.startswith("MESSAGE_POLL_VOTE"):
        return Intent.GUILD_MESSAGE_POLLS if in_guild else Intent.DIRECT_MESSAGE_POLLS
    if event == "VOICE_STATE_UPDATE":
        return Intent.GUILD_VOICE_STATES
    if event.startswith("MESSAGE_REACTION"):
        return Intent.GUILD_MESSAGE_REACTIONS if in_guild else Intent.DIRECT_MESSAGE_REACTIONS
    if event.startswith("MESSAGE_"):
        return Intent.GUILD_MESSAGES if in_guild else Intent.DIRECT_MESSAGES
    if event.startswith("GUILD_SCHEDULED_EVENT"):
        return Intent.GUILD_SCHEDULED_EVENTS
    if event in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"):
        return Intent.GUILD_MEMBERS
    if event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and event != "GUILD_MEMBERS_CHUNK":
        return Intent.GUILDS
    return None


def event_guild_id(event: str, data: JSON) -> int | None:
    """The guild an event belongs to (for shard routing); None for DMs and global events."""
    if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        return int(data["id"])
    raw = data.get("guild_id") if isinstance(data, dict) else None
    return int(raw) if raw else None


class Connection:
    """One websocket; a writer task sends queued frames in order (optionally zlib-stream)."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: bool) -> None:
        self.ws, self.request = ws, request
        self._zlib = zlib.compressobj() if compress else None
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())
        self.session: Session | None = None

    def send(self, payload: JSON | str) -> None:
        """Queue one gateway payload."""
        self._queue.put_nowait(payload if isinstance(payload, str) else json.dumps(payload))

    async def _write(self) -> None:
        while (raw := await self._queue.get()) is not None:
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(raw)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway send failed: %r", exc)
                return

    async def close(self, code: int, abrupt: bool = False) -> None:
        """Stop writing and close the socket with ``code`` (or cut the TCP connection if ``abrupt``)."""
        self._queue.put_nowait(None)
        await asyncio.wait([self._writer], timeout=1)
        if abrupt and self.request.transport is not None:
            self.request.transport.close()
        elif not self.ws.closed:
            await self.ws.close(code=code, message=b"fake-discord")


@dataclass
class Session:
    """A gateway session (survives dropped connections until invalidated)."""

    id: str
    intents: int
    seq: int = 0
    buffer: list[tuple[int, str]] = field(default_factory=list)
    conn: Connection | None = None
    shard: tuple[int, int] | None = None  # (shard_id, shard_count) from IDENTIFY

    def receives_guild(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets events of ``guild_id`` (None: DMs -> shard 0)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    def dispatch(self, event: str, data: Any) -> None:
        """Number, buffer and (if connected) send one dispatch."""
        self.seq += 1
        raw = json.dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, raw))
        del self.buffer[:-REPLAY_BUFFER]
        if self.conn is not None:
            self.conn.send(raw)


class Gateway:
    """Serves the gateway websocket and fans world events out to sessions."""

    def __init__(self, world: World, heartbeat_interval_ms: int = 41250) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.ws_url = ""
        self.stats = {"identify": 0, "resume": 0, "heartbeat": 0, "invalid_session": 0}
        self.opcodes_seen: list[int] = []
        world.listeners.append(self.on_world_event)

    # -- fan-out ----------------------------------------------------------------------------
    def on_world_event(self, event: str, data: JSON) -> None:
        """Deliver a world event to every session whose intents allow it."""
        guild_id = event_guild_id(event, data)
        for session in self.sessions.values():
            need = required_intent(event, data)
            if need is not None and not session.intents & need:
                continue
            if not session.receives_guild(guild_id):
                continue
            session.dispatch(event, self._content_filter(session, event, data))

    def _content_filter(self, session: Session, event: str, data: JSON) -> JSON:
        """Blank message content like Discord does without the MESSAGE_CONTENT intent."""
        if (
            event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            or session.intents & Intent.MESSAGE_CONTENT
        ):
            return data
        bot_id = str(self.world.bot_user.id)
        if "guild_id" not in data or data.get("author", {}).get("id") == bot_id:
            return data
        if any(m.get("id") == bot_id for m in data.get("mentions", [])):
            return data
        stripped = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        stripped.pop("poll", None)
        return stripped

    @property
    def connected(self) -> bool:
        """Whether a session currently has a live connection."""
        return any(s.conn is not None for s in self.sessions.values())

    # -- test controls ----------------------------------------------------------------------
    async def drop_connections(self, code: int = 4000, abrupt: bool = False) -> None:
        """Close live connections but keep sessions, so the client RESUMEs."""
        for session in self.sessions.values():
            conn, session.conn = session.conn, None
            if conn is not None:
                await conn.close(code, abrupt)

    async def invalidate_sessions(self, code: int = 4000) -> None:
        """Close connections and forget sessions: a reconnecting client must IDENTIFY again."""
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            if session.conn is not None:
                await session.conn.close(code)
                session.conn = None

    async def close_all(self) -> None:
        """Close every socket (server shutdown)."""
        for conn in list(self.connections):
            await conn.close(1001)

    # -- websocket handler ------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for the gateway URL."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"only encoding=json is emulated")
            return ws
        conn = Connection(ws, request, compress=request.query.get("compress") == "zlib-stream")
        self.connections.add(conn)
        log.debug("gateway connection opened (query=%s)", dict(request.query))
        conn.send(
            {
                "op": 10,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self.on_payload(conn, json.loads(msg.data))
                elif msg.type == WSMsgType.ERROR:
                    log.debug("gateway websocket error: %r", ws.exception())
        finally:
            self.connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            await conn.close(1000)
            log.debug("gateway connection closed (code=%s)", ws.close_code)
        return ws

    async def on_payload(self, conn: Connection, payload: JSON) -> None:
        """Handle one client opcode."""
        op, data = payload.get("op"), payload.get("d")
        self.opcodes_seen.append(op if isinstance(op, int) else -1)
        if op == 1:
            self.stats["heartbeat"] += 1
            conn.send({"op": 11})
        elif op == 2:
            await self.identify(conn, data or {})
        elif op == 6:
            await self.resume(conn, data or {})
        elif op == 8:
            self.request_members(conn, data or {})
        elif op in (3, 4):
            log.debug("gateway op %s ignored: %s", op, data)
        else:
            log.warning("gateway: unknown opcode %r, closing with 4001", op)
            await conn.close(4001)

    async def identify(self, conn: Connection, data: JSON) -> None:
        """IDENTIFY -> READY + one GUILD_CREATE per guild."""
        if data.get("token") != self.world.bot_token:
            log.warning("gateway: IDENTIFY with wrong token, closing with 4004")
            await conn.close(4004)
            return
        if conn.session is not None:
            await conn.close(4005)
            return
        shard = data.get("shard")
        if shard is not None:
            valid = (
                isinstance(shard, list)
                and len(shard) == 2
                and all(isinstance(x, int) for x in shard)
                and 0 <= shard[0] < shard[1]
            )
            if not valid:
                log.warning("gateway: IDENTIFY with invalid shard %r, closing with 4010", shard)
                await conn.close(4010)
                return
        self.stats["identify"] += 1
        session = Session(
            secrets.token_hex(16),
            int(data.get("intents", 0)),
            conn=conn,
            shard=(shard[0], shard[1]) if shard else None,
        )
        conn.session = session
        self.sessions[session.id] = session
        world = self.world
        guilds = [
            g
            for g in world.guilds.values()
            if world.bot_user.id in g.members and session.receives_guild(g.id)
        ]
        session.dispatch(
            "READY",
            {
                "v": 10,
                "user": {
                    **world.user_payload(world.bot_user),
                    "verified": True,
                    "mfa_enabled": False,
                },
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.ws_url,
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "application": {"id": str(world.application_id), "flags": 0},
                "_trace": [],
                **({"shard": list(session.shard)} if session.shard else {}),
            },
        )
        for guild in guilds:
            self.send_guild_create(session, guild.id)
        log.info(
            "gateway: session %s identified (intents=%s, shard=%s, %d guilds)",
            session.id,
            session.intents,
            session.shard,
            len(guilds),
        )

    def send_guild_create(self, session: Session, guild_id: int) -> None:
        """Dispatch a full GUILD_CREATE (shaped by the session's intents) if the shard gets it."""
        if not session.receives_guild(guild_id):
            return
        payload = self.world.guild_payload(
            self.world.guilds[guild_id],
            full=True,
            members=bool(session.intents & Intent.GUILD_MEMBERS),
            voice=bool(session.intents & Intent.GUILD_VOICE_STATES),
        )
        session.dispatch("GUILD_CREATE", payload)

    async def resume(self, conn: Connection, data: JSON) -> None:
        """RESUME -> replay missed dispatches, then RESUMED; unknown session -> INVALID_SESSION."""
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.world.bot_token:
            self.stats["invalid_session"] += 1
            log.info("gateway: RESUME of unknown session, sending INVALID_SESSION")
            conn.send({"op": 9, "d": False})
            return
        self.stats["resume"] += 1
        if session.conn is not None and session.conn is not conn:
            await session.conn.close(4000)
        conn.session, session.conn = session, conn
        last = int(data.get("seq") or 0)
        missed = [raw for seq, raw in session.buffer if seq > last]
        for raw in missed:
            conn.send(raw)
        session.dispatch("RESUMED", {"_trace": []})
        log.info("gateway: session %s resumed, replayed %d events", session.id, len(missed))

    def request_members(self, conn: Connection, data: JSON) -> None:
        """REQUEST_GUILD_MEMBERS -> one GUILD_MEMBERS_CHUNK."""
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or conn.session is None:
            return
        query, ids = str(data.get("query") or ""), {int(u) for u in data.get("user_ids") or []}
        limit = int(data.get("limit") or 0) or len(guild.members)
        members = [
            m
            for m in guild.members.values()
            if (m.id in ids if ids else m.name.lower().startswith(query.lower()))
        ][:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [self.world.member_payload(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in ids - set(guild.members)],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        conn.session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
