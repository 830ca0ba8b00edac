"""Digests: DigestEntry configuration and DigestList / DigestListAck on the stream.

The fixture's ingress.learn table misses for every unknown source MAC and its
default action digests (srcAddr, ingress_port) as mac_learn_digest_t.
"""

from __future__ import annotations

import time

import grpc
import pytest
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4rt_helpers import Update, batch_errors, error_code_name, table_entry, update

P = p4runtime_pb2


def frame(src: int) -> bytes:
    return bytes.fromhex("0000000000aa") + src.to_bytes(6, "big") + b"\x08\x00" + b"data"


def digest_entry(info, **cfg) -> P.DigestEntry:
    de = P.DigestEntry(digest_id=info.id("digests", "mac_learn_digest_t"))
    de.config.CopyFrom(P.DigestEntry.Config(**cfg))
    return de


def samples(dl: P.DigestList) -> list[tuple[bytes, bytes]]:
    return [(d.struct.members[0].bitstring, d.struct.members[1].bitstring) for d in dl.data]


def ack(c, dl: P.DigestList) -> None:
    req = P.StreamMessageRequest()
    req.digest_ack.digest_id, req.digest_ack.list_id = dl.digest_id, dl.list_id
    c.stream.send(req)


def refused_code(fn, *args, **kw) -> str:
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    [err] = batch_errors(e.value)
    return error_code_name(err)


def test_nothing_is_sent_until_the_digest_is_enabled(rig):
    c, info = rig.primary("nic_mini")
    rig.switch.receive(1, frame(0x0A))
    assert c.stream.none("digest")
    c.insert(digest_entry=digest_entry(info, max_list_size=1))
    rig.switch.receive(1, frame(0x0A))
    dl = c.stream.get("digest").digest
    assert dl.digest_id == info.id("digests", "mac_learn_digest_t") and dl.list_id == 1
    assert samples(dl) == [(b"\x0a", b"\x01")]  # canonical bytestrings, struct members in order
    assert dl.timestamp > 0


def test_without_ack_timeout_every_sample_is_sent(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=1))
    for _ in range(2):
        rig.switch.receive(3, frame(0x0B))
    lists = [c.stream.get("digest").digest for _ in range(2)]
    assert [d.list_id for d in lists] == [1, 2]
    assert all(samples(d) == [(b"\x0b", b"\x03")] for d in lists)


def test_ack_cache_suppresses_duplicates_until_acked(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=1, ack_timeout_ns=60 * 10**9))
    rig.switch.receive(1, frame(0x0C))
    first = c.stream.get("digest").digest
    rig.switch.receive(1, frame(0x0C))
    assert c.stream.none("digest")  # cached: already sent and not acknowledged
    rig.switch.receive(2, frame(0x0C))  # another port: another sample
    assert samples(c.stream.get("digest").digest) == [(b"\x0c", b"\x02")]
    ack(c, first)
    time.sleep(0.2)  # let the stream deliver the ack
    rig.switch.receive(1, frame(0x0C))
    again = c.stream.get("digest").digest
    assert samples(again) == [(b"\x0c", b"\x01")] and again.list_id == 3


def test_ack_timeout_expires_the_cache(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=1, ack_timeout_ns=100_000_000))
    rig.switch.receive(1, frame(0x0D))
    c.stream.get("digest")
    rig.switch.receive(1, frame(0x0D))
    assert c.stream.none("digest", wait=0.02)
    time.sleep(0.3)
    rig.switch.receive(1, frame(0x0D))
    assert samples(c.stream.get("digest").digest) == [(b"\x0d", b"\x01")]


def test_lists_fill_up_to_max_list_size(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=3, max_timeout_ns=60 * 10**9))
    rig.switch.receive(1, frame(0x01))
    rig.switch.receive(1, frame(0x02))
    rig.switch.receive(1, frame(0x01))  # duplicate of a buffered sample
    assert c.stream.none("digest")
    rig.switch.receive(1, frame(0x03))
    dl = c.stream.get("digest").digest
    assert samples(dl) == [(b"\x01", b"\x01"), (b"\x02", b"\x01"), (b"\x03", b"\x01")]


def test_max_timeout_flushes_a_partial_list(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=100, max_timeout_ns=50_000_000))
    rig.switch.receive(1, frame(0x0E))
    rig.switch.receive(1, frame(0x0F))
    dl = c.stream.get("digest", timeout=5).digest
    assert samples(dl) == [(b"\x0e", b"\x01"), (b"\x0f", b"\x01")]


def test_modify_and_delete_the_configuration(rig):
    c, info = rig.primary("nic_mini")
    c.insert(digest_entry=digest_entry(info, max_list_size=5, max_timeout_ns=60 * 10**9))
    rig.switch.receive(1, frame(0x01))
    c.modify(digest_entry=digest_entry(info, max_list_size=1))  # flushes what waits
    assert samples(c.stream.get("digest").digest) == [(b"\x01", b"\x01")]
    [got] = c.read_one(digest_entry=P.DigestEntry(digest_id=info.id("digests", "mac_learn_digest_t")))
    assert got.digest_entry == digest_entry(info, max_list_size=1)
    assert [e.digest_entry for e in c.read_one(digest_entry=P.DigestEntry())] == [
        digest_entry(info, max_list_size=1)]
    c.delete(digest_entry=P.DigestEntry(digest_id=info.id("digests", "mac_learn_digest_t")))
    rig.switch.receive(1, frame(0x02))
    assert c.stream.none("digest")
    assert c.read_one(digest_entry=P.DigestEntry()) == []


def test_digest_entry_errors(rig):
    c, info = rig.primary("nic_mini")
    did = info.id("digests", "mac_learn_digest_t")
    assert refused_code(c.modify, digest_entry=digest_entry(info)) == "NOT_FOUND"
    assert refused_code(c.delete, digest_entry=P.DigestEntry(digest_id=did)) == "NOT_FOUND"
    assert refused_code(c.read_one, digest_entry=P.DigestEntry(digest_id=did)) == "NOT_FOUND"
    assert refused_code(c.insert, digest_entry=P.DigestEntry(digest_id=0x17ABCDEF)) == \
        "INVALID_ARGUMENT"
    assert refused_code(c.insert, digest_entry=digest_entry(info, max_timeout_ns=-1)) == \
        "INVALID_ARGUMENT"
    c.insert(digest_entry=digest_entry(info))
    assert refused_code(c.insert, digest_entry=digest_entry(info)) == "ALREADY_EXISTS"
    assert refused_code(c.write, update(Update.UNSPECIFIED, digest_entry=digest_entry(info))) == \
        "INVALID_ARGUMENT"


def test_ack_of_unknown_digest_is_a_stream_error(rig):
    c, _ = rig.primary("nic_mini")
    req = P.StreamMessageRequest()
    req.digest_ack.digest_id, req.digest_ack.list_id = 0x17ABCDEF, 1
    c.stream.send(req)
    err = c.stream.get("error").error
    assert err.canonical_code == code_pb2.INVALID_ARGUMENT
    assert err.digest_list_ack.digest_list_ack.digest_id == 0x17ABCDEF


def test_digests_go_to_the_primary_and_learned_macs_stop_them(rig):
    c, info = rig.primary("nic_mini", election_id=(0, 2))
    backup = rig.client()
    backup.arbitrate((0, 1))
    c.insert(digest_entry=digest_entry(info, max_list_size=1))
    rig.switch.receive(4, frame(0x42))
    dl = c.stream.get("digest").digest
    assert samples(dl) == [(b"\x42", b"\x04")]
    assert backup.stream.none("digest")
    # the controller learns the MAC: no more digests for it
    c.insert(table_entry=table_entry(info, "ingress.learn", {"hdr.ethernet.srcAddr": 0x42},
                                     "NoAction"))
    rig.switch.receive(4, frame(0x42))
    assert c.stream.none("digest")


def test_digest_lists_are_encoded_to_the_same_wire_bytes_as_protobuf_builds():
    """digests.py writes DigestLists as wire bytes (the pure-Python protobuf runtime is
    too slow per sample); they parse to exactly the message protobuf would build."""
    from p4.v1 import p4runtime_pb2

    from pybm.switch.p4runtime.digests import digest_list_wire, encode_sample, encode_sample_wire
    from pybm.switch.p4runtime.pipeline import DigestInfo
    for info, samples in (
            (DigestInfo(7, "s", "struct", [(32, False), (48, False), (9, False)]),
             [(1, 2**48 - 1, 0), (0, 0, 511), (0xDEADBEEF, 12345, 256)]),
            (DigestInfo(8, "t", "tuple", [(8, True), (16, False)]), [(-1, 7), (127, 0)]),
            (DigestInfo(9, "b", "bitstring", [(128, False)]), [(2**127 + 5,), (0,)])):
        raw = digest_list_wire(info.id, 300, 1_700_000_000_123_456_789,
                               [encode_sample_wire(info, s) for s in samples])
        got = p4runtime_pb2.StreamMessageResponse.FromString(raw)
        want = p4runtime_pb2.StreamMessageResponse()
        want.digest.digest_id = info.id
        want.digest.list_id = 300
        want.digest.timestamp = 1_700_000_000_123_456_789
        want.digest.data.extend(encode_sample(info, s) for s in samples)
        assert got == want
        assert raw == want.SerializeToString()
